#include "src/runtime/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "src/wire/net.h"

extern char** environ;

namespace runtime {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Children start with no signal blocked and SIGPIPE at its default, whatever
// the caller set up for itself, so stopping them works as for any program.
pid_t spawn(const std::vector<std::string>& argv, posix_spawn_file_actions_t* actions) {
  pid_t pid;
  auto args = c_argv(argv);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawnp(&pid, args[0], actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

int decode_wait_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

std::string ProcessResult::last_line() const {
  for (const std::string* s : {&err, &out}) {
    std::size_t end = s->find_last_not_of(" \n\r\t");
    if (end == std::string::npos) continue;
    std::size_t start = s->rfind('\n', end);
    return s->substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
  }
  return "exit status " + std::to_string(status);
}

ProcessResult run_capture(const std::vector<std::string>& argv, const OutputSink& on_out) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  pid_t pid;
  try {
    pid = spawn(argv, &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  ProcessResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  char buf[65536];
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0 && i == 0 && on_out) {
        try {
          on_out(buf, static_cast<std::size_t>(n));
        } catch (...) {
          ::kill(pid, SIGTERM);
          for (auto& f : fds)
            if (f.fd >= 0) ::close(f.fd);
          while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
          }
          throw;
        }
      } else if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int raw = 0;
  while (waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
  }
  result.status = decode_wait_status(raw);
  return result;
}

Child::Child(const std::vector<std::string>& argv, const std::string& output_path) {
  int in_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  try {
    pid_ = spawn(argv, &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  stdin_fd_ = in_pipe[1];
}

Child::~Child() {
  kill();
  wait();
  close_fd(stdin_fd_);
}

bool Child::write_all(const char* data, std::size_t n) { return wire::write_fully(stdin_fd_, data, n); }

void Child::close_stdin() { close_fd(stdin_fd_); }

int Child::wait() {
  close_stdin();
  return reap();
}

// Waits without reaping (waitid WNOWAIT), then reaps under the lock, so a
// kill() from another thread never signals a PID the kernel gave away.
int Child::reap() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reaped_) return status_;
  }
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (reaped_) return status_;
  int raw = 0;
  while (waitpid(pid_, &raw, 0) < 0) {
    if (errno != EINTR) {
      raw = -1;
      break;
    }
  }
  reaped_ = true;
  return status_ = raw < 0 ? -1 : decode_wait_status(raw);
}

void Child::kill() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pid_ <= 0 || reaped_) return;
    ::kill(pid_, SIGKILL);
  }
  reap();
}

}  // namespace runtime
