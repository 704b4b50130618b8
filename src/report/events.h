// The event stream (--events FILE, or - for stdout): one JSON object per
// line for each state change of a run, flushed as soon as it is written, so a CI job
// or a dashboard can follow a rollout live (docs/events.md,
// docs/events.schema.json). Events come from deep inside the node workers
// and the rollout's threads, so the sink is one per process, like the log;
// with no --events every call is a cheap no-op.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "src/wire/protocol.h"

namespace treesync::events {

// Starts the stream for `command` (sync, status, ...): the run's clock
// (`elapsed`) starts here. "-" is stdout. Throws UsageError naming the path.
void open(const std::string& path, const std::string& command);
// Writes what is queued, then closes the stream; later events are dropped.
void close();
// The command open() was given ("" without --events).
const std::string& command();
// One event; `node` "" for events of the whole run (written as null).
void emit(const std::string& kind, const std::string& node, wire::Json fields = wire::Json::object());
// A `receiving` event for `node`, at most one a second per node.
void receiving(const std::string& node, std::uint64_t bytes, std::uint64_t total);
// Seconds since open().
double elapsed();

// What one event line is, apart from the clock: for the sink and the tests.
std::string encode(std::chrono::system_clock::time_point at, double elapsed, const std::string& kind,
                   const std::string& node, const wire::Json& fields);
// RFC 3339, UTC, milliseconds: 2026-11-30T11:17:00.123Z.
std::string rfc3339_ms(std::chrono::system_clock::time_point at);

// Per node: whether a `receiving` event is due (a second since the last,
// and not a repeat of a finished stream), and the rate since that last one
// (negative when there is none: the node's first event).
class ReceivingThrottle {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  bool due(const std::string& node, TimePoint now, std::uint64_t bytes, std::uint64_t total, double* rate);

 private:
  struct Sample {
    TimePoint at;
    std::uint64_t bytes;
  };
  std::map<std::string, Sample> last_;
};

}  // namespace treesync::events
