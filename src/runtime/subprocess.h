// Running programs with a fixed argv: never through a shell, so no value we
// pass can be read as shell syntax. posix_spawnp works in a static binary.
#pragma once

#include <sys/types.h>

#include <functional>
#include <mutex>
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
  // The end of its input: only once everything written was meant to be read.
  void close_stdin();
  int wait();  // exit code, or 128+signal
  // SIGKILL, and reaps it; stdin stays open (another thread may be writing
  // to it) until wait() or the destructor: a child that could still run
  // must never see its input end early, or docker load would load a cut
  // archive. Safe from any thread.
  void kill();

 private:
  int reap();
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::mutex mu_;       // guards the states below against kill() from another thread
  bool reaped_ = false;
  int status_ = -1;
};

int decode_wait_status(int raw);


}  // namespace runtime
