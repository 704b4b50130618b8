#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include <spdlog/logger.h>

#include "src/report/progress.h"
#include "src/report/report.h"

using namespace treesync;

namespace {
std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}
}  // namespace

TEST_CASE("the live display stays readable at 100 nodes") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  {
    Progress p(Progress::Style::Live, out);
    for (int i = 0; i < 100; ++i) {
      auto s = p.add("node" + std::to_string(i));
      s->total = 1000;
      s->bytes = i < 60 ? 1000 : 900 - static_cast<std::uint64_t>(i);
      s->stage = i < 60 ? Stage::Done : Stage::Receiving;
    }
    p.start();
    p.stop();
  }
  std::string text = read_all(out);
  std::fclose(out);
  // The last redraw starts at the last cursor-up over the previous one.
  std::size_t up = text.rfind("A\x1b[2K");
  REQUIRE(up != std::string::npos);
  std::string final_block = text.substr(up);
  std::size_t lines = 0;
  for (char c : final_block) lines += c == '\n';
  CHECK(lines <= 13);  // 10 slowest, "... more", stages, total
  CHECK(final_block.find("node99 ") != std::string::npos);  // the furthest behind is shown
  CHECK(final_block.find("node0 ") == std::string::npos);   // finished ones are collapsed
  CHECK(final_block.find("30 more in progress") != std::string::npos);
  CHECK(final_block.find("total: 60/100 done, 0 failed, 40 active") != std::string::npos);
}

TEST_CASE("without a terminal, progress lines carry no escape codes") {
  std::FILE* out = std::tmpfile();
  {
    Progress p(Progress::Style::Plain, out);
    auto s = p.add("node1");
    s->total = 100;
    s->bytes = 50;
    s->stage = Stage::Receiving;
    p.start();
    p.log_line("12:00:00.000 warning node1: something");
    p.stop();
  }
  std::string text = read_all(out);
  std::fclose(out);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("progress: 0/1 done, 0 failed, 50 B / 100 B received") != std::string::npos);
  CHECK(text.find("warning node1: something\n") != std::string::npos);
}

// A node's words (a relay's error, its runtime's name) travel into log lines
// and the summary: a hostile node must not drive the operator's terminal
// (OSC 52 writes the clipboard; "\r" plus clear-line rewrites a failure).
TEST_CASE("what a node says reaches the terminal escaped") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  {
    Progress p(Progress::Style::Plain, out);
    auto sink = std::make_shared<ProgressSink>();
    sink->set_pattern("%v");
    sink->attach(&p);
    spdlog::logger log("test", sink);
    log.warn("node1: relay says \x1b]52;c;aGk=\x07 and\r\x1b[2Kok");
    sink->attach(nullptr);
  }
  std::string text = read_all(out);
  std::fclose(out);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("relay says \\x1b]52;c;aGk=\\x07 and\\x0d\\x1b[2Kok\n") != std::string::npos);

  NodeResult r;
  r.node = "node1", r.host = "10.0.0.1", r.outcome = Outcome::Failed, r.step = "probe";
  r.reason = "no\r\x1b[2Kloaded", r.runtime = "docker\x1b[31m", r.store = "classic";
  std::ostringstream summary;
  print_summary(summary, {r}, 0, 1);
  CHECK(summary.str().find('\x1b') == std::string::npos);
  CHECK(summary.str().find("probe: no\\x0d\\x1b[2Kloaded") != std::string::npos);
  CHECK(summary.str().find("docker\\x1b[31m/classic") != std::string::npos);
}

namespace {
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
// N nodes, all loaded in 1 + i/1000 s, but those FAILED (index -> reason).
std::vector<NodeResult> results_of(int n, const std::map<int, std::string>& failed = {}) {
  std::vector<NodeResult> out;
  for (int i = 0; i < n; ++i) {
    NodeResult r;
    r.node = "node" + std::to_string(i + 1), r.host = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    r.outcome = Outcome::Loaded, r.seconds = 1 + i / 1000.0, r.bytes = 1 << 20;
    if (auto f = failed.find(i); f != failed.end()) r.outcome = Outcome::Failed, r.step = "probe", r.reason = f->second;
    out.push_back(r);
  }
  return out;
}
}  // namespace

TEST_CASE("the live display stays a bounded block at 1000 nodes, failures counted") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  {
    Progress p(Progress::Style::Live, out);
    for (int i = 0; i < 1000; ++i) {
      auto s = p.add("node" + std::to_string(i + 1));
      s->total = 1000;
      s->bytes = i < 900 ? 1000 : static_cast<std::uint64_t>(i - 900);
      s->stage = i < 890 ? Stage::Done : i < 900 ? Stage::Failed : Stage::Receiving;
    }
    p.start();
    p.stop();
  }
  std::string text = read_all(out);
  std::fclose(out);
  std::string final_block = text.substr(text.rfind("A\x1b[2K"));
  CHECK(std::count(final_block.begin(), final_block.end(), '\n') <= 13);  // 10 slowest, "... more", stages, total
  CHECK(final_block.find("node901 ") != std::string::npos);  // the furthest behind
  CHECK(final_block.find("90 more in progress") != std::string::npos);
  CHECK(final_block.find("  by stage: 100 receiving\n") != std::string::npos);
  CHECK(final_block.find("total: 890/1000 done, 10 failed, 100 active") != std::string::npos);
}

TEST_CASE("the summary has a row per node up to 40 nodes") {
  std::ostringstream s;
  print_summary(s, results_of(40), 4 << 20, 1 << 20, "every file");
  auto lines = lines_of(s.str());
  REQUIRE(lines.size() == 43);  // header, 40 rows, the count, the source's bytes
  CHECK(lines[1].rfind("node1 ", 0) == 0);
  CHECK(lines[40].rfind("node40 ", 0) == 0);
  CHECK(lines[41] == "40 node(s): 40 loaded, 0 tagged, 0 skipped, 0 failed");
}

TEST_CASE("at 1000 nodes the summary keeps the failed and the slowest and counts the rest") {
  std::map<int, std::string> failed;
  for (int i = 100; i < 130; ++i) failed[i] = "no container runtime on this node";
  failed[500] = "connect: timed out";
  std::ostringstream s;
  print_summary(s, results_of(1000, failed), 4 << 20, 1 << 20, "every file");
  auto lines = lines_of(s.str());
  REQUIRE(lines.size() == 35);  // header, 20 failed, 10 slowest, 2 "more" lines, the count, the source's bytes
  CHECK(lines[0].rfind("NODE ", 0) == 0);
  for (int i = 1; i <= 20; ++i) CHECK(lines[i].find("failed") != std::string::npos);
  CHECK(lines[1].rfind("node101 ", 0) == 0);  // failures in inventory order
  CHECK(lines[21].rfind("node1000 ", 0) == 0);  // then the slowest first
  CHECK(lines[30].rfind("node991 ", 0) == 0);
  CHECK(lines[31] == "... 11 more failed or not done: 10 x probe: no container runtime on this node; "
                     "1 x probe: connect: timed out");
  CHECK(lines[32] == "... 959 more: 959 loaded, 1.0 to 2.0 s (every node is in the --json report)");
  CHECK(lines[33] == "1000 node(s): 969 loaded, 0 tagged, 0 skipped, 31 failed");
}

TEST_CASE("while many nodes are contacted, the live display counts each stage") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  {
    Progress p(Progress::Style::Live, out);
    const Stage stages[] = {Stage::Probed, Stage::Connecting, Stage::Probing, Stage::Waiting};
    const int counts[] = {400, 8, 2, 590};
    for (int k = 0, i = 0; k < 4; ++k)
      for (int j = 0; j < counts[k]; ++j) p.add("node" + std::to_string(++i))->stage = stages[k];
    p.start();
    p.stop();
  }
  std::string text = read_all(out);
  std::fclose(out);
  std::string final_block = text.substr(text.rfind("A\x1b[2K"));
  CHECK(final_block.find("  by stage: 590 waiting, 8 connecting, 2 probing, 400 probed\n") != std::string::npos);
  CHECK(final_block.find("total: 0/1000 done, 0 failed, 0 active") != std::string::npos);
}
