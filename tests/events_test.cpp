#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <thread>
#include <fstream>
#include <sstream>

#include "src/errors.h"
#include "src/input/cli.h"
#include "src/report/events.h"
#include "src/report/metrics.h"
#include "temp_dir.h"
#include "tests/slurp.h"

using namespace treesync;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
ParsedCommand parse(std::vector<const char*> args) {
  args.insert(args.begin(), "treesync");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("event times are RFC 3339 in UTC with milliseconds") {
  std::chrono::system_clock::time_point at{milliseconds(1764501420123)};  // 2025-11-30T11:17:00.123Z
  CHECK(events::rfc3339_ms(at) == "2025-11-30T11:17:00.123Z");
  CHECK(events::rfc3339_ms(std::chrono::system_clock::time_point{milliseconds(5)}) == "1970-01-01T00:00:00.005Z");
}

TEST_CASE("an event is one line: time, elapsed, event and node first, then its fields") {
  std::chrono::system_clock::time_point at{milliseconds(1764501420123)};
  std::string line = events::encode(at, 2.34567, "failed", "node1", {{"step", "load"}, {"reason", "a\nb \xff"}});
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.rfind(R"({"time":"2025-11-30T11:17:00.123Z","elapsed":2.345,"event":"failed","node":"node1",)", 0) == 0);
  auto j = wire::Json::parse(line);
  CHECK(j["step"] == "load");
  CHECK(j["reason"] == "a\nb \xEF\xBF\xBD");  // invalid UTF-8 from a node's text is replaced, not thrown on
  CHECK(wire::Json::parse(events::encode(at, 0, "run_started", "", {}))["node"].is_null());
}

TEST_CASE("receiving events come at most once a second per node, with the rate since the last") {
  events::ReceivingThrottle t;
  auto t0 = std::chrono::steady_clock::time_point{} + seconds(100);
  double rate = 0;
  REQUIRE(t.due("node1", t0, 0, 1000, &rate));
  CHECK(rate < 0);  // no earlier sample: no rate
  CHECK_FALSE(t.due("node1", t0 + milliseconds(700), 500, 1000, &rate));
  REQUIRE(t.due("node2", t0 + milliseconds(700), 10, 1000, &rate));  // each node has its own clock
  // The relay's next report, seen a little less than a second later, counts.
  REQUIRE(t.due("node1", t0 + milliseconds(950), 500, 1000, &rate));
  REQUIRE(t.due("node1", t0 + milliseconds(2000), 600, 1000, &rate));
  CHECK(rate == Approx(100 / 1.05));
  REQUIRE(t.due("node1", t0 + milliseconds(3000), 600, 1000, &rate));  // a stall still shows, at 0
  CHECK(rate == 0);
  REQUIRE(t.due("node1", t0 + milliseconds(4000), 100, 1000, &rate));  // rewound after a bad part
  CHECK(rate == 0);
  REQUIRE(t.due("node1", t0 + milliseconds(5000), 1000, 1000, &rate));
  CHECK(rate == Approx(900));
  CHECK_FALSE(t.due("node1", t0 + milliseconds(9000), 1000, 1000, &rate));  // complete and loading: nothing new
}

TEST_CASE("the event sink writes and flushes each line as it happens") {
  TempDir dir("events");
  const auto path = dir.path / "events.jsonl";
  events::open(path.string(), "sync");
  CHECK(events::command() == "sync");
  events::emit("probed", "node1", {{"action", "load"}});
  events::emit("skipped", "node2");
  // Not closed: a tail -f sees both as soon as the writer has them.
  std::string text;
  for (int i = 0; i < 200 && std::count(text.begin(), text.end(), '\n') < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    text = slurp(path);
  }
  std::istringstream lines(text);
  std::string a, b, rest;
  REQUIRE(std::getline(lines, a));
  REQUIRE(std::getline(lines, b));
  CHECK_FALSE(std::getline(lines, rest));
  CHECK(wire::Json::parse(a)["action"] == "load");
  CHECK(wire::Json::parse(b)["event"] == "skipped");
  CHECK(wire::Json::parse(b)["elapsed"].get<double>() >= 0);
  events::close();
  events::emit("failed", "node3", {{"step", nullptr}, {"reason", "after close"}});
  CHECK(slurp(path) == text);  // closed: nothing more
  CHECK_THROWS_WITH(events::open((dir.path / "no/such/dir").string(), "sync"), Catch::Contains("fix --events"));
}

TEST_CASE("a reader that stops reading holds up nobody; one that goes away ends the stream") {
  std::signal(SIGPIPE, SIG_IGN);  // as treesync's main does
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  events::open("/proc/self/fd/" + std::to_string(fds[1]), "sync");
  ::close(fds[1]);
  const auto start = std::chrono::steady_clock::now();
  // Far more than a pipe holds (64 KiB), and nobody reads.
  for (int i = 0; i < 2000; ++i) events::emit("failed", "node1", {{"step", "load"}, {"reason", std::string(200, 'x')}});
  CHECK(std::chrono::steady_clock::now() - start < seconds(2));
  ::close(fds[0]);   // the reader goes away: the writer sees EPIPE, drops the rest
  events::close();   // and returns
  CHECK(std::chrono::steady_clock::now() - start < seconds(5));
}

TEST_CASE("Prometheus label values escape backslash, quote and newline") {
  CHECK(prometheus_label_value("app:1") == "\"app:1\"");
  CHECK(prometheus_label_value("a\\b\"c\nd") == R"("a\\b\"c\nd")");
}

TEST_CASE("the metrics text has HELP and TYPE for each metric and every outcome, zeros included") {
  RunTotals run{"sync", "tree", {"app:1", "we\"ird"}, 12.5, 45942784,
                {{"loaded", 5}, {"tagged", 0}, {"skipped", 0}, {"failed", 1}, {"not done", 0}}, 1764501420.123, 1,
                {2.5, 48234496, 14, 31}};
  std::string text = prometheus_text(run);
  for (const char* name : {"treesync_run_info", "treesync_run_duration_seconds", "treesync_source_sent_bytes",
                           "treesync_nodes", "treesync_run_timestamp_seconds", "treesync_run_exit_status",
                           "treesync_last_run_success", "treesync_source_cpu_seconds",
                           "treesync_source_peak_rss_bytes", "treesync_source_peak_threads",
                           "treesync_source_peak_fds"}) {
    INFO(name);
    CHECK(text.find(std::string("# HELP ") + name + " ") != std::string::npos);
    CHECK(text.find(std::string("# TYPE ") + name + " gauge\n") != std::string::npos);
  }
  CHECK(text.find("treesync_nodes{outcome=\"loaded\"} 5\n") != std::string::npos);
  CHECK(text.find("treesync_nodes{outcome=\"tagged\"} 0\n") != std::string::npos);
  CHECK(text.find("treesync_nodes{outcome=\"not done\"} 0\n") != std::string::npos);
  CHECK(text.find("treesync_source_sent_bytes 45942784\n") != std::string::npos);
  CHECK(text.find("treesync_run_duration_seconds 12.5\n") != std::string::npos);
  CHECK(text.find("treesync_run_timestamp_seconds 1764501420.123\n") != std::string::npos);
  CHECK(text.find("treesync_last_run_success 0\n") != std::string::npos);
  CHECK(text.find("treesync_source_cpu_seconds 2.5\n") != std::string::npos);
  CHECK(text.find("treesync_source_peak_rss_bytes 48234496\n") != std::string::npos);
  CHECK(text.find("treesync_source_peak_threads 14\n") != std::string::npos);
  CHECK(text.find("treesync_source_peak_fds 31\n") != std::string::npos);
  CHECK(text.find(R"(images="app:1 we\"ird")") != std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("the metrics file is replaced whole, through a temp file beside it") {
  TempDir dir("metrics");
  const auto path = dir.path / "treesync.prom";
  write_metrics(path.string(), "old 1\n");
  write_metrics(path.string(), "new 2\n");
  CHECK(slurp(path) == "new 2\n");
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  CHECK_THROWS_WITH(write_metrics((dir.path / "missing/t.prom").string(), "x 1\n"),
                    Catch::Contains("missing/t.prom"));
}

TEST_CASE("--events and --metrics refuse what cannot work, before any connection") {
  CHECK(parse({"--image", "a:1", "--events", "-"}).options.events_path == "-");
  CHECK(parse({"--image", "a:1", "--metrics", "/tmp/t.prom"}).options.metrics_path == "/tmp/t.prom");
  CHECK_THROWS_WITH(parse({"--image", "a:1", "--events", "-", "--json", "-"}), Catch::Contains("both want stdout"));
  CHECK_THROWS_WITH(parse({"--image", "a:1", "--metrics", "-"}), Catch::Contains("needs a file"));
  CHECK_THROWS_WITH(parse({"--image", "a:1", "--metrics", "m.prom", "--dry-run"}), Catch::Contains("--dry-run"));
  CHECK_THROWS_WITH(parse({"status", "--image", "a:1", "--metrics", "m.prom"}),
                    Catch::Contains("status sends nothing"));
}
