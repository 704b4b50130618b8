#include "src/delivery/activate.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "src/delivery/delivery.h"
#include "src/delivery/run_setup.h"
#include "src/delivery/staged_ref.h"
#include "src/report/events.h"
#include "src/report/json_report.h"
#include "src/report/metrics.h"

namespace treesync {
namespace {

// The fix for a node that lacks a staged image: stage it there first.
std::string not_staged(const NodeRun& run) {
  std::string list, first_staged = staged_ref(run.decision.unstaged.front());
  for (const auto& ref : run.decision.unstaged) list += (list.empty() ? "" : " ") + ref;
  const bool several = run.decision.unstaged.size() > 1;
  return list + (several ? " are" : " is") + " not staged here (no " + first_staged +
         (several ? ", …" : "") + " naming the source's image); run treesync stage " +
         (several ? "--images " : "--image ") + list + " first";
}

}  // namespace

ActivationSpread activation_spread(const std::vector<NodeRun>& runs) {
  ActivationSpread out;
  std::optional<Clock::time_point> first, last;
  for (const auto& run : runs) {
    if (!run.tagged_at || run.failed()) continue;
    ++out.nodes;
    if (!first || *run.tagged_at < *first) first = run.tagged_at;
    if (!last || *run.tagged_at > *last) last = run.tagged_at;
  }
  if (out.nodes) out.seconds = std::chrono::duration<double>(*last - *first).count();
  return out;
}

void print_activation_spread(std::ostream& out, const ActivationSpread& spread) {
  if (!spread.nodes) return;
  char line[160];
  std::snprintf(line, sizeof line, "activation spread: %.3f s over %zu node(s) (first to last tag reply, as the source saw them)\n",
                spread.seconds, spread.nodes);
  out << line;
}

int run_activate(const Options& o) {
  // Every node is probed before any is tagged: a barrier on purpose, so the
  // tags are requested together and land together.
  std::unique_ptr<RunSetup> s = setup_and_probe(o);
  for (auto& run : s->runs)
    if (!run.failed() && run.decision.action == Action::Unstaged) run.fail("stage", not_staged(run));
  std::ostream& out = o.json_path == "-" || o.events_path == "-" ? std::cerr : std::cout;
  if (o.dry_run) {
    s->close_relays(static_cast<std::size_t>(o.max_workers));
    for (const auto& run : s->runs)
      out << run.node.name << ": "
          << (run.failed() ? "failed at " + run.result.step + ": " + run.result.reason
                           : run.decision.action == Action::Skip ? std::string("active already")
                                                                  : std::string("would be tagged"))
          << "\n";
  } else {
    // Every node's tag requests leave together, written from here one node
    // after another (a few hundred bytes each); the replies, and what
    // follows them, are awaited on --max-workers threads, not one per node.
    for (auto& run : s->runs)
      if (!run.failed() && run.decision.action != Action::Skip) guarded(run, [&] { send_tags(run, o.pin); });
    for_each_node(s->runs, static_cast<std::size_t>(o.max_workers), [&](NodeRun& run) {
      if (run.decision.action == Action::Skip) return finish_without_load(run, s->wanted, o.pin);
      finish_tags(run, s->wanted);
      run.finish(Outcome::Tagged);
    });
    s->close_relays(static_cast<std::size_t>(o.max_workers));
  }

  const SourceCost cost = s->cost.now();
  std::vector<NodeResult> results = s->results();
  const ActivationSpread spread = activation_spread(s->runs);
  std::size_t activated = 0, already = 0, unstaged = 0, failed = 0;
  for (const auto& run : s->runs) {
    if (run.failed()) ++(run.result.step == "stage" ? unstaged : failed);
    else if (run.result.outcome == Outcome::Tagged) ++activated;
    else if (run.result.outcome == Outcome::Skipped) ++already;
  }
  int status = std::none_of(results.begin(), results.end(), [](const NodeResult& r) { return r.outcome == Outcome::Failed; }) ? 0 : 1;
  if (!o.dry_run) {
    print_summary(out, results, 0, 0);
    out << "activate: " << activated << " activated, " << already << " active already, " << unstaged
        << " not staged, " << failed << " failed\n";
    print_activation_spread(out, spread);
  }
  out << source_cost_line(cost) << "\n";
  if (shutdown_exit_code()) status = shutdown_exit_code();
  const double seconds = std::chrono::duration<double>(Clock::now() - s->t0).count();
  if (!o.json_path.empty()) {
    RunSummary summary{"activate", "", 0, o.dry_run, s->started, seconds, s->image_ids(o), nullptr, 0, status};
    summary.tagged_nodes = spread.nodes;
    summary.activation_spread = spread.seconds;
    summary.source_cost = cost;
    write_report(o.json_path, make_report(summary, results, {}));
  }
  if (!o.metrics_path.empty()) {
    RunTotals totals{"activate", "", o.images, seconds, 0, outcome_counts(results),
                     std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(),
                     status, cost};
    write_metrics(o.metrics_path, prometheus_text(totals));
  }
  events::emit("run_finished", "",
               {{"exit_status", status}, {"seconds", seconds}, {"source_bytes", 0}, {"outcomes", outcome_counts(results)}});
  return status;
}

}  // namespace treesync
