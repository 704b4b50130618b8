// treesync's side of one node's relay: ship the binary (once; it is cached
// on the node by content hash), start it over an SSH exec channel, and talk
// the wire protocol on that channel.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/wire/messages.h"
#include "src/input/inventory.h"
#include "src/ssh/relay_donors.h"
#include "src/ssh/relay_set.h"
#include "src/ssh/ssh.h"

namespace treesync {

// The remote shell command that stores the relay read from stdin under its
// hash name: into a temp file first, installed only if its size and SHA-256
// (sha256sum on the node; none there: refused) match `binary`. Fixed text
// plus hex we computed, nothing else.
std::string relay_install_command(const RelayBinary& binary);
// The same install, of bytes fetched from `donor` with the one-time token
// for `nonce` (hex), instead of read from stdin.
std::string relay_fetch_command(const RelayBinary& binary, const Donor& donor, const std::string& nonce);

class RemoteRelay {
 public:
  // `probe_timeout_s`: how long the relay may take to start and to answer
  // the probe; `stall_timeout_s`: how long a load may go without a word.
  // `donors`: who else lends relays in this run; this one joins them.
  RemoteRelay(const Node& node, SshConfig ssh, const RelaySet& relays, RelayDonors& donors, int probe_timeout_s,
              int stall_timeout_s, const std::atomic<bool>& stop);
  ~RemoteRelay();

  // Connects, learns the node's architecture (uname -m) and so its relay,
  // installs that relay if the node lacks it (fetched from a node that
  // lends it, else uploaded), starts it, and has it lend itself to others.
  // A cached relay that exits before its hello (damaged, truncated, not
  // executable) is deleted, installed again and started once more.
  void start();
  // Where the node's relay came from: "cached", "source", or the node that lent it.
  const std::string& relay_from() const { return relay_from_; }
  // The relay bytes the source itself sent to this node.
  std::uint64_t relay_bytes() const { return relay_bytes_; }

  // With `layers`, also the layer lists of every image on the node (costly
  // on a node with many images: only the first probe asks).
  wire::ProbeReply probe(const std::vector<std::string>& ids, bool layers);
  // The files payload: which files the node holds at req.dest already.
  wire::FilesProbed probe_files(const wire::FilesProbe& req);
  // The relay takes its stream (what the plan names, and nothing else) from
  // the parents that prove `req.parents`' keys; returns the port it listens on.
  int open_receive(const wire::ReceiveRequest& req);
  // From now on only the parent holding this key may feed the relay.
  void expect_parent(int stripe, const std::string& key, bool source);
  // The relay streams to this child the parts of its stream the edge names.
  // `limit`: the relay's upload cap, bits/s on the wire (0: none).
  void forward(const wire::ChildEdge& child, std::uint64_t limit, bool pace);

  // Messages the relay sends on its own (wire::ControlEvents) go to this
  // handler, on the owning thread.
  void set_event_handler(std::function<void(const wire::Json&)> handler);
  // Queues a message from any thread; the owning thread sends it the next
  // time it waits on the relay (a libssh2 session has one user at a time).
  void post(std::string frame);

  // The waiting side for one thread that serves many relays (poll() on
  // socket_fd() for several at once): each call sends the posts, takes in
  // what the relay has sent by now, and returns without waiting.
  int socket_fd() const { return session_->socket_fd(); }
  bool has_posts();
  // The load's outcome once the relay reported it. Throws if the relay is
  // gone, the run interrupted, or the relay silent for the stall timeout.
  std::optional<wire::Loaded> poll_loaded();
  // After the node's own work, while it forwards: events and posts only.
  // Throws only if the relay is gone.
  void poll_serving();
  // Names image `id` by `refs`, then takes the names in `untag` off it.
  void tag(const std::string& id, const std::vector<std::string>& refs, bool pin,
           const std::vector<std::string>& untag);
  // tag() in halves, so that one thread can send many nodes' requests at
  // once and then await them: the relay answers its requests in order.
  void send_tag(const std::string& id, const std::vector<std::string>& refs, bool pin,
                const std::vector<std::string>& untag);
  void await_tag();
  // Closes the control channel: the relay removes its spool and exits.
  void stop();

 private:
  void install();
  void upload();
  // Has the started relay lend itself to nodes that lack it; a relay that
  // cannot (no numeric address, the port refused) just does not.
  void lend();
  // Starts the cached relay: "" once it said hello, else why it exited
  // before that. Throws for anything else (silence, an interrupt).
  std::string launch();
  template <typename Reply, typename Request>
  Reply request(const Request& msg, int timeout_s);
  // One frame: an event goes to the handler (nullopt), a reply is returned,
  // a relay error or a malformed frame is thrown.
  std::optional<wire::Json> take_reply(const wire::Frame& frame, const std::string& step);
  // The next reply, dispatching events and sending posts on the way.
  wire::Json next_message(const std::string& step, int timeout_s);
  template <typename Reply>
  Reply next_reply(const std::string& step, int timeout_s);
  template <typename Reply>
  Reply as_reply(const wire::Json& msg, const std::string& step);
  // Reads once (up to wait_ms); false on a timeout. Throws if the relay is gone.
  bool read_some(const std::string& step, long wait_ms = 1000);
  // Reads what has arrived, without waiting; false if nothing had.
  bool read_now(const std::string& step);
  // What read_some and read_now got: n bytes of buf fed to reader_, or the relay's exit thrown.
  bool took(long n, const char* buf, const std::string& step);
  void flush_posts();

  Node node_;
  SshConfig ssh_config_;
  const RelaySet& relays_;
  RelayDonors& donors_;
  std::string relay_from_;
  std::uint64_t relay_bytes_ = 0;
  const RelayBinary* binary_ = nullptr;  // the node's, chosen by start()
  int probe_timeout_s_;
  int stall_timeout_s_;
  const std::atomic<bool>& stop_;
  std::unique_ptr<SshSession> session_;
  std::unique_ptr<SshChannel> control_;
  wire::FrameReader reader_;
  std::chrono::steady_clock::time_point last_word_;  // of the relay's last frame: poll_loaded's silence
  std::function<void(const wire::Json&)> on_event_;
  std::mutex posts_mu_;
  std::vector<std::string> posts_;
};

}  // namespace treesync
