// Running programs with a fixed argv: never through a shell, so no value we
// pass can be read as shell syntax. posix_spawnp works in a static binary.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace runtime {

struct ProcessResult {
  int status = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
  bool ok() const { return status == 0; }
  // The last non-empty line of stderr (or stdout): what a person needs to see.
  std::string last_line() const;
};

// Runs argv to completion, capturing stdout and stderr. With `on_out`,
// stdout goes to it as it arrives instead; if it throws, the child is
// killed and the exception passed on.
using OutputSink = std::function<void(const char* data, std::size_t n)>;
ProcessResult run_capture(const std::vector<std::string>& argv, const OutputSink& on_out = nullptr);

// A child whose stdin we write to; its stdout and stderr go to a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& output_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool write_all(const char* data, std::size_t n);  // false if the child closed stdin
  void close_stdin();
  int wait();  // exit code, or 128+signal
  void kill();

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int status_ = -1;
};

int decode_wait_status(int raw);


}  // namespace runtime
