#include "src/remote_relay.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "src/errors.h"

namespace treesync {
namespace {

constexpr int kReplyTimeoutS = 60;

// Remote commands are fixed text plus the relay's hash, which is hex we
// computed: nothing from the command line or the inventory reaches the shell.
std::string relay_file(const std::string& hash) { return "\"$HOME/.cache/treesync/treesync-relay-" + hash + "\""; }

std::string install_command(const std::string& hash) {
  return "umask 077 && mkdir -p \"$HOME/.cache/treesync\" && t=\"$HOME/.cache/treesync/.upload-" + hash +
         "-$$\" && trap 'rm -f \"$t\"' EXIT && cat > \"$t\" && chmod 700 \"$t\" && mv -f \"$t\" " +
         relay_file(hash);
}

std::string first_line(const std::string& s) {
  std::size_t start = s.find_first_not_of(" \n");
  if (start == std::string::npos) return "";
  return s.substr(start, s.find('\n', start) - start);
}

}  // namespace

RelayBinary RelayBinary::load(const std::string& explicit_path) {
  RelayBinary b;
  b.path = explicit_path;
  if (b.path.empty()) {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "treesync";
    b.path = dir.substr(0, dir.rfind('/') + 1) + "treesync-relay";
  }
  std::ifstream in(b.path, std::ios::binary);
  if (!in) throw UsageError("cannot read the relay binary " + b.path + " (build it, or pass --relay FILE)");
  std::stringstream s;
  s << in.rdbuf();
  b.bytes = s.str();
  b.hash = wire::file_hash_hex(b.path);
  return b;
}

RemoteRelay::RemoteRelay(const Node& node, SshConfig ssh, const RelayBinary& binary, int stall_timeout_s,
                         const std::atomic<bool>& stop)
    : node_(node), ssh_config_(std::move(ssh)), binary_(binary), stall_timeout_s_(stall_timeout_s), stop_(stop) {}

RemoteRelay::~RemoteRelay() { stop(); }

void RemoteRelay::start() {
  session_ = std::make_unique<SshSession>(ssh_config_);
  std::string err;
  if (ssh_run(*session_, "test -x " + relay_file(binary_.hash), "", nullptr, nullptr) != 0) {
    spdlog::debug("{}: uploading relay ({} bytes)", node_.name, binary_.bytes.size());
    if (ssh_run(*session_, install_command(binary_.hash), binary_.bytes, nullptr, &err) != 0)
      throw NodeError("install relay", "cannot store the relay in ~/.cache/treesync: " + first_line(err));
    uploaded_ = true;
  }
  control_ = session_->exec("exec " + relay_file(binary_.hash) + " serve --hash " + binary_.hash);
  next_message("start relay", kReplyTimeoutS);  // hello
}

wire::Json RemoteRelay::probe(const std::vector<std::string>& ids) {
  return request({{"type", "probe"}, {"images", ids}}, "probe", kReplyTimeoutS);
}

void RemoteRelay::send_archive(const std::string& path, std::uint64_t size,
                               const std::function<void(std::uint64_t)>& sent) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NodeError("send", "cannot read archive " + path);
  control_->write_all(wire::encode_message({{"type", "receive"}, {"size", size}}));
  std::string chunk(wire::kChunkSize, '\0');
  std::uint64_t offset = 0;
  session_->set_timeout_ms(stall_timeout_s_ * 1000L);  // a write that waits this long is a stall
  try {
    while (offset < size) {
      if (stop_) throw NodeError("send", "interrupted");
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) throw NodeError("send", "archive " + path + " is shorter than " + std::to_string(size) + " bytes");
      std::string_view bytes(chunk.data(), n);
      control_->write_all(wire::encode_data_header(offset, bytes));
      control_->write_all(bytes);
      offset += n;
      sent(offset);
    }
  } catch (const NodeError& e) {
    // The relay may have said why it stopped reading (disk full, ...).
    session_->set_timeout_ms(2000);
    try {
      next_message("receive", 2);
    } catch (const NodeError& reason) {
      if (std::string(reason.what()) != "no answer") throw;
    }
    throw;
  }
}

int RemoteRelay::open_receive(std::uint64_t size, const std::string& listen_ip, const std::string& token) {
  wire::Json reply =
      request({{"type", "receive"}, {"size", size}, {"listen", listen_ip}, {"token", token}}, "listening", kReplyTimeoutS);
  return reply.at("port").get<int>();
}

void RemoteRelay::forward(const std::vector<wire::Target>& children) {
  wire::Json list = wire::Json::array();
  for (const auto& c : children) list.push_back({{"name", c.name}, {"address", c.address}, {"port", c.port}});
  request({{"type", "forward"}, {"children", list}}, "forwarding", kReplyTimeoutS);
}

// Progress and forwarding reports may come first; each one is a sign of
// life, so only `stall_timeout` without any message fails the node.
std::vector<std::string> RemoteRelay::wait_loaded(const std::function<void(std::uint64_t)>& received) {
  for (;;) {
    wire::Json msg = next_message("load", stall_timeout_s_);
    std::string type = msg.value("type", "");
    if (type == "progress") received(msg.value("received", std::uint64_t{0}));
    else if (type == "received") received(msg.value("bytes", std::uint64_t{0}));
    else if (type == "loaded") return msg.at("ids").get<std::vector<std::string>>();
    else if (type == "child_failed") spdlog::warn("{}: forwarding to {} failed: {}", node_.name, msg.value("child", "?"), msg.value("message", ""));
    else if (type == "refused") spdlog::warn("{}: refused a connection from {}: {}", node_.name, msg.value("peer", "?"), msg.value("reason", ""));
    else if (type != "forwarded") throw NodeError("load", "unexpected message " + msg.dump());
  }
}

void RemoteRelay::tag(const std::string& id, const std::vector<std::string>& refs) {
  request({{"type", "tag"}, {"id", id}, {"refs", refs}}, "tagged", kReplyTimeoutS);
}

void RemoteRelay::stop() {
  if (!control_) return;
  try {
    session_->set_timeout_ms(5000);
    control_->send_eof();
    control_->close();
  } catch (const std::exception& e) {
    spdlog::debug("{}: closing relay: {}", node_.name, e.what());
  }
  control_.reset();
  session_.reset();
}

wire::Json RemoteRelay::request(const wire::Json& msg, const std::string& reply_type, int timeout_s) {
  const std::string step = msg.value("type", "request");
  control_->write_all(wire::encode_message(msg));
  wire::Json reply = next_message(step, timeout_s);
  if (reply.value("type", "") != reply_type) throw NodeError(step, "unexpected reply " + reply.dump());
  return reply;
}

wire::Json RemoteRelay::next_message(const std::string& step, int timeout_s) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  session_->set_timeout_ms(1000);
  char buf[65536];
  for (;;) {
    if (auto frame = reader_.next()) {
      if (frame->kind != wire::Kind::Message) throw NodeError(step, "relay sent data on the control channel");
      wire::Json msg = frame->json();
      if (msg.value("type", "") == "error")
        throw NodeError(msg.value("step", step), msg.value("message", "relay error"));
      return msg;
    }
    if (stop_) throw NodeError(step, "interrupted");
    long n = control_->read(buf, sizeof buf);
    if (n > 0) {
      reader_.feed(buf, static_cast<std::size_t>(n));
      deadline = Clock::now() + std::chrono::seconds(timeout_s);
    } else if (n == 0) {
      std::string why = first_line(control_->read_stderr());
      int status = control_->close();
      throw NodeError(step, "relay exited (status " + std::to_string(status) + ")" + (why.empty() ? "" : ": " + why));
    } else if (Clock::now() > deadline) {
      throw NodeError(step, "no answer");
    } else {
      session_->keepalive();
    }
  }
}

}  // namespace treesync
