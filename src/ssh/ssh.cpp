#include "src/ssh/ssh.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "src/errors.h"
#include "src/input/home.h"
#include "src/ssh/handshake_gate.h"
#include "src/ssh/known_hosts.h"
#include "src/ssh/tunnel.h"
#include "src/wire/base64.h"

namespace treesync {
namespace {

std::mutex g_known_hosts;

std::string endpoint(const SshConfig& c) { return c.host + ":" + std::to_string(c.port); }

// Every known_hosts file OpenSSH would read for this host, the one we write first.
std::vector<std::string> known_hosts_files(const SshConfig& c) {
  std::vector<std::string> files{c.known_hosts};
  files.insert(files.end(), c.known_hosts_also.begin(), c.known_hosts_also.end());
  files.insert(files.end(), {"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"});
  return files;
}

int knownhost_key_bit(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
  }
  return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

const char* hostkey_type_name(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa";
    case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519";
  }
  return "unknown";
}

// OpenSSH's way of showing a key: SHA256:<base64 without padding>.
std::string fingerprint(LIBSSH2_SESSION* s) {
  const char* hash = libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (!hash) return "(unknown)";
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, reinterpret_cast<const unsigned char*>(hash), 32);
  std::string b64(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

// The key type of a private key file, for the RSA hint: from its .pub, or
// from a PEM header. Empty when it cannot tell.
std::string key_file_type(const std::string& path) {
  std::ifstream pub(path + ".pub");
  std::string type;
  if (pub >> type) return type;
  std::ifstream priv(path);
  std::string first;
  std::getline(priv, first);
  return first.find("RSA") != std::string::npos ? "ssh-rsa" : "";
}

// The key blob a public key file ("ssh-ed25519 AAAA... comment") holds, as
// an agent lists it.
std::optional<std::string> public_key_blob(const std::string& pub_path) {
  std::ifstream pub(pub_path);
  std::string type, base64;
  if (!(pub >> type >> base64)) return std::nullopt;
  return wire::base64_decode(base64);
}

std::string agent_key_type(const libssh2_agent_publickey* id) {
  if (id->blob_len < 4) return "";
  std::size_t len = (std::size_t(id->blob[0]) << 24) | (std::size_t(id->blob[1]) << 16) |
                    (std::size_t(id->blob[2]) << 8) | id->blob[3];
  if (4 + len > id->blob_len) return "";
  return std::string(reinterpret_cast<const char*>(id->blob + 4), len);
}

void set_socket_options(int fd) {
  int one = 1, idle = 15, interval = 5, count = 3;
  unsigned int user_timeout = 60000;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  // A peer that vanishes mid-write is noticed in a minute, not in fifteen.
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

// An sshd past its MaxStartups closes new connections before it sends its
// banner; that clears as the logins ahead finish (a bastion taking
// hundreds of logins, other clients' among them), so a connection closed
// during the handshake is tried again, a little later, outside the
// handshake gate. libssh2 reports it as "Failed getting banner" with the
// receive's own error code.
struct ClosedEarly : NodeError {
  using NodeError::NodeError;
};
constexpr int kHandshakeAttempts = 3;

bool closed_early(int libssh2_errno) {
  return libssh2_errno == LIBSSH2_ERROR_BANNER_RECV || libssh2_errno == LIBSSH2_ERROR_SOCKET_RECV ||
         libssh2_errno == LIBSSH2_ERROR_SOCKET_DISCONNECT;
}

}  // namespace

void ssh_global_init() {
  if (libssh2_init(0) != 0) throw std::runtime_error("libssh2_init failed");
}

// Each login passes the gate alone: a jump host's own login takes its slot
// and frees it before the next hop's, so none waits while holding one.
SshSession::SshSession(const SshConfig& config) : config_(config) {
  try {
    if (config_.jumps.empty()) {
      for (int attempt = 1;; ++attempt) {
        try {
          HandshakeGate::Slot slot(handshake_gate());
          connect_socket();
          start();
          break;
        } catch (const ClosedEarly&) {
          ::close(sock_);
          sock_ = -1;
          if (attempt == kHandshakeAttempts) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
      }
    } else {
      connect_via_jumps();
      HandshakeGate::Slot slot(handshake_gate());
      start();
    }
  } catch (...) {
    if (sock_ >= 0) ::close(sock_);
    while (!via_.empty()) via_.pop_back();
    throw;
  }
}

SshSession::SshSession(const SshConfig& config, Tunnel& over)
    : config_(config), sock_(over.open().release()), over_(&over) {
  try {
    HandshakeGate::Slot slot(handshake_gate());
    start();
  } catch (...) {
    ::close(sock_);
    throw;
  }
}

void SshSession::start() {
  try {
    session_ = libssh2_session_init();
    if (!session_) throw NodeError("connect", "cannot create an SSH session");
    libssh2_session_set_blocking(session_, 1);
    set_timeout_ms(config_.connect_timeout_s * 1000L);
    // Offer first the host key types known_hosts holds for this host, or a
    // known host reads as unknown (libssh2 matches only the negotiated type).
    std::vector<std::string> types = known_key_types(known_hosts_files(config_), config_.host, config_.port);
    std::string pref;
    for (const auto& t : types)
      if (t.rfind("ssh-", 0) == 0 || t.rfind("ecdsa-", 0) == 0) pref += (pref.empty() ? "" : ",") + t;
    if (!pref.empty()) libssh2_session_method_pref(session_, LIBSSH2_METHOD_HOSTKEY, pref.c_str());
    // libssh2 1.10 has no AES-GCM or chacha20: AES-CTR is its fastest cipher.
    const char* ciphers = "aes128-ctr,aes192-ctr,aes256-ctr";
    libssh2_session_method_pref(session_, LIBSSH2_METHOD_CRYPT_CS, ciphers);
    libssh2_session_method_pref(session_, LIBSSH2_METHOD_CRYPT_SC, ciphers);
    if (libssh2_session_handshake(session_, sock_) != 0) {
      // Through a jump host, why its channel closed says more than libssh2.
      const std::string hop = over_ ? over_->failure() : "";
      const std::string why =
          "SSH handshake with " + endpoint(config_) + " failed: " + (hop.empty() ? last_error() : hop);
      if (!over_ && closed_early(libssh2_session_last_errno(session_))) throw ClosedEarly("connect", why);
      throw NodeError("connect", why);
    }
    verify_host_key();
    authenticate();
    // No libssh2 keepalive: _libssh2_wait_socket() sends one from inside any
    // blocking call once an interval is set, and that fails a channel write
    // caught half-sent ("Unable to send keepalive message"). TCP keepalive
    // and TCP_USER_TIMEOUT find dead peers; the relay's progress ticks find
    // silent ones.
  } catch (...) {
    if (session_) libssh2_session_free(session_);
    session_ = nullptr;
    throw;
  }
}

// Hop by hop, as `ssh -J` does: a session with the first jump host over
// TCP, then each next host's session over a direct-tcpip channel of the one
// before, each host key checked as that host's own. Each jump session has
// one channel, carried by its tunnel's thread: no session is shared between
// threads, and so no node waits on another's traffic (the cost: one login
// per jump host per session through it).
void SshSession::connect_via_jumps() {
  for (std::size_t i = 0; i < config_.jumps.size(); ++i) {
    const SshConfig& hop = config_.jumps[i];
    const SshConfig& next = i + 1 < config_.jumps.size() ? config_.jumps[i + 1] : config_;
    try {
      auto session = via_.empty() ? std::make_unique<SshSession>(hop) : std::make_unique<SshSession>(hop, *via_.back());
      via_.push_back(std::make_unique<Tunnel>(std::move(session), next.host, next.port));
    } catch (const NodeError& e) {
      throw NodeError(e.step, "jump host " + hop.name + ": " + e.what());
    }
  }
  over_ = via_.back().get();
  sock_ = via_.back()->open().release();
}

SshSession::~SshSession() {
  set_timeout_ms(2000);
  libssh2_session_disconnect(session_, "treesync done");
  libssh2_session_free(session_);
  ::close(sock_);
  // The first hop's tunnel carries all the others: close from the far end.
  while (!via_.empty()) via_.pop_back();
}

void SshSession::connect_socket() {
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(config_.host.c_str(), std::to_string(config_.port).c_str(), &hints, &found);
  if (rc != 0) throw NodeError("connect", "cannot resolve " + config_.host + ": " + gai_strerror(rc));
  std::string why;
  for (addrinfo* a = found; a && sock_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int ready = poll(&p, 1, config_.connect_timeout_s * 1000);
        socklen_t len = sizeof err;
        if (ready == 0)
          err = ETIMEDOUT;
        else
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err == 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      set_socket_options(fd);
      sock_ = fd;
    } else {
      ::close(fd);
      why = err == ETIMEDOUT ? "timed out after " + std::to_string(config_.connect_timeout_s) +
                                   " s (is the host up? raise --connect-timeout for slow links)"
                             : std::string(std::strerror(err)) +
                                   (err == ECONNREFUSED ? " (is sshd running on the node?)" : "");
    }
  }
  freeaddrinfo(found);
  if (sock_ < 0) throw NodeError("connect", "cannot connect to " + endpoint(config_) + ": " + why);
}

void SshSession::verify_host_key() {
  std::size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session_, &len, &type);
  if (!key) throw NodeError("host key", "the server sent no host key");
  const std::string shown = std::string(hostkey_type_name(type)) + " key " + fingerprint(session_);

  // The verdict is ours (OpenSSH's matching); libssh2's check compares names
  // with strcmp and ignores @revoked. Read, judged and (accept-new) recorded
  // under one lock: sessions racing to a new host record the first key they
  // saw, and the others are judged against it (another key: changed).
  std::lock_guard<std::mutex> lock(g_known_hosts);
  const HostKeyCheck check = check_host_key_files(known_hosts_files(config_), config_.host, config_.port,
                                                  hostkey_type_name(type), std::string(key, len));
  const std::string at = check.file + " (line " + std::to_string(check.line) + ")";

  std::string error;
  switch (check.verdict) {
    case HostKeyVerdict::Match: break;
    case HostKeyVerdict::Revoked:
      error = "the " + shown + " offered by " + endpoint(config_) + " is @revoked in " + at +
              "; it is refused whatever other lines say. Give the host a new key and record that one";
      break;
    case HostKeyVerdict::Changed:
      error = "REMOTE HOST IDENTIFICATION HAS CHANGED for " + endpoint(config_) + ": it offers the " + shown +
              ", which does not match " + at +
              ". Someone could be intercepting the connection, or the host was reinstalled; if you know it was, "
              "remove the old key: ssh-keygen -R " + config_.host + " -f " + check.file;
      break;
    case HostKeyVerdict::CertAuthority:
      error = "host " + endpoint(config_) + " is covered by a @cert-authority line in " + at +
              ", and treesync does not support host certificates; record the host's own key (ssh-keyscan -t " +
              hostkey_type_name(type) + " " + config_.host + " >> " + config_.known_hosts + ")";
      break;
    case HostKeyVerdict::NotFound:
      if (!config_.accept_new_host_keys)
        error = "host " + endpoint(config_) + " is not in " + config_.known_hosts + " (it offers the " + shown +
                "); check the fingerprint and add it (ssh-keyscan -t " + hostkey_type_name(type) + " " +
                config_.host + " >> " + config_.known_hosts + ") or pass --accept-new-host-keys";
      else
        error = record_host_key(key, len, type, shown);
      break;
  }
  if (!error.empty()) throw NodeError("host key", error);
}

// Appends the offered key to known_hosts (--accept-new-host-keys, unknown
// host only); libssh2 writes the line. Returns an error, or "". The caller
// holds g_known_hosts.
std::string SshSession::record_host_key(const char* key, std::size_t len, int type, const std::string& shown) {
  LIBSSH2_KNOWNHOSTS* kh = libssh2_knownhost_init(session_);
  int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_key_bit(type);
  std::string name = config_.port == 22 ? config_.host : "[" + config_.host + "]:" + std::to_string(config_.port);
  libssh2_knownhost* added = nullptr;
  char line[8192];
  std::size_t line_len = 0;
  std::string error;
  if (kh && libssh2_knownhost_addc(kh, name.c_str(), nullptr, key, len, nullptr, 0, mask, &added) == 0 &&
      libssh2_knownhost_writeline(kh, added, line, sizeof line, &line_len, LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
    std::ofstream out(config_.known_hosts, std::ios::app);
    out.write(line, static_cast<std::streamsize>(line_len));
    if (!out) error = "cannot record the host key of " + endpoint(config_) + " in " + config_.known_hosts;
    else spdlog::warn("permanently added {} ({}) to {}", endpoint(config_), shown, config_.known_hosts);
  } else {
    error = "cannot record the host key of " + endpoint(config_);
  }
  if (kh) libssh2_knownhost_free(kh);
  return error;
}

void SshSession::authenticate() {
  const std::string& user = config_.user;
  auto user_len = static_cast<unsigned int>(user.size());
  const char* methods = libssh2_userauth_list(session_, user.c_str(), user_len);
  if (!methods) {
    if (libssh2_userauth_authenticated(session_)) return;
    throw NodeError("auth", "the server closed the connection before authentication: " + last_error());
  }
  if (!std::strstr(methods, "publickey"))
    throw NodeError("auth", "the server does not accept public keys for " + user + " (it offers: " + methods + ")");

  std::vector<std::string> files;
  if (!config_.identity.empty()) {
    files.push_back(config_.identity);
  } else {
    for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
      std::string f = home_dir() + "/.ssh/" + name;
      if (::access(f.c_str(), R_OK) == 0) files.push_back(f);
    }
  }
  // With IdentitiesOnly, as OpenSSH: of the agent's keys only those whose
  // public half is an identity file's (its .pub), so a passphrase-protected
  // file still works through the agent.
  std::set<std::string> only;
  if (config_.identities_only)
    for (const auto& f : files)
      if (auto blob = public_key_blob(f + ".pub")) only.insert(*blob);

  std::vector<std::string> tried, types;
  if (const char* sock = std::getenv("SSH_AUTH_SOCK"); sock && *sock && (!config_.identities_only || !only.empty())) {
    LIBSSH2_AGENT* agent = libssh2_agent_init(session_);
    if (agent && libssh2_agent_connect(agent) == 0 && libssh2_agent_list_identities(agent) == 0) {
      libssh2_agent_publickey *id = nullptr, *prev = nullptr;
      while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
        prev = id;
        if (config_.identities_only && !only.count(std::string(reinterpret_cast<const char*>(id->blob), id->blob_len)))
          continue;
        tried.push_back(std::string("agent key ") + (id->comment ? id->comment : ""));
        types.push_back(agent_key_type(id));
        if (libssh2_agent_userauth(agent, user.c_str(), id) == 0) break;
      }
      libssh2_agent_disconnect(agent);
    }
    if (agent) libssh2_agent_free(agent);
    if (libssh2_userauth_authenticated(session_)) return;
  }

  const char* passphrase = std::getenv("TREESYNC_KEY_PASSPHRASE");
  std::string unusable;
  for (const auto& f : files) {
    int rc = libssh2_userauth_publickey_fromfile_ex(session_, user.c_str(), user_len, nullptr, f.c_str(), passphrase);
    if (rc == 0) return;
    if (rc == LIBSSH2_ERROR_FILE) {
      unusable += " " + f + " cannot be read or is encrypted (use ssh-agent or TREESYNC_KEY_PASSPHRASE);";
      continue;
    }
    tried.push_back(f);
    types.push_back(key_file_type(f));
  }

  if (tried.empty())
    throw NodeError("auth", "no usable SSH key for " + user + "@" + config_.host + ":" + unusable +
                                " (start ssh-agent, or set identity: in the inventory)");
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  bool all_rsa = std::all_of(types.begin(), types.end(), [](const std::string& t) { return t == "ssh-rsa"; });
  if (all_rsa)
    throw NodeError("auth", "the server refused the RSA key(s) " + list +
                                ": libssh2 1.10 signs only with ssh-rsa (SHA-1), which OpenSSH 8.8+ refuses; use an "
                                "ed25519 key (ssh-keygen -t ed25519) or allow it on the node "
                                "(PubkeyAcceptedAlgorithms +ssh-rsa)");
  throw NodeError("auth", "the server refused every key for " + user + " (" + list +
                              (config_.identities_only ? "; IdentitiesOnly: no other agent key tried" : "") +
                              "); is the public key in ~" + user + "/.ssh/authorized_keys on the node?");
}

std::unique_ptr<SshChannel> SshSession::exec(const std::string& command) {
  LIBSSH2_CHANNEL* ch = libssh2_channel_open_session(session_);
  if (!ch) throw NodeError("ssh", "cannot open a channel: " + last_error());
  if (libssh2_channel_exec(ch, command.c_str()) != 0) {
    std::string why = last_error();
    libssh2_channel_free(ch);
    throw NodeError("ssh", "cannot start a command: " + why);
  }
  return std::make_unique<SshChannel>(*this, ch);
}

void SshSession::set_timeout_ms(long ms) { libssh2_session_set_timeout(session_, ms); }

std::string SshSession::last_error() const {
  char* msg = nullptr;
  int len = 0;
  libssh2_session_last_error(session_, &msg, &len, 0);
  return msg && len > 0 ? std::string(msg, static_cast<std::size_t>(len)) : "unknown error";
}

SshChannel::~SshChannel() {
  if (!closed_) {
    session_.set_timeout_ms(2000);
    libssh2_channel_close(channel_);
  }
  libssh2_channel_free(channel_);
}

long SshChannel::read(char* buf, std::size_t n) {
  ssize_t got = libssh2_channel_read(channel_, buf, n);
  if (got >= 0) return static_cast<long>(got);
  if (got == LIBSSH2_ERROR_TIMEOUT) return -1;
  throw NodeError("ssh", "connection lost (libssh2 error " + std::to_string(got) + ": " + session_.last_error() + ")");
}

long SshChannel::read_now(char* buf, std::size_t n) {
  libssh2_session_set_blocking(session_.raw(), 0);
  const ssize_t got = libssh2_channel_read(channel_, buf, n);
  libssh2_session_set_blocking(session_.raw(), 1);
  if (got >= 0) return static_cast<long>(got);
  if (got == LIBSSH2_ERROR_EAGAIN) return -1;
  throw NodeError("ssh", "connection lost (libssh2 error " + std::to_string(got) + ": " + session_.last_error() + ")");
}

std::string SshChannel::read_stderr() {
  std::string out;
  libssh2_session_set_blocking(session_.raw(), 0);
  char buf[4096];
  ssize_t n;
  // Bounded: a node that keeps writing to stderr must not fill the source's memory.
  while (out.size() < kMaxNodeOutput && (n = libssh2_channel_read_stderr(channel_, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  libssh2_session_set_blocking(session_.raw(), 1);
  return out;
}

void SshChannel::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = libssh2_channel_write(channel_, bytes.data(), bytes.size());
    if (n == LIBSSH2_ERROR_TIMEOUT) throw NodeError("send", "the node stopped accepting data (timed out)", true);
    if (n < 0)
      throw NodeError("send", "connection lost (libssh2 error " + std::to_string(n) + ": " + session_.last_error() + ")",
                      true);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void SshChannel::send_eof() { libssh2_channel_send_eof(channel_); }

bool SshChannel::eof() { return libssh2_channel_eof(channel_) != 0; }

int SshChannel::close() {
  if (closed_) return libssh2_channel_get_exit_status(channel_);
  closed_ = true;
  libssh2_channel_close(channel_);
  libssh2_channel_wait_closed(channel_);
  return libssh2_channel_get_exit_status(channel_);
}

std::string SshChannel::exit_reason(int status) {
  char* signal = nullptr;
  size_t len = 0;
  if (libssh2_channel_get_exit_signal(channel_, &signal, &len, nullptr, nullptr, nullptr, nullptr) == 0 && signal) {
    std::string name(signal, len);
    libssh2_free(session_.raw(), signal);
    return "killed by signal " + name;
  }
  return "status " + std::to_string(status);
}

int ssh_run(SshSession& session, const std::string& command, std::string_view input, std::string* out,
            std::string* err) {
  auto ch = session.exec(command);
  if (!input.empty()) ch->write_all(input);
  ch->send_eof();
  char buf[16384];
  for (;;) {
    long n = ch->read(buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) throw NodeError("ssh", "command timed out: " + command.substr(0, command.find(' ')));
    if (!out) continue;
    // Every command we run prints a few lines: more is a node that lies, not output to keep.
    if (out->size() + static_cast<std::size_t>(n) > kMaxNodeOutput)
      throw NodeError("ssh", "the node printed more than " + std::to_string(kMaxNodeOutput >> 10) +
                                 " KiB for: " + command.substr(0, command.find(' ')));
    out->append(buf, static_cast<std::size_t>(n));
  }
  std::string e = ch->read_stderr();
  if (err) *err = e;
  return ch->close();
}

}  // namespace treesync
