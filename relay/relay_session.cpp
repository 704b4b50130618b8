#include "relay/relay_session.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "src/wire/edge_auth.h"
#include "src/wire/net.h"

namespace relay {
namespace {

constexpr auto kTickEvery = std::chrono::seconds(1);
// A port scanned or flooded must not flood the source in turn.
constexpr auto kReportEvery = std::chrono::seconds(1);
// A parent whose chunks fail their XXH3 this often is not having bad luck.
constexpr int kMaxCorruptChunks = 16;

// How long a load may take once its input is all here: a runtime that
// hangs must not hold a node (and the run) forever, and a slow disk
// applying a big image must not be cut off (16 MiB/s is a slow one).
std::chrono::seconds load_allowance(std::uint64_t raw_bytes) {
  return std::chrono::seconds(120 + raw_bytes / (16u << 20));
}

// The positions 0..n-1 in order: the child's stream is ours.
bool carries_all(const std::vector<std::size_t>& positions, std::size_t n) {
  if (positions.size() != n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (positions[i] != i) return false;
  return true;
}

}  // namespace

RelaySession::RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir,
                           const std::atomic<bool>& stop)
    : in_fd_(in_fd), out_fd_(out_fd), workdir_(std::move(workdir)), spool_dir_(std::move(spool_dir)), stop_(stop) {}

RelaySession::~RelaySession() { stop_receive(); }

// Order matters: wake every blocked thread (spool readers, sockets), join
// them, and only then let the receiver kill docker load and remove the spool.
void RelaySession::stop_receive() {
  closing_ = true;
  {
    std::lock_guard<std::mutex> lock(tick_mu_);
    ticking_ = false;
  }
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (receiver_) receiver_->cancel();
  for (auto& s : senders_) s->cancel();
  if (listener_) listener_->close();  // joins serve_parent, so parent_ is gone
  if (loader_.joinable()) loader_.join();
  senders_.clear();
  receiver_.reset();  // joins the feeder, whose bad_part() may still use the listener
  listener_.reset();
}

void RelaySession::run() {
  send(wire::Hello{::getpid()});
  wire::FrameReader reader;
  std::string buf(1 << 16, '\0');
  while (!stop_) {
    ssize_t n = ::read(in_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the control channel closed: we are done
    reader.feed(buf.data(), static_cast<std::size_t>(n));
    try {
      while (auto frame = reader.next()) {
        if (frame->kind != wire::Kind::Message) throw wire::Error("data on the control channel");
        handle(frame->json());
      }
    } catch (const wire::Error& e) {  // the stream is out of step: nothing after this can be trusted
      send_error("protocol", e.what());
      return;
    }
  }
}

void RelaySession::handle(const wire::Json& msg) {
  const std::string type = wire::type_of(msg);
  try {
    if (type == wire::ProbeRequest::kType) {
      auto req = wire::from_message<wire::ProbeRequest>(msg);
      if (!runtime_) runtime_ = runtime::open_runtime(req);
      wire::ProbeReply reply = runtime_->probe(req.images, req.layers);
      reply.sudo = runtime_->sudo();
      reply.spool_free = runtime::free_bytes(spool_dir_);
      reply.spool_on_root = runtime::same_filesystem(spool_dir_, reply.root_dir.empty() ? "/" : reply.root_dir);
      send(reply);
    } else if (type == wire::FilesProbe::kType) {
      // No runtime: the files payload goes where the operator said.
      auto req = wire::from_message<wire::FilesProbe>(msg);
      send(probe_dest(req, spool_dir_));
      files_ = std::make_unique<wire::FilesProbe>(std::move(req));
    } else if (type == wire::ReceiveRequest::kType) {
      start_receive(wire::from_message<wire::ReceiveRequest>(msg));
    } else if (type == wire::ExpectParent::kType) {
      expect_parent(wire::from_message<wire::ExpectParent>(msg));
    } else if (type == wire::ForwardRequest::kType) {
      start_forwarding(wire::from_message<wire::ForwardRequest>(msg));
    } else if (type == wire::ShareRelay::kType) {
      start_sharing(wire::from_message<wire::ShareRelay>(msg));
    } else if (type == wire::TagRequest::kType) {
      auto req = wire::from_message<wire::TagRequest>(msg);
      if (!runtime_) throw std::runtime_error("tag before probe");
      runtime_->tag(req.id, req.refs, req.pin);
      runtime_->untag(req.id, req.untag);
      send(wire::Tagged{req.id});
    } else {
      send_error("protocol", "unknown message type '" + type + "'");
    }
  } catch (const std::exception& e) {
    send_error(type.empty() ? "protocol" : type, e.what());
  }
}

void RelaySession::start_receive(const wire::ReceiveRequest& req) {
  stop_receive();
  closing_ = false;
  received_ = false;
  wire_bytes_ = 0;
  parts_ = req.parts;
  load_deadline_.reset();
  raw_bytes_ = 0;
  for (std::size_t i : req.load) raw_bytes_ += i < req.parts.size() ? req.parts[i].raw : 0;
  receiver_ = std::make_unique<Receiver>(workdir_, req, runtime_.get(),
                                         [this](std::size_t i, std::uint64_t at) { return bad_part(i, at); },
                                         files_ ? std::make_unique<FileSink>(*files_) : nullptr);
  std::vector<std::string> keys;
  parent_is_source_.clear();
  for (const auto& p : req.parents) {
    keys.push_back(p.key);
    parent_is_source_.push_back(p.source);
  }
  relay_fed_.assign(keys.size(), false);
  parents_.assign(keys.size(), nullptr);
  parent_peers_.assign(keys.size(), "");
  listener_ = std::make_unique<Listener>(
      req.listen, keys,
      [this](int stripe) {
        std::lock_guard<std::mutex> lock(rx_mu_);
        return receiver_->spool().stripe(stripe).written();
      },
      [this](wire::Socket& s, const std::string& peer, wire::FrameReader& in, std::uint64_t accepted,
             const std::string& key, int stripe) { serve_parent(s, peer, in, accepted, key, stripe); },
      [this](const std::string& peer, const std::string& reason) { refused(peer, reason); });
  start_ticker();
  send(wire::Listening{listener_->port()});
  std::lock_guard<std::mutex> lock(rx_mu_);
  if (receiver_->complete()) finish_receive();  // an empty stream
}

// The source moved one of our stripes to another parent: the key changes,
// and whoever feeds that stripe now (the old parent) is cut off.
void RelaySession::expect_parent(const wire::ExpectParent& req) {
  if (!listener_) throw std::runtime_error("expect_parent before receive");
  if (req.stripe < 0 || static_cast<std::size_t>(req.stripe) >= parents_.size())
    throw std::runtime_error("no stripe " + std::to_string(req.stripe) + " in this stream");
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    listener_->expect(req.stripe, req.key);
    parent_is_source_[static_cast<std::size_t>(req.stripe)] = req.source;
    drop_parent(req.stripe);
  }
  send(wire::ParentExpected{req.stripe, req.key});
}

void RelaySession::start_forwarding(const wire::ForwardRequest& req) {
  if (!receiver_) throw std::runtime_error("forward before receive");
  StripedSpool& striped = receiver_->spool();
  // Every child is checked before any sender starts or any spool waits for
  // it: a request refused halfway would leave edges running that the
  // source never heard of, or a reader nobody removes.
  // A child that lacks less than we do gets only the parts its subtree
  // needs, in our stream's order; a stripe is cut from the whole stream, so
  // only an unstriped stream can be thinned.
  std::vector<std::shared_ptr<const wire::PartView>> views;  // per child: its parts, or null for all of ours
  for (const auto& child : req.children) {
    if (child.stripe < 0 || child.stripe >= striped.stripes())
      throw std::runtime_error("child " + child.name + ": no stripe " + std::to_string(child.stripe) + " in this stream");
    views.emplace_back();
    if (carries_all(child.parts, receiver_->parts().size())) continue;
    if (striped.stripes() > 1)
      throw std::runtime_error("child " + child.name + ": a striped stream goes to children whole");
    views.back() = std::make_shared<const wire::PartView>(receiver_->parts(), child.parts);
  }
  if (req.limit && !limiter_) limiter_ = std::make_shared<wire::RateLimiter>(req.limit);
  if (!req.limit && req.pace && !pace_) pace_ = std::make_shared<wire::Pace>();
  for (std::size_t i = 0; i < req.children.size(); ++i) {
    const wire::ChildEdge& child = req.children[i];
    Spool& spool = striped.stripe(child.stripe);
    auto behind = std::make_shared<std::atomic<bool>>(false);
    // Under an upload cap our own bucket may be what keeps a child behind:
    // giving it up would only move it to the source; it is waited for.
    const Spool::ReaderId id = spool.add_reader(req.limit == 0);
    wire::ByteReader reader = [&spool, id, behind](std::uint64_t offset, char* buf, std::size_t n) {
      try {
        return spool.read(offset, buf, n, id);
      } catch (const Evicted&) {
        *behind = true;
        throw;
      }
    };
    const std::uint64_t size = views[i] ? views[i]->size() : spool.size();
    if (views[i]) reader = wire::view_reader(views[i], reader);
    auto done = [this, &spool, id, behind, stripe = child.stripe](const wire::Sender& s) {
      spool.remove_reader(id);
      if (closing_) return;
      if (s.ok())
        send(wire::Forwarded{s.target().name, stripe, s.sent()});
      else
        send(wire::ChildFailed{s.target().name, stripe, s.error(), *behind});
    };
    senders_.push_back(std::make_unique<wire::Sender>(wire::Target{child.name, child.address, child.port}, child.key,
                                                      size, reader, done));
    if (limiter_)
      senders_.back()->limit(limiter_);
    else
      senders_.back()->pace(pace_);
    senders_.back()->start();
  }
  send(wire::Forwarding{senders_.size()});
}

// A newer authenticated parent of a stripe replaces its current one; either
// resumes where the stripe's spool ends.
void RelaySession::serve_parent(wire::Socket& sock, const std::string& peer, wire::FrameReader& in,
                                std::uint64_t accepted, const std::string& key, int stripe) {
  const auto s = static_cast<std::size_t>(stripe);
  // Whatever ends this connection, parents_[s] must not outlive it: the
  // listener frees the socket once we return.
  struct Release {
    RelaySession& session;
    wire::Socket& sock;
    std::size_t s;
    ~Release() {
      std::lock_guard<std::mutex> lock(session.rx_mu_);
      if (session.parents_[s] == &sock) session.parents_[s] = nullptr;
    }
  } release{*this, sock, s};
  Spool& spool = receiver_->spool().stripe(stripe);
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    // The source may have named another parent since this one's handshake.
    if (listener_->key(stripe) != key) return refused(peer, "its edge was replaced during its handshake");
    drop_parent(stripe);
    parents_[s] = &sock;
    parent_peers_[s] = peer;
    if (spool.written() == spool.size()) return;  // a new parent after we got the stripe
    // The old parent may have added chunks since the handshake: its chunks
    // need not line up with the new one's, so say where we really are.
    if (spool.written() != accepted && !sock.try_write(wire::encode(wire::Resume{spool.written()}))) return;
  }
  bool closed = false;
  int corrupt = 0;
  while (!closing_ && !closed) {
    // A full window (the load, or a child, is behind on this stripe): leave
    // the parent's bytes in the socket, so TCP slows it down. A parent
    // replaced meanwhile ends here, not once the window opens: else every
    // reconnect while the load waits for another stripe kept a thread.
    if (!spool.wait_for_room(static_cast<std::size_t>(std::min<std::uint64_t>(wire::kChunkSize, spool.size() - spool.written())), 1000)) {
      std::lock_guard<std::mutex> lock(rx_mu_);
      if (parents_[s] != &sock) return;
      continue;
    }
    auto frame = sock.read_frame(in, 1000, &closed);
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (parents_[s] != &sock) return;  // replaced, or cut off after a bad part
    if (!frame) continue;
    if (frame->kind != wire::Kind::Data) continue;  // the sender has nothing to tell us
    wire_bytes_ += frame->body.size();
    if (frame->offset != spool.written()) continue;  // stale after a resume
    // A chunk past the stripe's end is the parent's lie, like one that fails
    // its XXH3: asked again, and the parent given up on if it persists (as
    // an error it failed the whole node).
    if (!frame->intact() || frame->body.size() > spool.size() - spool.written()) {
      if (++corrupt > kMaxCorruptChunks) return give_up_on_parents("", peer, receiver_->received());
      report_corrupt(frame->offset, peer);
      // Never block here (we hold rx_mu_): a parent that does not read is dropped.
      if (!sock.try_write(wire::encode(wire::Resume{spool.written()}))) return drop_parent(stripe);
      continue;
    }
    try {
      receiver_->accept(stripe, *frame);
    } catch (const FeedFailed& e) {
      send_error(e.step, e.what());
      return drop_parent(stripe);
    } catch (const std::exception& e) {
      send_error("receive", e.what());
      return drop_parent(stripe);
    }
    if (!parent_is_source_[s]) relay_fed_[s] = true;
    if (spool.written() == spool.size()) {
      drop_parent(stripe);  // the close tells the parent we hold every byte of the stripe
      if (receiver_->complete()) finish_receive();
      return;
    }
  }
}

void RelaySession::drop_parent(int stripe) {
  auto& parent = parents_[static_cast<std::size_t>(stripe)];
  if (parent) parent->shutdown();
  parent = nullptr;
}

// Nothing more from these parents: their keys stop working at once (they
// cannot come back before the source has named others), and the source is
// told.
void RelaySession::give_up_on_parents(const std::string& part, const std::string& peer, std::uint64_t resume_at) {
  for (std::size_t s = 0; s < parents_.size(); ++s) {
    listener_->expect(static_cast<int>(s), "");
    drop_parent(static_cast<int>(s));
  }
  if (!closing_) send(wire::BadPart{part, peer, resume_at});
}

bool RelaySession::bad_part(std::size_t index, std::uint64_t start) {
  std::lock_guard<std::mutex> lock(rx_mu_);
  const bool from_source = std::none_of(relay_fed_.begin(), relay_fed_.end(), [](bool b) { return b; });
  std::string peers;
  for (const auto& p : parent_peers_)
    if (!p.empty() && peers.find(p) == std::string::npos) peers += (peers.empty() ? "" : ",") + p;
  // Between the feeder's rewind and this lock the old parents could still
  // append at the rewound offsets, and a new parent would resume after
  // their bytes: forget them again, while no parent can append.
  receiver_->rewind(start);
  relay_fed_.assign(relay_fed_.size(), false);
  give_up_on_parents(parts_[index].digest, peers, start);
  return from_source;
}

void RelaySession::start_sharing(const wire::ShareRelay& req) {
  if (req.secret.size() < 2 * wire::kEdgeKeyBytes) throw std::runtime_error("the share secret is too short");
  // What this process runs is what it lends: its hash was checked at start.
  std::ifstream in("/proc/self/exe", std::ios::binary);
  std::string binary((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.is_open() || binary.empty()) throw std::runtime_error("cannot read /proc/self/exe");
  share_.reset();
  share_ = std::make_unique<RelayShare>(req.listen, req.secret, std::move(binary),
                                        [this](const std::string& peer, const std::string& why) { refused(peer, why); });
  send(wire::Sharing{share_->port()});
}

void RelaySession::report_corrupt(std::uint64_t offset, const std::string& peer) {
  auto now = std::chrono::steady_clock::now();
  if (now - corrupt_reported_ < kReportEvery) return;
  corrupt_reported_ = now;
  send(wire::Corrupt{offset, peer});
}

void RelaySession::refused(const std::string& peer, const std::string& reason) {
  std::lock_guard<std::mutex> lock(refused_mu_);
  ++refused_count_;
  refused_peer_ = peer;
  refused_reason_ = reason;
  auto now = std::chrono::steady_clock::now();
  if (now - refused_reported_ >= kReportEvery) report_refused(now);  // else the ticker will
}

// Rate-limited, stderr included: the source reads the relay's stderr only
// at the end, and a flood must not pile up there either.
void RelaySession::report_refused(std::chrono::steady_clock::time_point now) {
  std::fprintf(stderr, "treesync-relay: refused %llu connection(s), the latest from %s: %s\n",
               static_cast<unsigned long long>(refused_count_), refused_peer_.c_str(), refused_reason_.c_str());
  refused_reported_ = now;
  refused_reported_count_ = refused_count_;
  send(wire::Refused{refused_peer_, refused_reason_, refused_count_});
}

void RelaySession::finish_receive() {
  if (received_) return;
  received_ = true;
  Receiver* r = receiver_.get();
  {
    std::lock_guard<std::mutex> lock(tick_mu_);
    load_deadline_ = std::chrono::steady_clock::now() + load_allowance(raw_bytes_);
  }
  send(wire::Received{r->received()});
  loader_ = std::thread([this, r] {
    LoadResult result = r->finish();
    {
      std::lock_guard<std::mutex> lock(tick_mu_);
      loading_ = false;
    }
    if (closing_) return;
    if (result.ok)
      send(wire::Loaded{result.ids, r->received(), wire_bytes_.load()});
    else
      send_error(result.step, result.error);
  });
}

void RelaySession::start_ticker() {
  ticking_ = loading_ = true;
  ticker_ = std::thread([this, r = receiver_.get()] {
    std::unique_lock<std::mutex> lock(tick_mu_);
    while (!tick_cv_.wait_for(lock, kTickEvery, [this] { return !ticking_; })) {
      if (loading_) send(wire::Progress{r->received(), r->complete(), r->spool().written_per_stripe()});
      if (loading_ && load_deadline_ && std::chrono::steady_clock::now() > *load_deadline_) {
        load_deadline_.reset();
        r->expire_load("the load did not end " + std::to_string(load_allowance(raw_bytes_).count()) +
                       " s after the node held every byte; it was killed (a runtime can hang on a load after an "
                       "interrupted one, e.g. Docker, moby#51623: restart it and run treesync again)");
      }
      // The tail of a burst of refusals, which the rate limit held back.
      std::lock_guard<std::mutex> refused_lock(refused_mu_);
      auto now = std::chrono::steady_clock::now();
      if (refused_count_ > refused_reported_count_ && now - refused_reported_ >= kReportEvery)
        report_refused(now);
    }
  });
}

template <typename M>
void RelaySession::send(const M& msg) {
  std::string bytes = wire::encode(msg);
  std::lock_guard<std::mutex> lock(out_mu_);
  wire::write_fully(out_fd_, bytes.data(), bytes.size());
}

void RelaySession::send_error(const std::string& step, const std::string& message) {
  send(wire::ErrorReply{step, message});
}

}  // namespace relay
