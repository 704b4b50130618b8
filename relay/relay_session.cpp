#include "relay/relay_session.h"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "relay/docker_cli.h"

namespace relay {

RelaySession::RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir,
                           const std::atomic<bool>& stop)
    : in_fd_(in_fd), out_fd_(out_fd), workdir_(std::move(workdir)), spool_dir_(std::move(spool_dir)), stop_(stop) {}

RelaySession::~RelaySession() = default;

void RelaySession::run() {
  send({{"type", "hello"}, {"pid", ::getpid()}});
  wire::FrameReader reader;
  std::string buf(1 << 16, '\0');
  while (!stop_) {
    ssize_t n = ::read(in_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the control channel closed: we are done
    reader.feed(buf.data(), static_cast<std::size_t>(n));
    while (auto frame = reader.next()) {
      if (frame->kind == wire::Kind::Data)
        handle_chunk(*frame);
      else
        handle_message(frame->json());
    }
  }
}

void RelaySession::handle_message(const wire::Json& msg) {
  std::string type = msg.value("type", "");
  try {
    if (type == "probe") {
      send(probe_docker(msg.at("images").get<std::vector<std::string>>(), spool_dir_));
    } else if (type == "receive") {
      receiver_.reset();
      discarding_ = false;
      receiver_ = std::make_unique<Receiver>(workdir_, msg.at("size").get<std::uint64_t>());
      if (receiver_->complete()) handle_chunk(wire::Frame{wire::Kind::Data, "", 0, wire::chunk_hash("")});
    } else if (type == "tag") {
      std::string id = msg.at("id");
      for (const auto& ref : msg.at("refs")) tag_image(id, ref.get<std::string>());
      send({{"type", "tagged"}, {"id", id}});
    } else {
      send_error("protocol", "unknown message type '" + type + "'");
    }
  } catch (const std::exception& e) {
    send_error(type.empty() ? "protocol" : type, e.what());
  }
}

void RelaySession::handle_chunk(const wire::Frame& frame) {
  if (discarding_) return;
  if (!receiver_) {
    send_error("receive", "data arrived before a receive request");
    discarding_ = true;
    return;
  }
  try {
    if (!frame.body.empty()) receiver_->accept(frame);
  } catch (const std::exception& e) {
    send_error("receive", e.what());
    receiver_.reset();  // kills docker load and removes the spool
    discarding_ = true;
    return;
  }
  if (!receiver_->complete()) return;
  LoadResult r = receiver_->finish();
  std::uint64_t received = receiver_->received();
  receiver_.reset();
  if (r.ok)
    send({{"type", "loaded"}, {"ids", r.ids}, {"received", received}});
  else
    send_error("load", r.error);
}

void RelaySession::send(const wire::Json& msg) {
  std::string bytes = wire::encode_message(msg);
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(out_fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("control channel closed");
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void RelaySession::send_error(const std::string& step, const std::string& message) {
  send({{"type", "error"}, {"step", step}, {"message", message}});
}

}  // namespace relay
