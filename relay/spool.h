// The spool: verified chunks land here in order; readers (the local docker
// load, and in tree mode the children) follow behind at their own pace, so
// a slow reader never holds up the writer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace relay {

class Spool {
 public:
  // Creates the file exclusively, mode 0600; it is removed by the destructor.
  Spool(std::string path, std::uint64_t size);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends bytes that must start at written(); throws with errno text (ENOSPC).
  void append(std::string_view bytes);
  // Copies up to n bytes at offset, waiting until they are written. Returns 0
  // at the end of the archive; throws if the spool was aborted.
  std::size_t read(std::uint64_t offset, char* buf, std::size_t n);
  void abort(const std::string& why);
  // Forgets everything from offset on (bytes that failed their digest):
  // append() continues there; readers past it wait for the new bytes.
  void rewind(std::uint64_t offset);

  std::uint64_t written() const;
  std::uint64_t size() const { return size_; }

 private:
  std::string path_;
  std::uint64_t size_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable grew_;
  std::uint64_t written_ = 0;
  std::string aborted_;
};

}  // namespace relay
