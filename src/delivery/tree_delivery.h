// Tree mode: every loading node listens for its parent; interior nodes
// forward from their spool, to each child only the parts its subtree lacks;
// the source feeds its own children only. When a node's relay is lost, its
// children are re-parented (topology::reparent) to a node whose stream
// carries theirs, and resume where their spool ends.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/wire/forwarder.h"
#include "src/delivery/delivery.h"

namespace treesync {

class TreeDelivery {
 public:
  TreeDelivery(std::vector<NodeRun>& runs, const DeliveryInput& in);
  ~TreeDelivery();
  // Returns the stream bytes the source itself sent.
  std::uint64_t run();

 private:
  void make_plan();
  void open_receivers();
  void drop_unopened();
  void start_tree();
  void watch(std::size_t m);  // member m's thread, until the whole tree is done
  void on_event(std::size_t m, const wire::Json& event);
  void check_stall(std::size_t m);
  void lost(std::size_t m);
  std::vector<int> reparent(std::size_t m);  // mu_ held
  void attach(int parent, int child);  // mu_ held
  bool complete(std::size_t m) const { return have_[m] >= streams_[m].size; }
  std::uint64_t bundle_position(std::size_t m) const;  // mu_ held
  std::vector<std::uint64_t> bundle_positions() const;  // mu_ held
  wire::Target target(int member) const;
  NodeRun& run_of(std::size_t m) { return runs_[members_[m]]; }
  int member_of(const NodeRun& run) const { return member_of_[static_cast<std::size_t>(&run - runs_.data())]; }

  std::vector<NodeRun>& runs_;
  const DeliveryInput& in_;
  const std::string token_;
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
  std::vector<std::uint64_t> have_;           // bytes of its stream each member holds
  std::vector<Clock::time_point> grew_;       // when that last grew
  std::vector<bool> alive_;                   // can still forward
  std::vector<std::unique_ptr<wire::Forwarder>> sources_;
  std::atomic<std::size_t> settled_{0};       // members done or failed
};

}  // namespace treesync
