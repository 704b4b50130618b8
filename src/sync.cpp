#include "src/sync.h"

#include <iostream>
#include <set>
#include <thread>

#include "src/delivery.h"
#include "src/json_report.h"
#include "src/run_setup.h"

namespace treesync {
namespace {

// auto: flat when the nodes that load fit in one level of the tree. Sets
// `why` to the line the summary shows.
std::string pick_mode(const Options& o, std::size_t loaders, std::string* why) {
  std::string mode = o.mode;
  if (loaders == 0) {
    *why = "mode: none, nothing to load";
    return "flat";
  }
  if (mode == "auto") {
    bool flat = topology::choose_mode(loaders, o.fanout) == topology::Mode::Flat;
    mode = flat ? "flat" : "tree";
    *why = "mode: " + mode + ", chosen by --mode auto: " + std::to_string(loaders) + " node(s) to load " +
           (flat ? "<=" : ">") + " fanout " + std::to_string(o.fanout);
  } else {
    *why = "mode: " + mode + " (--mode " + mode + ")";
  }
  if (mode == "tree") *why += ", fanout " + std::to_string(o.fanout);
  spdlog::info("{}", *why);
  return mode;
}

// Failures that another attempt cannot fix without the operator.
bool retryable(const NodeRun& run) {
  static const std::set<std::string> final_steps = {"auth", "host key", "verify", "space", "cancelled", "plan"};
  return run.failed() && !final_steps.count(run.result.step);
}

// Waits 1, 2, 4, ... (at most 30) seconds, then tries the retryable failed
// nodes again from the start (connect, probe, flat delivery).
std::uint64_t retry_failed(RunSetup& s, const Options& o, Archive& archive) {
  std::uint64_t sent = 0;
  for (int attempt = 1; attempt <= o.retries && !shutdown_flag(); ++attempt) {
    std::vector<NodeRun> again;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < s.runs.size(); ++i)
      if (retryable(s.runs[i])) {
        where.push_back(i);
        again.push_back(std::move(s.runs[i]));
      }
    if (again.empty()) break;
    int wait_s = std::min(30, 1 << (attempt - 1));
    spdlog::warn("retrying {} node(s) in {} s (attempt {} of {})", again.size(), wait_s, attempt + 1, o.retries + 1);
    for (int i = 0; i < wait_s * 10 && !shutdown_flag(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto& run : again) {
      run.relay.reset();
      run.result = NodeResult();
      run.result.node = run.node.name;
      run.result.host = run.node.host;
      run.status->bytes = 0;
    }
    for_each_node(again, static_cast<std::size_t>(o.max_workers),
                  [&](NodeRun& run) { probe_node(run, s.wanted, o, s.binary); });
    bool loads = std::any_of(again.begin(), again.end(), [](const NodeRun& r) { return r.loads(); });
    if (loads && archive.size == 0) archive = ensure_archive(s.wanted, o.cache_dir);
    for (auto& run : again) check_space(run, archive.size);
    sent += deliver_flat(again, DeliveryInput{s.wanted, archive, o});
    for (std::size_t k = 0; k < where.size(); ++k) s.runs[where[k]] = std::move(again[k]);
  }
  return sent;
}

}  // namespace

int run_sync(const Options& o) {
  std::unique_ptr<RunSetup> s = setup_and_probe(o);
  std::size_t loaders =
      static_cast<std::size_t>(std::count_if(s->runs.begin(), s->runs.end(), [](const NodeRun& r) { return r.loads(); }));
  std::string why_mode;
  std::string mode = pick_mode(o, loaders, &why_mode);
  Archive archive;
  std::uint64_t source_bytes = 0;
  if (!o.dry_run) {
    if (loaders > 0 && !shutdown_flag()) archive = ensure_archive(s->wanted, o.cache_dir);
    for (auto& run : s->runs) check_space(run, archive.size);
    DeliveryInput in{s->wanted, archive, o};
    source_bytes = mode == "tree" ? deliver_tree(s->runs, in) : deliver_flat(s->runs, in);
    source_bytes += retry_failed(*s, o, archive);
  }
  s->close_relays(static_cast<std::size_t>(o.max_workers));

  // With --json -, stdout carries the report alone.
  std::ostream& out = o.json_path == "-" ? std::cerr : std::cout;
  std::vector<NodeResult> results = s->results();
  int status;
  if (o.dry_run) {
    print_plan(out, s->runs, mode, o.fanout);
    status = std::none_of(results.begin(), results.end(), [](const NodeResult& r) { return r.outcome == Outcome::Failed; }) ? 0 : 1;
  } else {
    print_summary(out, results, source_bytes, archive.size);
    out << why_mode << "\n";
    status = all_succeeded(results) ? 0 : 1;
  }
  if (shutdown_exit_code()) status = shutdown_exit_code();
  if (!o.json_path.empty()) {
    RunSummary summary{"sync", mode, o.fanout, o.dry_run, s->started,
                       std::chrono::duration<double>(Clock::now() - s->t0).count(), s->image_ids(o),
                       archive.size ? &archive : nullptr, source_bytes, status};
    write_report(o.json_path, make_report(summary, results, {}));
  }
  return status;
}

}  // namespace treesync
