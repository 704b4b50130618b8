#include "src/ssh/remote_relay.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "src/errors.h"
#include "src/ssh/numeric_address.h"
#include "src/wire/edge_auth.h"

namespace treesync {
namespace {

constexpr int kReplyTimeoutS = 60;
// A relay is a few MiB: a fetch this slow (or a connect that goes
// unanswered this long) is better left to the source.
constexpr int kFetchTimeoutS = 20;
// The fetch's exit status when the node itself cannot fetch: not the lender's fault.
constexpr int kFetchUnsupported = 3;

template <typename... M>
bool one_of(const std::string& type, std::tuple<M...>*) {
  return ((type == M::kType) || ...);
}

bool is_event(const std::string& type) {
  return one_of(type, static_cast<wire::ControlEvents*>(nullptr)) || type == wire::Forwarding::kType;
}

// Remote commands are fixed text plus the relay's hash, which is hex we
// computed: nothing from the command line or the inventory reaches the shell.
std::string relay_file(const std::string& hash) { return "\"$HOME/.cache/treesync/treesync-relay-" + hash + "\""; }

// Where the relay's bytes come from: `cat` of what the source sends on
// stdin, or a fetch from a node that runs this relay (relay/relay_share.h),
// with bash's /dev/tcp as the client, so nothing of ours need be on the
// node first. Either exits 0 when cut short, so the temp file is checked
// (size, then SHA-256) before it takes the name later runs trust with
// `test -x`: a lender that lies is caught here.
std::string install_command(const RelayBinary& binary, const std::string& source, const std::string& what) {
  const std::string n = std::to_string(binary.bytes.size());
  return "umask 077 && mkdir -p \"$HOME/.cache/treesync\" || exit 1; "
         "t=\"$HOME/.cache/treesync/." + what + "-" + binary.hash + "-$$\"; trap 'rm -f \"$t\"' EXIT; " +
         source + " > \"$t\" || exit 1; "
         "n=$(wc -c < \"$t\"); [ \"$n\" -eq " + n + " ] || "
         "{ echo \"the " + what + " was cut short: $n of " + n + " bytes arrived\" >&2; exit 1; }; "
         "command -v sha256sum > /dev/null || { echo \"sha256sum not found: cannot check the relay's bytes before "
         "installing it (install coreutils on the node)\" >&2; exit 1; }; "
         "s=$(sha256sum < \"$t\") || exit 1; [ \"${s%% *}\" = " + binary.sha256 + " ] || "
         "{ echo \"the " + what + "ed relay's SHA-256 is ${s%% *}, not " + binary.sha256 + "\" >&2; exit 1; }; "
         "chmod 700 \"$t\" && mv -f \"$t\" " + relay_file(binary.hash);
}

bool numeric_ip(const std::string& s) {
  return !s.empty() && s.size() <= 45 && s.find_first_not_of("0123456789abcdefABCDEF.:") == std::string::npos;
}

// "uname -m", then the hash of each of `relays` the node has cached.
std::string first_contact_command(const RelaySet& relays) {
  std::string hashes;
  for (const auto& [machine, binary] : relays.by_machine) hashes += " " + binary.hash;
  return "uname -m || exit 1; for h in" + hashes + "; do test -x " + relay_file("$h") + " && echo \"$h\"; done; exit 0";
}

std::string first_line(const std::string& s) {
  std::size_t start = s.find_first_not_of(" \n");
  if (start == std::string::npos) return "";
  return s.substr(start, s.find('\n', start) - start);
}

}  // namespace

std::string relay_install_command(const RelayBinary& binary) { return install_command(binary, "cat", "upload"); }

std::string relay_fetch_command(const RelayBinary& binary, const Donor& donor, const std::string& nonce) {
  // The only values from outside this file: checked to be what they must.
  if (!numeric_ip(donor.address) || donor.port <= 0 || donor.port > 65535 ||
      nonce.size() != 2 * wire::kNonceBytes || nonce.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw NodeError("install relay", "refusing to fetch from " + donor.node + ": not a numeric address and port");
  const std::string token = nonce + " " + wire::share_mac(donor.secret, nonce);
  return "timeout 5 bash -c : 2> /dev/null || "
         "{ echo \"bash and timeout are needed to fetch the relay from a node\" >&2; exit " +
         std::to_string(kFetchUnsupported) + "; }; " +
         install_command(binary,
                         "timeout " + std::to_string(kFetchTimeoutS) + " bash -c 'exec 3<>/dev/tcp/" + donor.address +
                             "/" + std::to_string(donor.port) + " && echo " + token + " >&3 && cat <&3'",
                         "fetch");
}

RemoteRelay::RemoteRelay(const Node& node, SshConfig ssh, const RelaySet& relays, RelayDonors& donors,
                         int probe_timeout_s, int stall_timeout_s, const std::atomic<bool>& stop)
    : node_(node), ssh_config_(std::move(ssh)), relays_(relays), donors_(donors), probe_timeout_s_(probe_timeout_s),
      stall_timeout_s_(stall_timeout_s), stop_(stop) {}

RemoteRelay::~RemoteRelay() { stop(); }

void RemoteRelay::start() {
  session_ = std::make_unique<SshSession>(ssh_config_);
  // One round trip: the node's architecture, then which relays it has cached.
  std::string out, err;
  if (ssh_run(*session_, first_contact_command(relays_), "", &out, &err) != 0)
    throw NodeError("install relay", "cannot run uname -m on the node: " + first_line(err));
  std::istringstream lines(out);
  std::string machine, hash;
  std::getline(lines, machine);
  binary_ = &relays_.for_machine(machine);
  bool cached = false;
  while (std::getline(lines, hash)) cached = cached || hash == binary_->hash;
  relay_from_ = "cached";
  if (!cached) install();
  std::string why = launch();
  if (why.empty()) return lend();
  // A relay just installed passed its SHA-256 check: installing it again
  // would not help. A cached one may be the remains of an upload that was cut.
  if (!cached) throw NodeError("install relay", "the relay does not start: " + why);
  spdlog::warn("{}: the cached relay does not start ({}); installing it again", node_.name, why);
  ssh_run(*session_, "rm -f " + relay_file(binary_->hash), "", nullptr, nullptr);
  install();
  why = launch();
  if (!why.empty()) throw NodeError("install relay", "the relay does not start, even after a fresh install: " + why);
  lend();
}

void RemoteRelay::install() {
  RelayDonors::Lease lease = donors_.acquire(binary_->hash, stop_);
  if (const Donor* donor = lease.donor()) {
    std::string err;
    const int rc = ssh_run(*session_, relay_fetch_command(*binary_, *donor, wire::new_nonce()), "", nullptr, &err);
    if (rc == 0) {
      lease.fetched();
      spdlog::debug("{}: fetched the relay from {}", node_.name, donor->node);
      relay_from_ = donor->node;
      return;
    }
    // The source still can: a node that cannot fetch (no bash) or reach this
    // lender (a firewall) costs the source one relay, not the run.
    lease.failed(rc != kFetchUnsupported);
    spdlog::warn("{}: cannot fetch the relay from {} ({}); the source sends it", node_.name, donor->node,
                 first_line(err));
  }
  upload();
}

void RemoteRelay::upload() {
  spdlog::debug("{}: uploading relay ({} bytes)", node_.name, binary_->bytes.size());
  std::string err;
  if (ssh_run(*session_, relay_install_command(*binary_), binary_->bytes, nullptr, &err) != 0)
    throw NodeError("install relay", "cannot store the relay in ~/.cache/treesync: " + first_line(err));
  relay_from_ = "source";
  relay_bytes_ += binary_->bytes.size();
}

void RemoteRelay::lend() {
  try {
    const std::string address = numeric_address(ssh_config_.host, "lend relay");
    const std::string secret = wire::new_edge_key();
    const int port = request<wire::Sharing>(wire::ShareRelay{address, secret}, kReplyTimeoutS).port;
    donors_.add(binary_->hash, {node_.name, address, port, secret});
  } catch (const NodeError& e) {
    if (e.relay_lost) throw;
    donors_.cannot_lend();
    spdlog::debug("{}: the relay does not lend itself: {}", node_.name, e.what());
  }
}

std::string RemoteRelay::launch() {
  control_.reset();
  reader_ = wire::FrameReader();
  control_ = session_->exec("exec " + relay_file(binary_->hash) + " serve --hash " + binary_->hash);
  try {
    next_reply<wire::Hello>("start relay", probe_timeout_s_);
    return "";
  } catch (const NodeError& e) {
    // A relay that is silent, or an interrupted run, is not an install problem.
    if (stop_ || !e.relay_lost || !control_->eof()) throw;
    const bool not_executable = control_->close() == 126;
    control_.reset();  // stop() must not ask this relay to clean up: it never ran
    return e.what() + std::string(not_executable ? " (is ~/.cache/treesync on the node mounted noexec?)" : "");
  }
}

wire::ProbeReply RemoteRelay::probe(const std::vector<std::string>& ids, bool layers) {
  return request<wire::ProbeReply>(
      wire::ProbeRequest{ids, layers, node_.runtime, node_.containerd_socket, node_.ns, node_.sudo}, probe_timeout_s_);
}

wire::FilesProbed RemoteRelay::probe_files(const wire::FilesProbe& req) {
  return request<wire::FilesProbed>(req, probe_timeout_s_);
}

int RemoteRelay::open_receive(const wire::ReceiveRequest& req) {
  return request<wire::Listening>(req, kReplyTimeoutS).port;
}

void RemoteRelay::expect_parent(int stripe, const std::string& key, bool source) {
  post(wire::encode(wire::ExpectParent{stripe, key, source}));
}

void RemoteRelay::forward(const wire::ChildEdge& child, std::uint64_t limit, bool pace) {
  post(wire::encode(wire::ForwardRequest{{child}, limit, pace}));
}

void RemoteRelay::set_event_handler(std::function<void(const wire::Json&)> handler) { on_event_ = std::move(handler); }

void RemoteRelay::post(std::string frame) {
  std::lock_guard<std::mutex> lock(posts_mu_);
  posts_.push_back(std::move(frame));
}

void RemoteRelay::flush_posts() {
  std::vector<std::string> out;
  {
    std::lock_guard<std::mutex> lock(posts_mu_);
    out.swap(posts_);
  }
  for (const auto& frame : out) control_->write_all(frame);
}

bool RemoteRelay::has_posts() {
  std::lock_guard<std::mutex> lock(posts_mu_);
  return !posts_.empty();
}

std::optional<wire::Loaded> RemoteRelay::poll_loaded() {
  flush_posts();
  // libssh2 may hold bytes it already took off the socket: read until it
  // has none, or poll() would not wake for them. Frames waiting since the
  // last call count as signs of life before silence is judged.
  do {
    while (auto frame = reader_.next())
      if (auto reply = take_reply(*frame, "load")) return as_reply<wire::Loaded>(*reply, "load");
  } while (read_now("load"));
  if (stop_) throw NodeError("load", "interrupted");
  if (std::chrono::steady_clock::now() - last_word_ > std::chrono::seconds(stall_timeout_s_))
    throw NodeError("load", "no word from the relay for " + std::to_string(stall_timeout_s_) + " s", true);
  return std::nullopt;
}

void RemoteRelay::poll_serving() {
  flush_posts();
  do {
    while (auto frame = reader_.next()) {
      // The node's own work is done: a failed request now (a late forward)
      // is worth a warning, not a failed node.
      try {
        take_reply(*frame, "forward");
      } catch (const NodeError& e) {
        if (e.relay_lost) throw;
        spdlog::warn("{}: {}: {}", node_.name, e.step, e.what());
      }
    }
  } while (read_now("forward"));
}

void RemoteRelay::tag(const std::string& id, const std::vector<std::string>& refs, bool pin,
                      const std::vector<std::string>& untag) {
  send_tag(id, refs, pin, untag);
  await_tag();
}

void RemoteRelay::send_tag(const std::string& id, const std::vector<std::string>& refs, bool pin,
                           const std::vector<std::string>& untag) {
  control_->write_all(wire::encode(wire::TagRequest{id, refs, pin, untag}));
}

void RemoteRelay::await_tag() { next_reply<wire::Tagged>(wire::TagRequest::kType, kReplyTimeoutS); }

void RemoteRelay::stop() {
  donors_.remove(node_.name);
  if (!control_) return;
  try {
    session_->set_timeout_ms(5000);
    bool died = control_->eof();
    if (!died) control_->send_eof();
    control_->close();
    control_.reset();
    // A relay that was killed could not remove its spool; a fresh one can.
    if (died) ssh_run(*session_, "exec " + relay_file(binary_->hash) + " cleanup --hash " + binary_->hash, "", nullptr, nullptr);
  } catch (const std::exception& e) {
    spdlog::debug("{}: closing relay: {}", node_.name, e.what());
  }
  control_.reset();
  session_.reset();
}

template <typename Reply, typename Request>
Reply RemoteRelay::request(const Request& msg, int timeout_s) {
  control_->write_all(wire::encode(msg));
  return next_reply<Reply>(Request::kType, timeout_s);
}

template <typename Reply>
Reply RemoteRelay::next_reply(const std::string& step, int timeout_s) {
  return as_reply<Reply>(next_message(step, timeout_s), step);
}

template <typename Reply>
Reply RemoteRelay::as_reply(const wire::Json& msg, const std::string& step) {
  try {
    return wire::from_message<Reply>(msg);
  } catch (const wire::Error& e) {
    throw NodeError(step, std::string("unexpected reply from the relay: ") + e.what(), true);
  }
}

wire::Json RemoteRelay::next_message(const std::string& step, int timeout_s) {
  last_word_ = std::chrono::steady_clock::now();  // the wait starts now; any message is a sign of life
  for (;;) {
    flush_posts();
    while (auto frame = reader_.next())
      if (auto reply = take_reply(*frame, step)) return *reply;
    if (stop_) throw NodeError(step, "interrupted");
    if (!read_some(step) && std::chrono::steady_clock::now() - last_word_ > std::chrono::seconds(timeout_s))
      throw NodeError(step, "no word from the relay for " + std::to_string(timeout_s) + " s", true);
  }
}

std::optional<wire::Json> RemoteRelay::take_reply(const wire::Frame& frame, const std::string& step) {
  last_word_ = std::chrono::steady_clock::now();
  if (frame.kind != wire::Kind::Message) throw NodeError(step, "relay sent data on the control channel", true);
  wire::Json msg;
  try {
    msg = frame.json();
  } catch (const wire::Error& e) {
    throw NodeError(step, std::string("relay sent a malformed message: ") + e.what(), true);
  }
  std::string type = wire::type_of(msg);
  if (type == wire::ErrorReply::kType) {
    auto e = wire::from_message<wire::ErrorReply>(msg);
    throw NodeError(e.step, e.message);
  }
  if (!is_event(type)) return msg;
  if (on_event_) on_event_(msg);
  return std::nullopt;
}

bool RemoteRelay::read_some(const std::string& step, long wait_ms) {
  session_->set_timeout_ms(wait_ms);
  char buf[65536];
  try {
    return took(control_->read(buf, sizeof buf), buf, step);
  } catch (const NodeError& e) {
    throw NodeError(step, e.what(), true);
  }
}

bool RemoteRelay::read_now(const std::string& step) {
  char buf[65536];
  try {
    return took(control_->read_now(buf, sizeof buf), buf, step);
  } catch (const NodeError& e) {
    throw NodeError(step, e.what(), true);
  }
}

bool RemoteRelay::took(long n, const char* buf, const std::string& step) {
  if (n > 0) {
    reader_.feed(buf, static_cast<std::size_t>(n));
    return true;
  }
  if (n == 0) {
    std::string why = first_line(control_->read_stderr());
    int status = control_->close();
    throw NodeError(step, "relay exited (" + control_->exit_reason(status) + ")" + (why.empty() ? "" : ": " + why), true);
  }
  return false;
}

}  // namespace treesync
