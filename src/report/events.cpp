#include "src/report/events.h"

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <thread>

#include <spdlog/spdlog.h>

#include "src/errors.h"

namespace treesync::events {
namespace {

// Lines are written by a thread of their own: a reader that stops reading a
// pipe (a paused `| less`, a slow dashboard) must not hold up the rollout,
// whose threads emit while they hold its locks.
struct Sink {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::string> queue;
  std::FILE* out = nullptr;  // null: no --events, or writing failed
  bool owned = false;        // a file we opened (not stdout)
  bool closing = false;
  std::thread writer;
  std::string path;
  std::string command;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  ReceivingThrottle throttle;

  ~Sink() { close(); }

  void close() {
    {
      std::lock_guard<std::mutex> lock(mu);
      closing = true;
    }
    wake.notify_all();
    if (writer.joinable()) writer.join();
    if (owned && out) std::fclose(out);
    out = nullptr;
    owned = false;
  }

  // A reader that went away (a closed pipe, a full disk) must not fail the
  // rollout it watches: warn once and stop writing.
  void write_loop() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      wake.wait(lock, [this] { return closing || !queue.empty(); });
      if (queue.empty()) return;  // closing, and everything is written
      std::string line = std::move(queue.front());
      queue.pop_front();
      std::FILE* f = out;
      lock.unlock();
      line += '\n';
      const bool ok = f && std::fwrite(line.data(), 1, line.size(), f) == line.size() && std::fflush(f) == 0;
      const int err = errno;
      lock.lock();
      if (f && !ok) {
        spdlog::warn("cannot write events to {}: {}; no more events this run", path, std::strerror(err));
        queue.clear();
        out = nullptr;  // emit() stops queueing
        if (owned) std::fclose(f);
        owned = false;
      }
    }
  }
};

// Past this many unwritten lines (a reader that stopped), `receiving`
// samples are dropped; state changes are always kept.
constexpr std::size_t kMaxQueued = 10000;

Sink& sink() {
  static Sink s;
  return s;
}

// mu held. Encoded under the lock, so lines are in the order of their times.
void queue_line(Sink& s, const std::string& kind, const std::string& node, const wire::Json& fields) {
  if (!s.out || s.closing || (kind == "receiving" && s.queue.size() >= kMaxQueued)) return;
  s.queue.push_back(encode(std::chrono::system_clock::now(), elapsed(), kind, node, fields));
}

}  // namespace

void open(const std::string& path, const std::string& command) {
  Sink& s = sink();
  s.close();  // one stream at a time
  std::lock_guard<std::mutex> lock(s.mu);
  s.command = command;
  s.t0 = std::chrono::steady_clock::now();
  s.path = path == "-" ? "stdout" : path;
  if (path == "-") {
    s.out = stdout;
  } else {
    s.out = std::fopen(path.c_str(), "w");
    if (!s.out) throw UsageError("cannot write events to " + path + ": " + std::strerror(errno) + " (fix --events)");
    s.owned = true;
  }
  s.closing = false;
  s.writer = std::thread([&s] { s.write_loop(); });
}

void close() { sink().close(); }

const std::string& command() { return sink().command; }

double elapsed() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - sink().t0).count();
}

void emit(const std::string& kind, const std::string& node, wire::Json fields) {
  Sink& s = sink();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    queue_line(s, kind, node, fields);
  }
  s.wake.notify_one();
}

void receiving(const std::string& node, std::uint64_t bytes, std::uint64_t total) {
  Sink& s = sink();
  {
    // One lock for the throttle and the line: a line's time is its sample's.
    std::lock_guard<std::mutex> lock(s.mu);
    double rate = 0;
    if (!s.out || !s.throttle.due(node, std::chrono::steady_clock::now(), bytes, total, &rate)) return;
    const wire::Json per_second = rate < 0 ? wire::Json(nullptr) : wire::Json(static_cast<std::uint64_t>(rate + 0.5));
    queue_line(s, "receiving", node, {{"bytes", bytes}, {"total", total}, {"rate", per_second}});
  }
  s.wake.notify_one();
}

std::string rfc3339_ms(std::chrono::system_clock::time_point at) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string encode(std::chrono::system_clock::time_point at, double elapsed, const std::string& kind,
                   const std::string& node, const wire::Json& fields) {
  // Ordered: the four common fields first, for people reading the stream;
  // elapsed in milliseconds, as the time (more digits would be noise).
  nlohmann::ordered_json e = {{"time", rfc3339_ms(at)},
                              {"elapsed", static_cast<double>(static_cast<std::int64_t>(elapsed * 1000)) / 1000},
                              {"event", kind},
                              {"node", node.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(node)}};
  for (const auto& [key, value] : fields.items()) e[key] = nlohmann::ordered_json(value);
  // Invalid UTF-8 (from a node's error text) is replaced, never thrown on.
  return e.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {
constexpr double kMinGapSeconds = 0.8;
}  // namespace

bool ReceivingThrottle::due(const std::string& node, TimePoint now, std::uint64_t bytes, std::uint64_t total,
                            double* rate) {
  auto it = last_.find(node);
  if (it == last_.end()) {
    *rate = -1;
    last_[node] = {now, bytes};
    return true;
  }
  Sample& last = it->second;
  const double seconds = std::chrono::duration<double>(now - last.at).count();
  // A relay reports once a second; the source sees two reports a little
  // closer than that as often as a little further apart (its threads poll
  // many relays): dropping those would halve the events' pace.
  if (seconds < kMinGapSeconds) return false;
  // A finished stream's relay keeps reporting the same count while it loads.
  if (bytes == last.bytes && bytes >= total) return false;
  // After a bad part the node rewinds: no negative rates.
  *rate = bytes > last.bytes ? static_cast<double>(bytes - last.bytes) / seconds : 0.0;
  last = {now, bytes};
  return true;
}

}  // namespace treesync::events
