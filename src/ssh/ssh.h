// SSH to one node with libssh2: connect with a timeout (directly, or hop by
// hop through jump hosts), verify the host key against known_hosts,
// authenticate with ssh-agent or key files, run commands.
// A session and its channels belong to one thread at a time. libssh2_init()
// is not thread-safe: main() calls ssh_global_init() once.
#pragma once

#include <libssh2.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace treesync {

void ssh_global_init();

struct SshConfig {
  std::string host;
  int port = 22;
  std::string user;
  std::string identity;  // empty: agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa
  std::string known_hosts;  // checked, and where accept-new records a key
  // Checked too, never written: the config's further UserKnownHostsFile
  // entries (else ~/.ssh/known_hosts2). OpenSSH's global files
  // (/etc/ssh/ssh_known_hosts, ssh_known_hosts2) are always checked as well.
  std::vector<std::string> known_hosts_also;
  bool accept_new_host_keys = false;
  int connect_timeout_s = 10;
  // IdentitiesOnly (ssh config): only the identity file (or the default
  // ones), never the agent's keys; the agent may offer keys for other
  // accounts, and a server counts every refused key against MaxAuthTries.
  bool identities_only = false;
  // ProxyJump: the hosts to go through, in order (the first by TCP, each
  // next one through a direct-tcpip channel of the one before), each with
  // its own user, key and known_hosts; their own jumps are empty.
  std::vector<SshConfig> jumps;
  std::string name;  // as the operator wrote it, for errors about a jump host
};

class SshChannel;
class Tunnel;

class SshSession {
 public:
  // Connects, verifies and authenticates; throws NodeError("connect" |
  // "host key" | "auth", reason).
  // Through config.jumps when it names any; a jump host that fails is
  // named in the error.
  explicit SshSession(const SshConfig& config);
  // Over a connection of `over` (a jump host's tunnel, which must outlive
  // the session); config.jumps is not used.
  SshSession(const SshConfig& config, Tunnel& over);
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Starts `command` in the user's shell on the node. The command must be
  // built only from constants and validated values (hex hashes).
  std::unique_ptr<SshChannel> exec(const std::string& command);

  // Timeout of each blocking libssh2 call; a read that times out returns.
  void set_timeout_ms(long ms);
  std::string last_error() const;
  // What the operator called the host (else its address), for errors.
  const std::string& name() const { return config_.name.empty() ? config_.host : config_.name; }
  LIBSSH2_SESSION* raw() { return session_; }
  int socket_fd() const { return sock_; }

 private:
  void connect_socket();
  void connect_via_jumps();
  void start();  // handshake, host key, authentication on sock_
  void verify_host_key();
  std::string record_host_key(const char* key, std::size_t len, int type, const std::string& shown);
  void authenticate();

  SshConfig config_;
  int sock_ = -1;
  LIBSSH2_SESSION* session_ = nullptr;
  // The jump hosts' tunnels, nearest first: each carries the next one's
  // session (or this one's) on its single connection.
  std::vector<std::unique_ptr<Tunnel>> via_;
  const Tunnel* over_ = nullptr;  // the tunnel sock_ rides on, if any: it knows why it closed
};

class SshChannel {
 public:
  SshChannel(SshSession& session, LIBSSH2_CHANNEL* channel) : session_(session), channel_(channel) {}
  ~SshChannel();

  // Bytes read (0 at end of stream); -1 when the session timeout passed with
  // nothing to read. Throws on a broken connection.
  long read(char* buf, std::size_t n);
  // The same without waiting: -1 when nothing has arrived.
  long read_now(char* buf, std::size_t n);
  std::string read_stderr();  // whatever stderr holds now, without waiting
  void write_all(std::string_view bytes);
  void send_eof();
  // Closes the channel and returns the command's exit status (-1 if unknown).
  int close();
  // "status N" or "killed by signal KILL", after close().
  std::string exit_reason(int status);
  bool eof();

 private:
  SshSession& session_;
  LIBSSH2_CHANNEL* channel_;
  bool closed_ = false;
};

// The most a short command's stdout (or a stderr read) may hold: what a
// node prints is never trusted to be small.
constexpr std::size_t kMaxNodeOutput = 64 << 10;

// Runs a short command to completion, feeding it `input`; returns its exit
// status, with its stdout and stderr in the out parameters. Throws
// NodeError("ssh") once stdout passes kMaxNodeOutput.
int ssh_run(SshSession& session, const std::string& command, std::string_view input, std::string* out,
            std::string* err);

}  // namespace treesync
