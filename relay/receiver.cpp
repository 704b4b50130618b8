#include "relay/receiver.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "src/runtime/docker.h"
#include "src/wire/tar.h"
#include "src/wire/zstd_decoder.h"

namespace relay {

Receiver::Receiver(const std::string& workdir, std::vector<wire::Part> parts, std::vector<std::size_t> load)
    : parts_(std::move(parts)), load_parts_(std::move(load)), output_path_(workdir + "/load.out"),
      spool_(workdir + "/archive.spool", wire::total_size(parts_)) {
  for (std::size_t i : load_parts_)
    if (i >= parts_.size()) throw std::runtime_error("load part " + std::to_string(i) + " out of range");
  load_ = std::make_unique<runtime::Child>(runtime::load_command(), output_path_);
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

void Receiver::emit(const char* data, std::size_t n) {
  if (!load_->write_all(data, n)) throw std::runtime_error("docker load closed its input");
}

// The archive docker load reads: each loaded part as a tar member, in
// stream order, so the feeder never waits for bytes it has passed.
void Receiver::feed() {
  try {
    std::vector<std::uint64_t> starts = wire::part_offsets(parts_);
    for (std::size_t i : load_parts_) {
      const wire::Part& p = parts_[i];
      std::size_t slash = p.name.find('/');
      if (slash != std::string::npos) emit(wire::tar_header(p.name.substr(0, slash + 1), 0, true).data(), wire::kTarBlock);
      emit(wire::tar_header(p.name, p.raw).data(), wire::kTarBlock);
      feed_part(p, starts[i]);
      static const char zeros[wire::kTarBlock] = {};
      emit(zeros, wire::tar_padding(p.raw));
    }
    std::string end = wire::tar_trailer();
    emit(end.data(), end.size());
  } catch (const std::exception& e) {
    feed_error_ = e.what();
    feed_failed_ = true;
  }
  load_->close_stdin();
}

void Receiver::feed_part(const wire::Part& p, std::uint64_t offset) {
  std::string in(wire::kChunkSize, '\0');
  const std::uint64_t end = offset + p.size;
  std::optional<wire::ZstdDecoder> decoder;
  if (p.codec == wire::Codec::Zstd) decoder.emplace(p.name, p.raw);
  while (offset < end) {
    std::size_t n = spool_.read(offset, in.data(), static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), end - offset)));
    offset += n;
    if (decoder)
      decoder->feed(in.data(), n, [this](const char* data, std::size_t len) { emit(data, len); });
    else
      emit(in.data(), n);
  }
  if (decoder) decoder->finish();
}

LoadResult Receiver::finish() {
  if (feeder_.joinable()) feeder_.join();
  int status = load_->wait();
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  LoadResult r;
  r.ids = runtime::parse_loaded_ids(text.str());
  if (status != 0) {
    runtime::ProcessResult shown{status, text.str(), ""};
    r.error = "docker load failed: " + shown.last_line();
  } else if (feed_failed_) {
    r.error = feed_error_;
  } else {
    r.ok = true;
  }
  return r;
}

}  // namespace relay
