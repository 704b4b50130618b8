// Tree mode: every loading node listens for its parent; interior nodes
// forward from their spool; the source feeds its own children only. When a
// node's relay is lost, its children are re-parented (topology::reparent)
// and resume where their spool ends.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "relay/forwarder.h"
#include "src/delivery.h"

namespace treesync {

class TreeDelivery {
 public:
  TreeDelivery(std::vector<NodeRun>& runs, const DeliveryInput& in);
  ~TreeDelivery();
  // Returns the archive bytes the source itself sent.
  std::uint64_t run();

 private:
  void open_receivers();
  void start_tree();
  void watch(std::size_t m);  // member m's thread, until the whole tree is done
  void on_event(std::size_t m, const wire::Json& event);
  void check_stall(std::size_t m);
  void lost(std::size_t m);
  void attach(int parent, int child);  // mu_ held
  wire::Target target(int member) const;
  NodeRun& run_of(std::size_t m) { return runs_[members_[m]]; }

  std::vector<NodeRun>& runs_;
  const DeliveryInput& in_;
  const std::string token_;
  std::vector<std::size_t> members_;  // loading nodes in the tree: index into runs_
  std::vector<std::string> address_;  // per member
  std::vector<int> port_;
  int archive_fd_ = -1;

  std::mutex mu_;  // guards everything below
  topology::Plan plan_;
  std::vector<std::uint64_t> have_;           // bytes each member holds
  std::vector<Clock::time_point> grew_;       // when that last grew
  std::vector<bool> alive_;                   // can still forward
  std::vector<std::unique_ptr<wire::Forwarder>> sources_;
  std::atomic<std::size_t> settled_{0};       // members done or failed
};

}  // namespace treesync
