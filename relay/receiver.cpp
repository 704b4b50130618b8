#include "relay/receiver.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "relay/docker_cli.h"

namespace relay {

Receiver::Receiver(const std::string& workdir, std::uint64_t size)
    : output_path_(workdir + "/load.out"), spool_(workdir + "/archive.spool", size) {
  load_ = std::make_unique<wire::Child>(load_command(), output_path_);
  feeder_ = std::thread([this] { feed(); });
}

Receiver::~Receiver() {
  cancel();
  if (feeder_.joinable()) feeder_.join();
}

void Receiver::cancel() {
  spool_.abort("receive cancelled");
  if (load_) load_->kill();
}

void Receiver::accept(const wire::Frame& chunk) {
  if (chunk.offset != spool_.written())
    throw std::runtime_error("chunk at offset " + std::to_string(chunk.offset) + ", expected " +
                             std::to_string(spool_.written()));
  if (!chunk.intact())
    throw std::runtime_error("chunk at offset " + std::to_string(chunk.offset) + " failed its XXH3 check");
  if (feed_failed_) throw std::runtime_error("docker load stopped early: " + feed_error_);
  spool_.append(chunk.body);
}

void Receiver::feed() {
  std::string buf(wire::kChunkSize, '\0');
  std::uint64_t offset = 0;
  try {
    while (offset < spool_.size()) {
      std::size_t n = spool_.read(offset, buf.data(), buf.size());
      if (!load_->write_all(buf.data(), n)) throw std::runtime_error("docker load closed its input");
      offset += n;
    }
  } catch (const std::exception& e) {
    feed_error_ = e.what();
    feed_failed_ = true;
  }
  load_->close_stdin();
}

LoadResult Receiver::finish() {
  if (feeder_.joinable()) feeder_.join();
  int status = load_->wait();
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  LoadResult r;
  r.ids = parse_loaded_ids(text.str());
  if (status != 0) {
    wire::ProcessResult shown{status, text.str(), ""};
    r.error = "docker load failed: " + shown.last_line();
  } else if (feed_failed_) {
    r.error = feed_error_;
  } else {
    r.ok = true;
  }
  return r;
}

}  // namespace relay
