#include "bench/sim/flow_sim.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bench/sim/fair_share.h"
#include "bench/sim/load_time.h"

namespace sim {
namespace {

using topology::kSource;
constexpr double kNever = std::numeric_limits<double>::infinity();

enum class State { Waiting, Active, Done, Dropped };

struct Edge {
  std::size_t tree;
  int from, to;  // nodes, or kSource
  double bytes, x, x0;  // the stripe's size, what `to` holds of it, what it held when this edge began
  State state = State::Waiting;
  double rate = 0;
};

// Rates times a microsecond, or a byte: events closer than that are one.
double slack(double rate) { return std::max(1.0, rate * 1e-6); }

class Run {
 public:
  Run(Layout& layout, const std::vector<Host>& hosts, const Scenario& sc)
      : layout_(layout), hosts_(hosts), sc_(sc), n_(hosts.size() - 1), k_(layout.trees().size()),
        stripe_(stripe_bytes(sc.bytes, sc.chunk, k_)), incoming_(k_, std::vector<int>(n_, -1)), alive_(n_, true),
        first_(n_, NAN), received_(n_, NAN), left_(n_, 0) {
    for (std::size_t s = 0; s < k_; ++s)
      for (std::size_t i = 0; i < n_; ++i) {
        const int p = layout.trees()[s].parent[i];
        add_edge(s, p, static_cast<int>(i), 0);
        ++left_[i];
      }
    failures_ = sc.failures;
    std::sort(failures_.begin(), failures_.end(), [](const Failure& a, const Failure& b) { return a.at > b.at; });
  }

  Result run() {
    Result r;
    for (;;) {
      start_ready();
      assign_rates();
      ++r.events;
      const double dt = next_event();
      if (dt == kNever) break;
      advance(dt);
      while (!failures_.empty() && failures_.back().at <= now_ + 1e-9) {
        fail(failures_.back().node);
        failures_.pop_back();
      }
      while (!reparents_.empty() && reparents_.back().at <= now_ + 1e-9) {
        reparent(reparents_.back().node);
        reparents_.pop_back();
      }
    }
    r.received = received_;
    r.loaded.assign(n_, NAN);
    for (std::size_t i = 0; i < n_; ++i)
      if (alive_[i] && !std::isnan(received_[i]))
        r.loaded[i] = loaded_at(first_[i], received_[i], sc_.bytes, sc_.chunk, sc_.load_rate);
    for (const Edge& e : edges_)
      if (e.from == kSource) r.source_bytes += e.x - e.x0;
    return r;
  }

 private:
  int host(int node) const { return node == kSource ? static_cast<int>(n_) : node; }
  int feeder(const Edge& e) const { return e.from == kSource ? -1 : incoming_[e.tree][static_cast<std::size_t>(e.from)]; }

  void add_edge(std::size_t s, int from, int to, double x) {
    edges_.push_back(Edge{s, from, to, static_cast<double>(stripe_[s]), x, x});
    incoming_[s][static_cast<std::size_t>(to)] = static_cast<int>(edges_.size() - 1);
    live_.push_back(static_cast<int>(edges_.size() - 1));
  }

  void activate(Edge& e) {
    e.state = State::Active;
    if (e.from == kSource) ++source_active_;
    if (std::isnan(first_[static_cast<std::size_t>(e.to)])) first_[static_cast<std::size_t>(e.to)] = now_;
  }

  void stop(Edge& e, State to) {
    if (e.state == State::Active && e.from == kSource) --source_active_;
    e.state = to;
    e.rate = 0;
  }

  // A waiting edge starts once its sender holds a whole chunk beyond what
  // the receiver has (or its whole stripe); the source's, once it has a slot.
  void start_ready() {
    for (int i : live_) {
      Edge& e = edges_[static_cast<std::size_t>(i)];
      if (e.state != State::Waiting) continue;
      if (e.from == kSource) {
        if (sc_.source_slots == 0 || source_active_ < sc_.source_slots) activate(e);
        continue;
      }
      const int f = feeder(e);
      if (f < 0) continue;
      const Edge& up = edges_[static_cast<std::size_t>(f)];
      if (up.state == State::Done || (up.state == State::Active && up.x >= e.x + sc_.chunk - slack(up.rate)))
        activate(e);
    }
  }

  // Caught up: holds all but the chunk its sender is still receiving.
  bool caught_up(const Edge& e, const Edge& up) const {
    return up.state != State::Done && e.x >= up.x - static_cast<double>(sc_.chunk) - slack(e.rate + up.rate);
  }

  void assign_rates() {
    live_.erase(std::remove_if(live_.begin(), live_.end(),
                               [&](int i) {
                                 const State s = edges_[static_cast<std::size_t>(i)].state;
                                 return s == State::Done || s == State::Dropped;
                               }),
                live_.end());
    std::vector<FlowDemand> demands;
    std::vector<int> flow_of_edge;  // the flows' edges, in order
    slot_.assign(edges_.size(), -1);
    for (int i : live_) {
      Edge& e = edges_[static_cast<std::size_t>(i)];
      e.rate = 0;
      if (e.state != State::Active) continue;
      slot_[static_cast<std::size_t>(i)] = static_cast<int>(demands.size());
      demands.push_back({host(e.from), host(e.to), -1});
      flow_of_edge.push_back(i);
    }
    // A flow caught up with its feeder moves at most at the feeder's rate,
    // and not at all if the feeder does not move (its sender lost its own
    // feeder, or is waiting for a new parent).
    std::vector<int> stalled(demands.size(), -1);  // -1: not known yet
    auto is_stalled = [&](auto&& self, std::size_t f) -> bool {
      if (stalled[f] >= 0) return stalled[f] == 1;
      const Edge& e = edges_[static_cast<std::size_t>(flow_of_edge[f])];
      const int up = feeder(e);
      bool stuck = false;
      if (up >= 0 && caught_up(e, edges_[static_cast<std::size_t>(up)])) {
        const int up_flow = slot_[static_cast<std::size_t>(up)];
        if (up_flow < 0)
          stuck = true;
        else {
          demands[f].bound_by = up_flow;
          stuck = self(self, static_cast<std::size_t>(up_flow));
        }
      }
      stalled[f] = stuck ? 1 : 0;
      return stuck;
    };
    std::vector<FlowDemand> moving;
    std::vector<int> moving_edge, index(demands.size(), -1);
    for (std::size_t f = 0; f < demands.size(); ++f)
      if (!is_stalled(is_stalled, f)) {
        index[f] = static_cast<int>(moving.size());
        moving.push_back(demands[f]);
        moving_edge.push_back(flow_of_edge[f]);
      }
    for (FlowDemand& d : moving)
      if (d.bound_by >= 0) d.bound_by = index[static_cast<std::size_t>(d.bound_by)];
    const std::vector<double> rates = max_min_rates(moving, hosts_);
    for (std::size_t f = 0; f < moving.size(); ++f) edges_[static_cast<std::size_t>(moving_edge[f])].rate = rates[f];
  }

  double next_event() const {
    double dt = kNever;
    for (int i : live_) {
      const Edge& e = edges_[static_cast<std::size_t>(i)];
      const int f = feeder(e);
      const Edge* up = f < 0 ? nullptr : &edges_[static_cast<std::size_t>(f)];
      if (e.state == State::Active && e.rate > 0) {
        dt = std::min(dt, (e.bytes - e.x) / e.rate);
        // Catching up with its feeder: from then on it moves at the feeder's rate.
        const double gap = up && up->state != State::Done ? up->x - static_cast<double>(sc_.chunk) - e.x : 0;
        if (gap > 0 && e.rate > up->rate) dt = std::min(dt, gap / (e.rate - up->rate));
      } else if (e.state == State::Waiting && up && up->state == State::Active && up->rate > 0) {
        dt = std::min(dt, std::max(0.0, e.x + static_cast<double>(sc_.chunk) - up->x) / up->rate);
      }
    }
    if (!failures_.empty()) dt = std::min(dt, std::max(0.0, failures_.back().at - now_));
    if (!reparents_.empty()) dt = std::min(dt, std::max(0.0, reparents_.back().at - now_));
    return dt;
  }

  void advance(double dt) {
    now_ += dt;
    for (int i : live_) {
      Edge& e = edges_[static_cast<std::size_t>(i)];
      if (e.state != State::Active) continue;
      e.x = std::min(e.bytes, e.x + e.rate * dt);
      if (e.bytes - e.x > slack(e.rate)) continue;
      e.x = e.bytes;
      stop(e, State::Done);
      const auto to = static_cast<std::size_t>(e.to);
      if (--left_[to] == 0) received_[to] = now_;
    }
  }

  // The node's relay is gone: whatever it sent or received stops now; its
  // children get new parents once the source has noticed.
  void fail(int node) {
    if (!alive_[static_cast<std::size_t>(node)]) return;
    alive_[static_cast<std::size_t>(node)] = false;
    received_[static_cast<std::size_t>(node)] = NAN;
    for (int i : live_) {
      Edge& e = edges_[static_cast<std::size_t>(i)];
      if ((e.from == node || e.to == node) && (e.state == State::Waiting || e.state == State::Active))
        stop(e, State::Dropped);
    }
    reparents_.insert(reparents_.begin(), Failure{node, now_ + sc_.detect_s});
    std::sort(reparents_.begin(), reparents_.end(), [](const Failure& a, const Failure& b) { return a.at > b.at; });
  }

  void reparent(int failed) {
    std::vector<std::vector<std::uint64_t>> have(k_, std::vector<std::uint64_t>(n_, 0));
    for (std::size_t s = 0; s < k_; ++s)
      for (std::size_t i = 0; i < n_; ++i)
        have[s][i] = static_cast<std::uint64_t>(edges_[static_cast<std::size_t>(incoming_[s][i])].x);
    layout_.reparent(failed, have, alive_);
    // Every live node whose parent changed resumes from what it holds.
    for (std::size_t s = 0; s < k_; ++s)
      for (std::size_t i = 0; i < n_; ++i) {
        const int p = layout_.trees()[s].parent[i];
        Edge& cur = edges_[static_cast<std::size_t>(incoming_[s][i])];
        if (!alive_[i] || cur.from == p || cur.state == State::Done) continue;
        if (p != kSource && (p < 0 || !alive_[static_cast<std::size_t>(p)])) continue;  // its own turn comes
        if (cur.state != State::Dropped) stop(cur, State::Dropped);
        add_edge(s, p, static_cast<int>(i), cur.x);
      }
  }

  Layout& layout_;
  const std::vector<Host>& hosts_;
  const Scenario& sc_;
  const std::size_t n_, k_;
  const std::vector<std::uint64_t> stripe_;
  std::vector<Edge> edges_;
  std::vector<int> live_;                   // edges waiting or active, in the order they were added
  std::vector<std::vector<int>> incoming_;  // [stripe][node]: the edge feeding it
  std::vector<int> slot_;                   // per edge: its flow this round, or -1
  std::vector<bool> alive_;
  std::vector<double> first_, received_;
  std::vector<std::size_t> left_;           // per node: stripes still arriving
  std::vector<Failure> failures_, reparents_;  // latest first
  int source_active_ = 0;
  double now_ = 0;
};

}  // namespace

Result simulate(Layout& layout, const std::vector<Host>& hosts, const Scenario& scenario) {
  return Run(layout, hosts, scenario).run();
}

}  // namespace sim
