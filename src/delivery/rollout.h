// The one delivery path, for flat, tree and striped trees alike: every
// loading node's relay listens, for each stripe of its stream, for the one
// parent the source names, with a key for that edge only; interior relays
// forward from their spool (in a plain tree, to each child only the parts
// its subtree lacks; striped, every node's stream is the same and each
// stripe goes whole down its own tree); the source feeds its own children,
// at most --max-workers edges at once (flat mode: every node is a child of
// the source). When a node's relay is lost its children are re-parented
// (topology::reparent, reparent_stripes) to a node whose stream carries
// theirs; a node whose parent sent bytes that failed their digest is moved
// to the source; a striped node that forwards too slowly becomes a leaf.
// Either way the node learns its new parent's key over SSH and resumes the
// stripe where its spool of it ends.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/delivery/delivery.h"
#include "src/delivery/relay_loop.h"
#include "src/ssh/tunnel.h"
#include "src/wire/sender.h"
#include "src/wire/stripe_map.h"
#include "topology/stall.h"
#include "topology/stripes.h"

namespace treesync {

class Rollout {
 public:
  Rollout(std::vector<NodeRun>& runs, const DeliveryInput& in, topology::Mode mode);
  ~Rollout();
  // Returns the stream bytes the source itself sent.
  std::uint64_t run();

 private:
  static constexpr int kNone = -3;  // no parent waiting
  enum class Phase { Loading, Serving };  // of a member's watch
  // One stripe's edge into one member: who feeds it and how far it is.
  struct Edge {
    std::string key;                 // of the edge that feeds it now
    int pending = kNone;             // the parent waiting for it to learn the key, or kNone
    std::uint64_t have = 0;          // bytes of the stripe's stream it holds
    Clock::time_point grew;          // when that last grew
    bool queued = false;             // waiting for a source edge to free up
    wire::Sender* source = nullptr;  // the source's latest edge to it, if any
  };

  void make_plan(topology::Mode mode);
  void open_receivers();
  void drop_unopened();
  void start_tree();
  // Member m's watch, one turn: its load (verified, tagged), then in a tree
  // serving its relay until every member settled; false once done.
  bool watch(std::size_t m, RelayTurn turn);
  void on_event(std::size_t m, const wire::Json& event);
  void take_progress(std::size_t m, std::uint64_t received, const std::vector<std::uint64_t>& stripes);  // mu_ held
  void check_stall(std::size_t m);
  void check_slow(std::size_t m);  // mu_ held
  topology::Progress progress_of(int s, std::size_t m) const;  // mu_ held
  void lost(std::size_t m, const std::string& why);  // why: for --events
  // Member p sends too slowly to be a parent: its children move, it stays a leaf.
  void demote(std::size_t p, const std::string& why);  // mu_ held
  bool demoted(std::size_t p) const {  // a leaf everywhere already; mu_ held
    return p < stripes_.leaf_only.size() && stripes_.leaf_only[p];
  }
  void bad_part(std::size_t m, const wire::BadPart& e);  // mu_ held
  void move_to_source(int s, std::size_t m);              // mu_ held
  void cancel_source_edge(int s, std::size_t m);          // mu_ held
  // New parents for every stripe child of m (failed, or leaving the trees),
  // per tree in the order of its children there.
  std::vector<std::vector<int>> reparent(std::size_t m);  // mu_ held
  std::uint64_t spool_bytes(std::size_t m) const;  // most of its stream member m's spool holds
  bool can_feed(int s, std::size_t p, std::size_t c) const;  // mu_ held: p's spool holds what c needs next
  void child_behind(int s, std::size_t parent, const std::string& child);  // mu_ held
  // Feeds stripe s of `child` from `parent`; with new_key over a fresh
  // edge, whose key the child learns first (the parent connects once it
  // says it knows); mu_ held.
  void attach(int s, int parent, int child, bool new_key);
  void connect(int s, int parent, int child);  // mu_ held
  void start_source_edges();              // mu_ held: up to --max-workers at once
  void source_edge_done();                // from a sender's thread: a worker is free
  // The source's connection to member m's relay: TCP, or failing that (a
  // firewall that lets only SSH through) an SSH tunnel, kept for later edges.
  wire::Socket dial(std::size_t m);
  int stripes() const { return static_cast<int>(stripes_.trees.size()); }
  Edge& edge(int s, std::size_t m) { return edges_[static_cast<std::size_t>(s)][m]; }
  const Edge& edge(int s, std::size_t m) const { return edges_[static_cast<std::size_t>(s)][m]; }
  topology::Plan& tree(int s) { return stripes_.trees[static_cast<std::size_t>(s)]; }
  bool complete(std::size_t m) const { return received_[m] >= streams_[m].size; }
  bool complete(int s, std::size_t m) const { return edge(s, m).have >= streams_[m].map.stripe_size(s); }
  // How far member m's stripe s reaches, comparable between members: in
  // the whole bundle for one stripe (streams differ, but a parent's carries
  // all of its child's), in the stripe for several (every stream is the same).
  std::uint64_t position(int s, std::size_t m) const;  // mu_ held
  std::vector<std::uint64_t> positions(int s) const;    // mu_ held
  wire::Target target(int member) const;
  std::string parent_name(int parent);  // "source", a node's name, or "" (none)
  std::string parents_of(std::size_t m);  // its parent, or its stripes' parents, comma-separated
  void note_reparent(int s, std::size_t m, int from, int to, const char* reason, const std::string& detail);  // mu_ held
  NodeRun& run_of(std::size_t m) { return runs_[members_[m]]; }
  int member_of(const NodeRun& run) const { return member_of_[static_cast<std::size_t>(&run - runs_.data())]; }

  std::vector<NodeRun>& runs_;
  const DeliveryInput& in_;
  const bool relays_forward_;  // tree and stripes: relays feed each other
  struct Stream {
    PartList parts;                       // of the bundle: the member's needs and its subtree's
    std::uint64_t size = 0;
    std::shared_ptr<wire::PartView> view;  // its bytes within the whole bundle
    wire::StripeMap map;                   // how it is striped
  };
  std::vector<std::size_t> members_;  // loading nodes in the tree: index into runs_
  std::vector<int> member_of_;        // per run: its member index, or -1
  std::vector<Stream> streams_;       // per member
  std::vector<std::string> address_;  // per member
  std::vector<int> port_;
  std::vector<Phase> phase_;  // per member, touched only by the thread that serves its relay

  std::mutex mu_;  // guards everything below
  // One tree per stripe; flat and tree mode have one stripe.
  topology::Stripes stripes_;
  std::vector<std::vector<Edge>> edges_;  // per stripe, per member
  std::vector<std::uint64_t> received_;   // per member: its whole stream's bytes held
  std::vector<bool> alive_;                   // can still forward
  std::deque<std::pair<int, std::size_t>> source_queue_;  // (stripe, member) edges the source feeds next
  std::size_t source_active_ = 0;             // source edges streaming now
  bool finishing_ = false;                    // no new edges
  std::vector<std::unique_ptr<wire::Sender>> sources_;
  std::shared_ptr<wire::RateLimiter> source_limiter_;  // the source's upload cap, shared by sources_; null: none
  std::shared_ptr<wire::Pace> source_pace_;            // or its automatic pace; null: none
  std::vector<int> source_edges_;             // per member: edges the source opened to it
  std::vector<std::string> doomed_;           // per member: why it must fail at its next check
  std::mutex tunnels_mu_;  // not mu_: opening a tunnel is an SSH login
  std::vector<std::unique_ptr<Tunnel>> tunnels_;  // per member, where TCP failed
  std::atomic<std::size_t> settled_{0};       // members done or failed
};

}  // namespace treesync
