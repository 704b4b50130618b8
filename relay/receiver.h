// Receives one stream of parts: verified chunks go to the spool, and a
// feeder thread writes the archive the runtime loads as the bytes arrive:
// the metadata from the source's plan (relay/archive.h), then each part this node loads,
// decoded, its SHA-256 checked against the digest the plan names before the
// next part (or the tar's end) is written. A part that fails its check
// kills the load (no runtime applies anything before the archive ends), and
// the feeder starts over once the part's bytes came again. For the files
// payload the same feeder writes each part through a FileSink instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "relay/archive.h"
#include "relay/file_sink.h"
#include "relay/striped_spool.h"
#include "src/runtime/runtime.h"
#include "src/runtime/subprocess.h"
#include "src/wire/messages.h"

namespace relay {

struct LoadResult {
  bool ok = false;
  std::vector<std::string> ids;  // the config digests the runtime now holds whole
  std::string step;              // failures: "verify" (a part failed its digest) or "load"
  std::string error;
};

// The feeder stopped: nothing more can be loaded from this stream.
struct FeedFailed : std::runtime_error {
  FeedFailed(std::string step, const std::string& message) : std::runtime_error(message), step(std::move(step)) {}
  std::string step;
};

// How many times a node takes a part that fails its digest before it gives up.
constexpr int kMaxBadParts = 3;

class Receiver {
 public:
  // Called from the feeder when part `index` of the stream failed its
  // digest, once the spool went back to `start`: the bytes must come again
  // from someone else. Returns whether this bad copy counts against the
  // node (it came from the source, which has no better one to give).
  using OnBadPart = std::function<bool(std::size_t index, std::uint64_t start)>;

  // Throws wire::Error for a plan that does not hold together (a load
  // position out of range, an image whose config is not loaded).
  // `runtime` loads the archive; it must outlive the receiver, and may be
  // null for a node that loads nothing. With `files`, the loaded parts are
  // files written through it, and no runtime is used.
  Receiver(const std::string& workdir, wire::ReceiveRequest plan, runtime::Runtime* runtime, OnBadPart on_bad_part,
           std::unique_ptr<FileSink> files = nullptr);
  ~Receiver();

  // Takes the next data frame; false (and nothing stored) if it does not
  // start where the spool ends: a stale chunk, or one the feeder's rewind
  // overtook. Throws if it is corrupt or cannot be stored.
  // Chunks of stripe s carry that stripe's offsets.
  bool accept(int stripe, const wire::Frame& chunk);
  bool complete() const { return spool_.complete(); }
  std::uint64_t received() const { return spool_.written(); }
  // Every stripe forgets its bytes from whole-stream offset `offset` on.
  void rewind(std::uint64_t offset);
  // Waits for the load to finish reading the spool and exit.
  LoadResult finish();
  // Stops everything: spool readers wake up with an error, docker load is killed.
  void cancel();
  // Kills a load that overran its deadline; finish() then fails with `why`.
  void expire_load(const std::string& why);
  StripedSpool& spool() { return spool_; }
  const std::vector<wire::Part>& parts() const { return plan_.parts; }

 private:
  void feed();
  bool start_load();  // false once cancelled
  void feed_once();
  void feed_files();
  void feed_part(std::size_t index);
  void emit(const char* data, std::size_t n);
  void discard_quietly();  // what a failed or killed load left, as far as the runtime answers
  void emit_file(const std::string& name, const std::string& bytes);

  wire::ReceiveRequest plan_;
  runtime::Runtime* runtime_;
  std::vector<std::uint64_t> starts_;
  OnBadPart on_bad_part_;
  std::string output_path_;
  StripedSpool spool_;
  StripedSpool::ReaderId load_reader_ = 0;  // the feeder's place in the spool
  std::mutex intake_mu_;  // accept() against a rewind from the feeder
  std::mutex load_mu_;    // guards load_ itself: the feeder replaces it, cancel() kills it
  std::unique_ptr<ArchiveLayout> layout_;
  std::unique_ptr<runtime::Child> load_;
  std::unique_ptr<FileSink> files_;
  std::vector<std::string> written_;  // files: the digests the sink wrote
  std::thread feeder_;
  std::atomic<bool> cancelled_{false};
  std::string expired_;  // guarded by load_mu_
  bool finished_ = false;  // finish() ran: it discards a failure itself
  std::atomic<bool> feed_failed_{false};
  std::string feed_step_, feed_error_;  // set before feed_failed_
};

}  // namespace relay
