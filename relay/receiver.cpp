#include "relay/receiver.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "src/runtime/runtime_cli.h"
#include "src/wire/digest.h"
#include "src/wire/tar.h"
#include "src/wire/zstd_decoder.h"

namespace relay {
namespace {

// Bytes of each part kept from docker load until the part is verified.
constexpr std::size_t kHeldBack = 4096;

struct BadDigest {
  std::size_t index;
  std::string got;
};

wire::StripeMap stripe_map(const wire::ReceiveRequest& plan) {
  if (plan.parents.empty() || plan.parents.size() > static_cast<std::size_t>(wire::kMaxStripes))
    throw wire::Error("a stream needs 1 to " + std::to_string(wire::kMaxStripes) + " stripe parents, not " +
                      std::to_string(plan.parents.size()));
  return wire::StripeMap(wire::total_size(plan.parts), static_cast<int>(plan.parents.size()));
}

}  // namespace

Receiver::Receiver(const std::string& workdir, wire::ReceiveRequest plan, runtime::Runtime* runtime,
                   OnBadPart on_bad_part, std::unique_ptr<FileSink> files)
    : plan_(std::move(plan)), runtime_(runtime), starts_(wire::part_offsets(plan_.parts)), on_bad_part_(std::move(on_bad_part)),
      output_path_(workdir + "/load.out"), spool_(workdir + "/archive.spool", stripe_map(plan_), plan_.window),
      files_(std::move(files)) {
  for (std::size_t i : plan_.load)
    if (i >= plan_.parts.size()) throw wire::Error("load position " + std::to_string(i) + " out of range");
  for (const auto& img : plan_.images) {
    bool found = std::any_of(plan_.load.begin(), plan_.load.end(), [&](std::size_t i) {
      return plan_.parts[i].kind == wire::PartKind::Config && plan_.parts[i].digest == img.config;
    });
    if (!wire::is_digest(img.config) || !found) throw wire::Error("image " + img.config + ": its config is not loaded");
    for (const auto& d : img.layers)
      if (!wire::is_digest(d)) throw wire::Error("image " + img.config + ": malformed layer digest '" + d + "'");
  }
  if (files_) {
    for (std::size_t i : plan_.load)
      if (plan_.parts[i].kind != wire::PartKind::File) throw wire::Error("a files receive loads part " + plan_.parts[i].digest);
    if (!plan_.images.empty()) throw wire::Error("a files receive names images");
  }
  if (plan_.images.empty() && !files_) return;
  if (!runtime_ && !files_) throw std::runtime_error("receive before probe: no runtime to load with");
  if (!files_) layout_ = std::make_unique<ArchiveLayout>(runtime_->format(), plan_.images);
  load_reader_ = spool_.add_reader();
  feeder_ = std::thread([this] { feed(); });
}

// A load killed before finish() saw it end (the run was cancelled) leaves
// what a killed load leaves.
Receiver::~Receiver() {
  cancel();
  if (feeder_.joinable()) feeder_.join();
  if (load_ && !finished_) discard_quietly();
}

void Receiver::discard_quietly() {
  try {
    runtime_->discard_failed_load(plan_.images);
  } catch (const std::exception&) {  // the runtime is gone too: nothing of it to clean
  }
}

// The load dies first: once the spool is aborted the feeder stops, and
// docker load must not be alive to take that for the end of its input.
void Receiver::cancel() {
  {
    std::lock_guard<std::mutex> lock(load_mu_);
    cancelled_ = true;
    if (load_) load_->kill();
  }
  spool_.abort("receive cancelled");
}

void Receiver::expire_load(const std::string& why) {
  std::lock_guard<std::mutex> lock(load_mu_);
  expired_ = why;
  if (load_) load_->kill();
}

bool Receiver::start_load() {
  std::lock_guard<std::mutex> lock(load_mu_);
  if (cancelled_ || !expired_.empty()) return false;
  if (files_) return true;
  runtime_->begin_load();
  load_ = std::make_unique<runtime::Child>(runtime_->load_command(), output_path_);
  return true;
}

bool Receiver::accept(int stripe, const wire::Frame& chunk) {
  std::lock_guard<std::mutex> lock(intake_mu_);
  if (feed_failed_) throw FeedFailed(feed_step_, feed_error_);
  Spool& spool = spool_.stripe(stripe);
  if (chunk.offset != spool.written()) return false;
  if (!chunk.intact())
    throw std::runtime_error("chunk at offset " + std::to_string(chunk.offset) + " failed its XXH3 check");
  spool.append(chunk.body);
  return true;
}

void Receiver::rewind(std::uint64_t offset) {
  std::lock_guard<std::mutex> lock(intake_mu_);
  spool_.rewind(offset);
}

void Receiver::emit(const char* data, std::size_t n) {
  if (files_) return files_->write(data, n);
  if (!load_->write_all(data, n)) throw std::runtime_error("docker load closed its input");
}

void Receiver::emit_file(const std::string& name, const std::string& bytes) {
  const bool dir = !name.empty() && name.back() == '/';
  emit(wire::tar_header(name, bytes.size(), dir).data(), wire::kTarBlock);
  emit(bytes.data(), bytes.size());
  static const char zeros[wire::kTarBlock] = {};
  emit(zeros, wire::tar_padding(bytes.size()));
}

// Runs the load until it has every part right, or the source's own copy
// of a part failed too often. On any failure docker load is killed, never
// given the end of its input: a cut archive must not look whole to it.
void Receiver::feed() {
  // Whatever ends the feeder, the spool must not wait for it any more.
  struct Release {
    StripedSpool& spool;
    StripedSpool::ReaderId id;
    ~Release() { spool.remove_reader(id); }
  } release{spool_, load_reader_};
  for (int strikes = 0;;) {
    try {
      if (!start_load()) return;
      feed_once();
      if (load_) load_->close_stdin();
      return;
    } catch (const BadDigest& b) {
      if (files_) {
        files_->discard();
      } else {
        load_->kill();
        discard_quietly();
      }
      const wire::Part& p = plan_.parts[b.index];
      // The next load reads every part again: if the first has left the
      // spool's window, the stream comes again from there.
      std::uint64_t back = starts_[b.index];
      if (!spool_.holds_from(starts_[plan_.load.front()])) back = starts_[plan_.load.front()];
      rewind(back);
      if (cancelled_) return;
      if (on_bad_part_(b.index, back) && ++strikes >= kMaxBadParts) {
        feed_step_ = "verify";
        feed_error_ = p.name() + " failed its SHA-256 check " + std::to_string(strikes) + " times (got " + b.got +
                      "); nothing was loaded";
        feed_failed_ = true;
        return;
      }
    } catch (const std::exception& e) {  // the runtime could not be started, or broke off
      feed_step_ = "load";
      feed_error_ = e.what();
      feed_failed_ = true;
      if (load_) load_->kill();
      if (files_) files_->discard();
      return;
    }
  }
}

// The archive: its metadata first, then each loaded part in stream order,
// so the feeder never waits for bytes it has passed.
void Receiver::feed_once() {
  if (files_) return feed_files();
  for (const auto& f : layout_->head()) emit_file(f.path, f.bytes);
  for (std::size_t i : plan_.load) {
    const wire::Part& p = plan_.parts[i];
    std::vector<std::string> paths = layout_->paths_of(p);
    for (std::size_t k = 0; k + 1 < paths.size(); ++k)
      emit(wire::tar_header(paths[k], 0, true).data(), wire::kTarBlock);
    emit(wire::tar_header(paths.back(), p.raw).data(), wire::kTarBlock);
    feed_part(i);
    static const char zeros[wire::kTarBlock] = {};
    emit(zeros, wire::tar_padding(p.raw));
  }
  std::string end = wire::tar_trailer();
  emit(end.data(), end.size());
}

// Each file the node lacks, through the sink; after a bad part the files
// already in place stay, and the feeder goes on from the first missing.
void Receiver::feed_files() {
  files_->prepare();
  for (std::size_t i : plan_.load) {
    if (files_->committed(i)) continue;
    files_->begin(i, plan_.parts[i]);
    feed_part(i);
    files_->commit();
  }
  written_ = files_->finish();
}

// One part, decoded, into the load; its digest is checked before anything
// after it is written.
void Receiver::feed_part(std::size_t index) {
  const wire::Part& p = plan_.parts[index];
  std::uint64_t offset = starts_[index];
  const std::uint64_t end = offset + p.size;
  std::string in(wire::kChunkSize, '\0');
  std::optional<wire::ZstdDecoder> decoder;
  if (p.codec == wire::Codec::Zstd) decoder.emplace(p.name(), p.raw);
  wire::Sha256 hash;
  std::uint64_t decoded = 0;
  // The part's last bytes are held back until its digest matches: docker
  // load must never see a member whole before we know it is the right one.
  std::string tail;
  auto out = [&](const char* data, std::size_t len) {
    decoded += len;
    if (decoded > p.raw) throw BadDigest{index, "more bytes than announced"};
    hash.update(data, len);
    if (len < kHeldBack) {  // rare: small pieces go through the tail
      tail.append(data, len);
      if (tail.size() > kHeldBack) {
        emit(tail.data(), tail.size() - kHeldBack);
        tail.erase(0, tail.size() - kHeldBack);
      }
      return;
    }
    // The usual case: no copy of the bulk, only of the new tail.
    emit(tail.data(), tail.size());
    emit(data, len - kHeldBack);
    tail.assign(data + len - kHeldBack, kHeldBack);
  };
  try {
    while (offset < end) {
      std::size_t n = spool_.read(offset, in.data(), static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), end - offset)), load_reader_);
      if (n == 0) throw std::runtime_error("the spool ended inside " + p.name());
      offset += n;
      if (decoder)
        decoder->feed(in.data(), n, out);
      else
        out(in.data(), n);
    }
    if (decoder) decoder->finish();
  } catch (const wire::Error& e) {  // a zstd frame that does not decode: bytes from a bad sender
    throw BadDigest{index, e.what()};
  }
  std::string got = hash.digest();
  if (decoded != p.raw || got != p.digest) throw BadDigest{index, got};
  emit(tail.data(), tail.size());
}

LoadResult Receiver::finish() {
  if (feeder_.joinable()) feeder_.join();
  finished_ = true;
  LoadResult r;
  const int status = load_ ? load_->wait() : 0;
  std::string expired;
  {
    std::lock_guard<std::mutex> lock(load_mu_);
    expired = expired_;
  }
  if (!load_) {  // nothing to load (a node that only forwards), or no runtime to load with
    r.ok = !feed_failed_ && expired.empty();
    r.step = expired.empty() ? feed_step_ : "load";
    r.error = expired.empty() ? feed_error_ : expired;
    if (r.ok) r.ids = written_;
    return r;
  }
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  try {
    if (!expired.empty()) {
      r.step = "load";
      r.error = expired;
    } else if (feed_failed_) {
      r.step = feed_step_;
      r.error = feed_error_;
    } else if (status != 0) {
      runtime::ProcessResult shown{status, text.str(), ""};
      r.step = "load";
      r.error = "the load (" + runtime::program_of(runtime_->load_command()) + ") failed: " + shown.last_line();
    } else {
      r.ids = runtime_->loaded(text.str(), plan_.images);
      r.ok = true;
      return r;
    }
    discard_quietly();
  } catch (const std::exception& e) {
    r.ok = false;
    r.step = "verify";
    r.error = e.what();
  }
  return r;
}

}  // namespace relay
