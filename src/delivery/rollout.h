// The one delivery path, for flat and tree mode alike: every loading node's
// relay listens for the one parent the source names, with a key for that
// edge only; interior relays forward from their spool, to each child only
// the parts its subtree lacks; the source feeds its own children, at most
// --max-workers at once (flat mode: every node is a child of the source).
// When a node's relay is lost its children are re-parented
// (topology::reparent) to a node whose stream carries theirs; a node whose
// parent sent bytes that failed their digest is moved to the source. Either
// way the node learns its new parent's key over SSH and resumes where its
// spool ends.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/delivery/delivery.h"
#include "src/ssh/tunnel.h"
#include "src/wire/sender.h"
#include "topology/stall.h"

namespace treesync {

class Rollout {
 public:
  Rollout(std::vector<NodeRun>& runs, const DeliveryInput& in, topology::Mode mode);
  ~Rollout();
  // Returns the stream bytes the source itself sent.
  std::uint64_t run();

 private:
  void make_plan(topology::Mode mode);
  void open_receivers();
  void drop_unopened();
  void start_tree();
  void watch(std::size_t m);  // member m's thread, until the whole tree is done
  void on_event(std::size_t m, const wire::Json& event);
  void check_stall(std::size_t m);
  topology::Progress progress_of(std::size_t m) const;  // mu_ held
  void lost(std::size_t m, const std::string& why);  // why: for --events
  void bad_part(std::size_t m, const wire::BadPart& e);  // mu_ held
  void move_to_source(std::size_t m);                    // mu_ held
  void cancel_source_edge(std::size_t m);                // mu_ held
  std::vector<int> reparent(std::size_t m);  // mu_ held
  std::uint64_t spool_bytes(std::size_t m) const;  // most of its stream member m's spool holds
  bool can_feed(std::size_t p, std::size_t c) const;  // mu_ held: p's spool holds what c needs next
  void child_behind(std::size_t parent, const std::string& child);  // mu_ held
  // Feeds `child` from `parent`; with new_key over a fresh edge, whose key
  // the child learns first (the parent connects once it says it knows);
  // mu_ held.
  void attach(int parent, int child, bool new_key);
  void connect(int parent, int child);  // mu_ held
  void start_source_edges();              // mu_ held: up to --max-workers at once
  void source_edge_done();                // from a sender's thread: a worker is free
  // The source's connection to member m's relay: TCP, or failing that (a
  // firewall that lets only SSH through) an SSH tunnel, kept for later edges.
  wire::Socket dial(std::size_t m);
  bool complete(std::size_t m) const { return have_[m] >= streams_[m].size; }
  std::uint64_t bundle_position(std::size_t m) const;  // mu_ held
  std::vector<std::uint64_t> bundle_positions() const;  // mu_ held
  wire::Target target(int member) const;
  std::string parent_name(int parent);  // "source", a node's name, or "" (none)
  void note_reparent(std::size_t m, int from, int to, const char* reason, const std::string& detail);  // mu_ held
  NodeRun& run_of(std::size_t m) { return runs_[members_[m]]; }
  int member_of(const NodeRun& run) const { return member_of_[static_cast<std::size_t>(&run - runs_.data())]; }

  std::vector<NodeRun>& runs_;
  const DeliveryInput& in_;
  const bool relays_forward_;  // tree mode: relays feed each other
  struct Stream {
    PartList parts;                       // of the bundle: the member's needs and its subtree's
    std::uint64_t size = 0;
    std::shared_ptr<wire::PartView> view;  // its bytes within the whole bundle
  };
  std::vector<std::size_t> members_;  // loading nodes in the tree: index into runs_
  std::vector<int> member_of_;        // per run: its member index, or -1
  std::vector<Stream> streams_;       // per member
  std::vector<std::string> address_;  // per member
  std::vector<int> port_;

  std::mutex mu_;  // guards everything below
  topology::Plan plan_;
  std::vector<std::string> key_;              // per member: the key of the edge that feeds it now
  std::vector<int> pending_;                  // per member: the parent waiting for it to learn the key, or kNone
  std::vector<std::uint64_t> have_;           // bytes of its stream each member holds
  std::vector<Clock::time_point> grew_;       // when that last grew
  std::vector<bool> alive_;                   // can still forward
  std::vector<bool> queued_;                  // waiting for a source edge to free up
  std::deque<std::size_t> source_queue_;      // members the source will feed next
  std::size_t source_active_ = 0;             // source edges streaming now
  bool finishing_ = false;                    // no new edges
  std::vector<std::unique_ptr<wire::Sender>> sources_;
  std::shared_ptr<wire::RateLimiter> source_limiter_;  // the source's upload cap, shared by sources_; null: none
  std::vector<wire::Sender*> source_sender_;  // per member: the source's latest edge to it, if any
  std::vector<int> source_edges_;             // per member: edges the source opened to it
  std::vector<std::string> doomed_;           // per member: why it must fail at its next check
  std::mutex tunnels_mu_;  // not mu_: opening a tunnel is an SSH login
  std::vector<std::unique_ptr<Tunnel>> tunnels_;  // per member, where TCP failed
  std::atomic<std::size_t> settled_{0};       // members done or failed
};

}  // namespace treesync
