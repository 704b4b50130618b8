#include "src/report/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "src/report/report.h"

namespace treesync {
namespace {

constexpr auto kLiveEvery = std::chrono::milliseconds(250);
constexpr auto kPlainEvery = std::chrono::seconds(5);
constexpr std::size_t kMaxNodeLines = 20;  // beyond this, counts and the slowest nodes

std::string eta(std::uint64_t left, double rate) {
  if (rate < 1 || left == 0) return "";
  auto s = static_cast<long>(static_cast<double>(left) / rate);
  char buf[32];
  std::snprintf(buf, sizeof buf, "ETA %ld:%02ld", s / 60, s % 60);
  return buf;
}

bool active(Stage s) { return s == Stage::Receiving || s == Stage::Loading || s == Stage::Verifying; }

}  // namespace

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::Waiting: return "waiting";
    case Stage::Connecting: return "connecting";
    case Stage::Probing: return "probing";
    case Stage::Probed: return "probed";
    case Stage::Receiving: return "receiving";
    case Stage::Loading: return "loading";
    case Stage::Verifying: return "verifying";
    case Stage::Done: return "done";
    case Stage::Failed: return "failed";
  }
  return "?";
}

Progress::Style Progress::style_for(int fd, bool quiet) {
  if (quiet) return Style::Quiet;
  return ::isatty(fd) ? Style::Live : Style::Plain;
}

Progress::Progress(Style style, std::FILE* out) : style_(style), out_(out) {}

Progress::~Progress() { stop(); }

std::shared_ptr<NodeStatus> Progress::add(const std::string& name) {
  auto s = std::make_shared<NodeStatus>();
  s->name = name;
  std::lock_guard<std::mutex> lock(mu_);
  nodes_.push_back(s);
  return s;
}

void Progress::start() {
  if (style_ == Style::Quiet) return;
  std::lock_guard<std::mutex> lock(mu_);
  running_ = true;
  last_time_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { loop(); });
}

void Progress::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  render(true);
}

void Progress::log_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (style_ == Style::Live && drawn_ > 0) {
    std::fprintf(out_, "\x1b[%zuA\x1b[J", drawn_);  // up over the block, clear to the end
    drawn_ = 0;
  }
  std::fputs(line.c_str(), out_);
  if (line.empty() || line.back() != '\n') std::fputc('\n', out_);
  if (style_ == Style::Live && running_) render(false);
  std::fflush(out_);
}

void Progress::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  auto every = style_ == Style::Live ? std::chrono::duration_cast<std::chrono::milliseconds>(kLiveEvery)
                                     : std::chrono::duration_cast<std::chrono::milliseconds>(kPlainEvery);
  do render(false);
  while (!wake_.wait_for(lock, every, [this] { return !running_; }));
}

// mu_ held.
void Progress::render(bool final) {
  std::uint64_t bytes = 0;
  for (const auto& n : nodes_) bytes += n->bytes;
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - last_time_).count();
  if (dt > 0.2) {
    double instant = static_cast<double>(bytes - std::min(bytes, last_bytes_)) / dt;
    rate_ = rate_ == 0 ? instant : 0.7 * rate_ + 0.3 * instant;
    last_bytes_ = bytes;
    last_time_ = now;
  }
  if (style_ == Style::Plain) {
    if (!final) std::fprintf(out_, "%s\n", plain_line(rate_).c_str());
  } else if (style_ == Style::Live) {
    if (drawn_ > 0) std::fprintf(out_, "\x1b[%zuA", drawn_);
    auto lines = live_lines(rate_);
    for (const auto& l : lines) std::fprintf(out_, "\x1b[2K%s\n", l.c_str());
    std::fprintf(out_, "\x1b[J");
    drawn_ = lines.size();
  }
  std::fflush(out_);
}

std::vector<std::string> Progress::live_lines(double rate) {
  std::vector<const NodeStatus*> shown;
  std::size_t done = 0, failed = 0, loading = 0;
  std::uint64_t bytes = 0, total = 0;
  for (const auto& n : nodes_) {
    Stage s = n->stage;
    done += s == Stage::Done;
    failed += s == Stage::Failed;
    loading += active(s);
    bytes += n->bytes;
    total += n->total;
  }
  // Few nodes: every one. Many: the unfinished ones furthest behind.
  for (const auto& n : nodes_)
    if (nodes_.size() <= kMaxNodeLines || (n->stage != Stage::Done && n->stage != Stage::Failed)) shown.push_back(n.get());
  if (shown.size() > kMaxNodeLines) {
    std::partial_sort(shown.begin(), shown.begin() + kMaxNodeLines / 2, shown.end(),
                      [](const NodeStatus* a, const NodeStatus* b) { return a->bytes < b->bytes; });
    shown.resize(kMaxNodeLines / 2);
  }
  std::vector<std::string> lines;
  char buf[256];
  for (const NodeStatus* n : shown) {
    std::uint64_t b = n->bytes, t = n->total;
    std::string amount = t ? human_bytes(b) + " / " + human_bytes(t) : "";
    std::snprintf(buf, sizeof buf, "  %-16.16s %-10s %s", n->name.c_str(), stage_name(n->stage), amount.c_str());
    lines.push_back(buf);
  }
  if (shown.size() < nodes_.size() - done - failed) {
    lines.push_back("  ... " + std::to_string(nodes_.size() - done - failed - shown.size()) + " more in progress");
    // Many nodes: how far the others got, so a long contact phase (a
    // thousand logins) visibly moves while no byte does.
    std::map<Stage, std::size_t> at;
    for (const auto& n : nodes_) ++at[n->stage];
    std::string by = "  by stage:";
    for (const auto& [stage, count] : at)
      if (stage != Stage::Done && stage != Stage::Failed)
        by += (by.back() == ':' ? " " : ", ") + std::to_string(count) + " " + stage_name(stage);
    lines.push_back(by);
  }
  std::snprintf(buf, sizeof buf, "total: %zu/%zu done, %zu failed, %zu active, %s / %s, %s/s %s", done, nodes_.size(),
                failed, loading, human_bytes(bytes).c_str(), human_bytes(total).c_str(),
                human_bytes(static_cast<std::uint64_t>(rate)).c_str(),
                eta(total - std::min(total, bytes), rate).c_str());
  lines.push_back(buf);
  return lines;
}

std::string Progress::plain_line(double rate) {
  std::size_t done = 0, failed = 0;
  std::uint64_t bytes = 0, total = 0;
  for (const auto& n : nodes_) {
    done += n->stage == Stage::Done;
    failed += n->stage == Stage::Failed;
    bytes += n->bytes;
    total += n->total;
  }
  char stamp[16];
  std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s progress: %zu/%zu done, %zu failed, %s / %s received, %s/s", stamp, done,
                nodes_.size(), failed, human_bytes(bytes).c_str(), human_bytes(total).c_str(),
                human_bytes(static_cast<std::uint64_t>(rate)).c_str());
  return buf;
}

}  // namespace treesync
