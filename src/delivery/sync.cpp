#include "src/delivery/sync.h"

#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "src/delivery/activate.h"
#include "src/delivery/caps.h"
#include "src/delivery/delivery.h"
#include "src/report/events.h"
#include "src/delivery/staged_ref.h"
#include "src/report/json_report.h"
#include "src/report/metrics.h"
#include "src/delivery/run_setup.h"

namespace treesync {
namespace {

// auto: the mode predicted fastest (topology/cost.h), by the caps, or with
// no rate known in units of one copy's time on a link. Sets `why` to the
// line the summary shows.
topology::Mode pick_mode(const Options& o, std::size_t loaders, const topology::Predictions& predicted,
                         std::string* why) {
  if (loaders == 0) {
    *why = "mode: none, nothing to load";
    return topology::Mode::Flat;
  }
  topology::Mode mode = o.mode == ModeOption::Tree      ? topology::Mode::Tree
                        : o.mode == ModeOption::Stripes ? topology::Mode::Stripes
                                                        : topology::Mode::Flat;
  if (o.mode == ModeOption::Auto) {
    mode = topology::choose_mode(loaders, predicted);
    *why = std::string("mode: ") + topology::mode_name(mode) + ", chosen by --mode auto: ";
    std::string times;
    for (topology::Mode m : {topology::Mode::Flat, topology::Mode::Stripes, topology::Mode::Tree}) {
      if (!predicted.of(m)) continue;
      char t[64];
      std::snprintf(t, sizeof t, predicted.relative ? "%.2f copy-times %s" : "%.1f s %s", *predicted.of(m),
                    topology::mode_name(m));
      times += (times.empty() ? "" : ", ") + std::string(t);
    }
    if (times.empty())
      *why += std::to_string(loaders) + " node(s) to load, no prediction";
    else
      *why += "predicted " + times + (predicted.relative ? " (no rates known: equal links assumed)" : " under the caps");
  } else {
    *why = std::string("mode: ") + topology::mode_name(mode) + " (--mode " + topology::mode_name(mode) + ")";
  }
  if (mode == topology::Mode::Tree) *why += ", fanout " + std::to_string(o.fanout);
  if (mode == topology::Mode::Stripes) *why += ", " + std::to_string(o.fanout) + " stripes";
  spdlog::info("{}", *why);
  return mode;
}

// Failures that another attempt cannot fix without the operator.
bool retryable(const NodeRun& run) {
  static const std::set<std::string> final_steps = {"auth", "host key", "verify", "space", "cancelled", "plan", "platform"};
  return run.failed() && !final_steps.count(run.result.step);
}

// The bundle and its reader, prepared (saved into the cache if need be) the
// first time some node loads.
// For the files payload, the files themselves, read in place; the probe
// already said which each node lacks.
struct Payload {
  explicit Payload(const RunSetup& s) : setup(s) {}
  const RunSetup& setup;
  PreparedBundle prepared;
  std::unique_ptr<BundleReader> reader = std::make_unique<BundleReader>(prepared);
  bool ready = false;

  void prepare_for(std::vector<NodeRun>& runs, const std::vector<WantedImage>& wanted, const Options& o) {
    if (!ready && std::any_of(runs.begin(), runs.end(), [](const NodeRun& r) { return r.loads(); })) {
      reader.reset();
      prepared = setup.files ? files_bundle(setup.manifest) : prepare_bundle(wanted, o.cache_dir, o.compress);
      reader = std::make_unique<BundleReader>(prepared);
      ready = true;
    }
    if (ready && !setup.files) assign_needs(runs, prepared.bundle);
  }
  DeliveryInput input(const std::vector<WantedImage>& wanted, const Options& o) const {
    return DeliveryInput{wanted, prepared, *reader, o, setup.files_target()};
  }
};

// The runs at `which`, taken out of s.runs for `fn` and put back after
// (also when it throws): a delivery sees only them, and the others (a late
// node still probing) are left alone.
template <typename Fn>
void with_runs(RunSetup& s, const std::vector<std::size_t>& which, Fn fn) {
  std::vector<NodeRun> part;
  for (std::size_t i : which) part.push_back(std::move(s.runs[i]));
  struct PutBack {
    RunSetup& s;
    const std::vector<std::size_t>& which;
    std::vector<NodeRun>& part;
    ~PutBack() {
      for (std::size_t k = 0; k < which.size(); ++k) s.runs[which[k]] = std::move(part[k]);
    }
  } put_back{s, which, part};
  fn(part);
}

// Waits 1, 2, 4, ... (at most 30) seconds, then tries the retryable failed
// nodes again from the start (connect, probe, flat delivery).
std::uint64_t retry_failed(RunSetup& s, const Options& o, Payload& payload) {
  std::uint64_t sent = 0;
  for (int attempt = 1; attempt <= o.retries && !shutdown_flag(); ++attempt) {
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < s.runs.size(); ++i)
      if (retryable(s.runs[i])) where.push_back(i);
    if (where.empty()) break;
    int wait_s = std::min(30, 1 << (attempt - 1));
    spdlog::warn("retrying {} node(s) in {} s (attempt {} of {})", where.size(), wait_s, attempt + 1, o.retries + 1);
    for (int i = 0; i < wait_s * 10 && !shutdown_flag(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    with_runs(s, where, [&](std::vector<NodeRun>& again) {
      for (auto& run : again) {
        run.relay.reset();
        run.result = NodeResult();
        run.result.node = run.node.name;
        run.result.host = run.node.host;
        run.status->bytes = 0;
      }
      for_each_node(again, static_cast<std::size_t>(o.max_workers),
                    [&](NodeRun& run) { probe_node(run, s.wanted, o, s.relays, *s.donors, s.files_target()); });
      payload.prepare_for(again, s.wanted, o);
      sent += deliver(again, payload.input(s.wanted, o), topology::Mode::Flat);
    });
  }
  return sent;
}

// stage: what holds the images now, and the command that tags them.
void print_staged(std::ostream& out, const std::vector<std::string>& refs, const std::vector<NodeResult>& results) {
  const auto count = [&](Outcome a, Outcome b) {
    return std::count_if(results.begin(), results.end(), [&](const NodeResult& r) { return r.outcome == a || r.outcome == b; });
  };
  out << "stage: " << count(Outcome::Loaded, Outcome::Tagged) << " staged now, " << count(Outcome::Skipped, Outcome::Skipped)
      << " present already (staged or active), " << count(Outcome::Failed, Outcome::Pending) << " not staged\n";
  std::string list;
  for (const auto& ref : refs) {
    out << "staged " << ref << " as " << staged_ref(ref) << "\n";
    list += " " + ref;
  }
  out << "activate with: treesync activate " << (refs.size() > 1 ? "--images" : "--image") << list
      << " (with the same node selection)\n";
}


// One delivery over some of the nodes: the plan, its mode and why.
struct Round {
  topology::Predictions predicted;
  topology::Mode mode = topology::Mode::Flat;
  std::string why, caps, prediction;
  std::uint64_t sent = 0;  // stream bytes the source sent
  double seconds = 0;      // the delivery's
  bool mode_ran = false;   // some node loaded: the delivery's time is the mode's
};

Round plan_and_deliver(std::vector<NodeRun>& runs, RunSetup& s, const Options& o, Payload& payload) {
  Round r;
  const auto loaders =
      static_cast<std::size_t>(std::count_if(runs.begin(), runs.end(), [](const NodeRun& n) { return n.loads(); }));
  if (!shutdown_flag()) payload.prepare_for(runs, s.wanted, o);  // a dry run too: the plan shows sizes
  // What each node lacks is known once the bundle is: the cost model needs it.
  if (payload.ready) r.predicted = predict(runs, payload.prepared.bundle, o);
  r.mode = pick_mode(o, loaders, r.predicted, &r.why);
  r.caps = caps_line(runs, o);
  r.prediction = prediction_line(r.predicted, r.mode);
  if (o.dry_run) return r;
  r.mode_ran = loaders > 0;
  const auto t = Clock::now();
  r.sent = deliver(runs, payload.input(s.wanted, o), r.mode);
  r.seconds = std::chrono::duration<double>(Clock::now() - t).count();
  return r;
}

}  // namespace

int run_sync(const Options& o) {
  // Nodes whose probe is late (a hung runtime, a slow login) do not hold
  // back the others: they get a round of their own once they answer.
  std::unique_ptr<RunSetup> s = setup_and_probe(o, !o.dry_run);
  Payload payload{*s};
  Round round;
  with_runs(*s, s->early, [&](std::vector<NodeRun>& runs) { round = plan_and_deliver(runs, *s, o, payload); });
  std::uint64_t source_bytes = round.sent;
  if (!s->late.empty()) {
    s->wait_probes();
    spdlog::info("the {} node(s) that answered late: a round of their own", s->late.size());
    with_runs(*s, s->late, [&](std::vector<NodeRun>& runs) { source_bytes += plan_and_deliver(runs, *s, o, payload).sent; });
  }
  if (!o.dry_run) source_bytes += retry_failed(*s, o, payload);
  const topology::Mode mode = round.mode;
  const std::string mode_text = topology::mode_name(mode);
  const std::string& why_mode = round.why;
  const std::string& caps = round.caps;
  const std::string& prediction = round.prediction;
  const topology::Predictions& predicted = round.predicted;
  const double delivery_s = round.seconds;
  s->close_relays(static_cast<std::size_t>(o.max_workers));
  const SourceCost cost = s->cost.now();

  // With --json - or --events -, stdout carries that alone.
  std::ostream& out = o.json_path == "-" || o.events_path == "-" ? std::cerr : std::cout;
  std::vector<NodeResult> results = s->results();
  ActivationSpread spread;  // stage applies no operator tag: none
  int status;
  if (o.dry_run) {
    print_plan(out, s->runs, mode_text, o, payload.ready ? &payload.prepared : nullptr);
    if (!caps.empty()) out << caps << "\n";
    if (!prediction.empty()) out << prediction << "\n";
    status = std::none_of(results.begin(), results.end(), [](const NodeResult& r) { return r.outcome == Outcome::Failed; }) ? 0 : 1;
  } else {
    print_summary(out, results, source_bytes, payload.ready ? payload.prepared.bundle.size() : 0,
                  s->files ? "every file" : "every layer");
    if (o.tagging == Tagging::Staged) print_staged(out, o.images, results);
    else print_activation_spread(out, spread = activation_spread(s->runs));
    // What was predicted, then what it took: in seconds under caps, else
    // beside the mode's line (its prediction is in copy-times).
    char took[64];
    std::snprintf(took, sizeof took, "; delivery took %.1f s (with loads, verify, tags)", delivery_s);
    out << why_mode << (prediction.empty() && round.mode_ran ? took : "") << "\n";
    if (!caps.empty()) out << caps << "\n";
    if (!prediction.empty()) out << prediction << took << "\n";
    if (payload.ready)
      out << payload.prepared.compression << (payload.prepared.how.empty() ? "" : "; " + payload.prepared.how) << "\n";
    status = all_succeeded(results) ? 0 : 1;
  }
  out << source_cost_line(cost) << "\n";
  if (shutdown_exit_code()) status = shutdown_exit_code();
  const double seconds = std::chrono::duration<double>(Clock::now() - s->t0).count();
  const char* command = o.tagging == Tagging::Staged ? "stage" : "sync";
  if (!o.json_path.empty()) {
    RunSummary summary{command, mode_text, o.fanout, o.dry_run, s->started, seconds, s->image_ids(o),
                       payload.ready ? &payload.prepared : nullptr, source_bytes, status};
    summary.tagged_nodes = spread.nodes;
    summary.activation_spread = spread.seconds;
    summary.files = s->files_target();
    summary.source_cost = cost;
    wire::Json report = make_report(summary, results, {});
    add_caps(report, {source_cap(o), o.limit_rate, own_caps(s->runs, o),
                      predicted.relative ? std::nullopt : predicted.of(mode)});
    write_report(o.json_path, report);
  }
  if (!o.metrics_path.empty()) {
    RunTotals totals{command, mode_text, o.images, seconds, source_bytes, outcome_counts(results),
                     std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(),
                     status, cost};
    write_metrics(o.metrics_path, prometheus_text(totals));
  }
  events::emit("run_finished", "",
               {{"exit_status", status}, {"seconds", seconds}, {"source_bytes", source_bytes},
                {"outcomes", outcome_counts(results)}});
  return status;
}

}  // namespace treesync
