// Just enough of the tar format for docker's archives: headers for the
// archive the relay feeds to `docker load`, and a reader for the archive
// `docker save` writes on the source.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace wire {

constexpr std::size_t kTarBlock = 512;

// A ustar header for a regular file (or, with directory, an empty
// directory). Sizes of 8 GiB and more use the base-256 form GNU tar and Go
// read.
std::string tar_header(const std::string& name, std::uint64_t size, bool directory = false);
// Zero bytes that round a member of `size` bytes up to a whole block.
std::size_t tar_padding(std::uint64_t size);
// Two zero blocks end an archive.
std::string tar_trailer();

struct TarEntry {
  std::string name;
  char type = '0';  // '0' file, '2' symlink, '5' directory, ...
  std::uint64_t size = 0;
};

// Parses an archive as it arrives (from a pipe): each entry's data goes to
// the handler between its begin and end calls.
class TarParser {
 public:
  struct Handler {
    std::function<void(const TarEntry&)> begin;
    std::function<void(const char* data, std::size_t n)> data;
    std::function<void()> end;
  };
  explicit TarParser(Handler handler) : handler_(std::move(handler)) {}

  void feed(const char* data, std::size_t n);  // throws wire::Error on a malformed archive
  bool done() const { return state_ == State::Done; }  // the end blocks came

 private:
  enum class State { Header, Data, Extended, Padding, Done };
  void take_header();

  Handler handler_;
  State state_ = State::Header;
  std::string block_;                      // a header being gathered
  std::string extended_;                   // a PAX or GNU long-name record being gathered
  char extended_type_ = 0;
  std::map<std::string, std::string> pax_;  // applies to the next entry
  std::uint64_t left_ = 0;                 // data bytes of the current entry still to come
  std::size_t padding_ = 0;
};

}  // namespace wire
