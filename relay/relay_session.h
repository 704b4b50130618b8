// One relay's conversation with treesync over its control channel (stdin
// and stdout of the SSH exec channel), the only voice the relay trusts:
// answer probes (of images, or of the files payload's destination); receive a stream from the one parent the source named
// (relay/listener.h) into the spool and the runtime; forward it to the
// children the source named; apply tags; lend its own binary to the nodes
// the source sends (relay/relay_share.h). It ends when the channel closes
// or a stop signal arrives, and then stops everything it started.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relay/dest_tree.h"
#include "relay/listener.h"
#include "relay/receiver.h"
#include "relay/relay_share.h"
#include "src/wire/messages.h"
#include "src/wire/sender.h"

namespace relay {

class RelaySession {
 public:
  RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir, const std::atomic<bool>& stop);
  ~RelaySession();
  void run();

 private:
  void handle(const wire::Json& msg);
  void start_receive(const wire::ReceiveRequest& req);
  void start_sharing(const wire::ShareRelay& req);
  void expect_parent(const wire::ExpectParent& req);
  void start_forwarding(const wire::ForwardRequest& req);
  // The authenticated parent's connection, on its own thread: chunks into
  // the receiver until the spool is whole, the parent is replaced, or we close.
  void serve_parent(wire::Socket& sock, const std::string& peer, wire::FrameReader& in, std::uint64_t accepted,
                    const std::string& key, int stripe);
  void drop_parent(int stripe);  // rx_mu_ held
  // Every stripe's parent at once: a part that failed its digest does not
  // say which stripe's bytes were wrong.
  void give_up_on_parents(const std::string& part, const std::string& peer, std::uint64_t resume_at);  // rx_mu_ held
  // From the feeder: part `index` failed its digest and the spool went back
  // to `start`; drop the parents that sent it. True if only the source sent
  // bytes since the last rewind.
  bool bad_part(std::size_t index, std::uint64_t start);
  void report_corrupt(std::uint64_t offset, const std::string& peer);  // rx_mu_ held
  void refused(const std::string& peer, const std::string& reason);
  void report_refused(std::chrono::steady_clock::time_point now);  // refused_mu_ held
  void finish_receive();  // rx_mu_ held: starts the loader thread
  // Sends progress every second from receive start until the load ends: a
  // sign of life even while docker load is busy; and until the receive
  // stops, the refusals that came after the last report.
  void start_ticker();
  // Never throws: a closed channel shows up as EOF on stdin.
  template <typename M>
  void send(const M& msg);
  void send_error(const std::string& step, const std::string& message);
  void stop_receive();

  int in_fd_, out_fd_;
  std::string workdir_, spool_dir_;
  const std::atomic<bool>& stop_;
  std::mutex out_mu_;

  std::mutex rx_mu_;  // guards receiver_ chunk intake, parent_ and the spool's end
  std::vector<wire::Part> parts_;   // of the stream we receive
  std::vector<bool> parent_is_source_;  // per stripe: the parent the source named is the source itself
  // Per stripe: a relay parent appended to it since the last rewind. A bad
  // copy counts against the node only if the source sent every byte of it,
  // whoever the parents are by the time the load finds it bad.
  std::vector<bool> relay_fed_;
  std::chrono::steady_clock::time_point corrupt_reported_{};
  std::uint64_t raw_bytes_ = 0;  // what this node's load reads, decoded
  std::unique_ptr<runtime::Runtime> runtime_;  // opened at the first probe; outlives the receiver
  std::unique_ptr<wire::FilesProbe> files_;    // the files payload's target, from its probe: receives write there
  std::unique_ptr<Receiver> receiver_;
  std::unique_ptr<Listener> listener_;
  std::vector<wire::Socket*> parents_;  // per stripe: the connection feeding it now, or null
  std::vector<std::string> parent_peers_;
  bool received_ = false;           // finish_receive ran
  std::vector<std::unique_ptr<wire::Sender>> senders_;
  std::shared_ptr<wire::RateLimiter> limiter_;  // this host's upload cap, shared by senders_; null: none
  std::shared_ptr<wire::Pace> pace_;            // or its automatic pace; null: none
  std::thread ticker_;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool ticking_ = false;  // the ticker runs: until stop_receive
  bool loading_ = false;  // it sends progress: until the load ends
  std::optional<std::chrono::steady_clock::time_point> load_deadline_;  // set once every byte is here
  std::thread loader_;  // waits for docker load, then reports
  std::atomic<bool> closing_{false};
  std::atomic<std::uint64_t> wire_bytes_{0};  // chunk bytes that arrived, resends and stale ones included
  std::mutex refused_mu_;
  std::uint64_t refused_count_ = 0, refused_reported_count_ = 0;
  std::string refused_peer_, refused_reason_;  // the latest refusal
  std::chrono::steady_clock::time_point refused_reported_{};
  std::unique_ptr<RelayShare> share_;  // last: its thread reports refusals through the members above
};

}  // namespace relay
