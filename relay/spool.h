// The spool: verified chunks land here in order; readers (the local load,
// and in tree mode each child's sender) follow behind at their own pace.
//
// It keeps at most a window of the stream (--spool-window): byte o lives at
// o mod capacity of a file that never grows past the window, so a node's
// disk holds the runtime's own copy plus the window, however big the image
// or its largest layer. The writer never overwrites bytes a reader still
// needs: it waits (back-pressure to the parent). It waits for the local
// load as long as it takes, but not for a child: a child that has stayed at
// the window's far end for `patience` (so it set the pace) is given up on
// once it is in the way, finds its bytes gone (Evicted), and the source
// feeds it from a parent that still holds them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace relay {

// A reader asked for bytes that already left the window.
struct Evicted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Spool {
 public:
  using Clock = std::chrono::steady_clock;
  using ReaderId = int;
  static constexpr ReaderId kAnyReader = -1;  // reads that hold nothing back
  static constexpr std::chrono::milliseconds kPatience{5000};

  // Creates the file exclusively, mode 0600; it is removed by the destructor.
  // window 0 (or at least size): the whole stream stays.
  Spool(std::string path, std::uint64_t size, std::uint64_t window = 0,
        std::chrono::milliseconds patience = kPatience);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // A reader the writer waits for, from the oldest byte held on: the load
  // (never given up on) or a child's sender (`evictable`).
  ReaderId add_reader(bool evictable);
  // The reader needs nothing more (it ended, or failed).
  void remove_reader(ReaderId id);

  // Waits up to timeout_ms until n more bytes fit without overwriting bytes
  // a reader still needs; false on timeout or abort. Children that held it
  // back for the patience are given up on meanwhile.
  bool wait_for_room(std::size_t n, int timeout_ms);
  // Appends bytes that must start at written(); throws with errno text
  // (ENOSPC), or if they would overwrite what the load still needs
  // (wait_for_room first). Children in their way are given up on.
  void append(std::string_view bytes);
  // Copies up to n bytes at offset, waiting until they are written; `who`
  // needs nothing before offset any more. Returns 0 at the end of the
  // stream; throws if the spool was aborted, and Evicted if the bytes at
  // offset left the window (or `who` was given up on).
  std::size_t read(std::uint64_t offset, char* buf, std::size_t n, ReaderId who = kAnyReader);
  void abort(const std::string& why);
  // Forgets everything from offset on (bytes that failed their digest):
  // append() continues there; readers past it wait for the new bytes.
  void rewind(std::uint64_t offset);

  std::uint64_t written() const;
  std::uint64_t oldest() const;  // the first byte still held
  std::uint64_t size() const { return size_; }
  std::uint64_t capacity() const { return capacity_; }

 private:
  struct Reader {
    std::uint64_t at = 0;  // the first byte it still needs
    bool evictable = false;
    bool evicted = false;
    std::optional<Clock::time_point> far_since;  // at the window's far end since
  };
  bool in_way(const Reader& r, std::size_t n) const { return !r.evicted && written_ + n > r.at + capacity_; }
  bool fits(std::size_t n) const;  // mu_ held
  void note_lag(Reader& r, Clock::time_point now);  // mu_ held
  // Gives up on the children in the way that set the pace for the
  // patience; returns when the next one would have (or max()).
  Clock::time_point evict_slow(std::size_t n, Clock::time_point now);  // mu_ held
  void check_held(std::uint64_t offset, ReaderId who) const;  // mu_ held

  std::string path_;
  std::uint64_t size_, capacity_;
  std::chrono::milliseconds patience_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::uint64_t written_ = 0;
  // Bytes before oldest_ are gone (or being overwritten by an append now).
  std::uint64_t oldest_ = 0;
  std::map<ReaderId, Reader> readers_;
  ReaderId next_reader_ = 0;
  std::string aborted_;
};

}  // namespace relay
