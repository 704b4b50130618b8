// What each node is doing, for people: on a terminal a block of lines
// redrawn in place (one per node, or for many nodes the slowest ones, the
// count in each unfinished stage and the total); otherwise a plain timestamped line every few seconds.
// Log lines go through here too, so they print above the live block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace treesync {

// Waiting: not contacted yet; Probed: probed, waiting for its stream.
enum class Stage { Waiting, Connecting, Probing, Probed, Receiving, Loading, Verifying, Done, Failed };
const char* stage_name(Stage s);

// One node's live state; written by its worker, read by the renderer.
struct NodeStatus {
  std::string name;
  std::atomic<Stage> stage{Stage::Waiting};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> total{0};  // 0 until the node is known to load
};

class Progress {
 public:
  enum class Style { Live, Plain, Quiet };
  // Live on a terminal, Plain otherwise; Quiet prints nothing but log lines.
  static Style style_for(int fd, bool quiet);

  Progress(Style style, std::FILE* out);
  ~Progress();
  std::shared_ptr<NodeStatus> add(const std::string& name);
  void start();
  void stop();  // final redraw, then the block stays as it is
  void log_line(const std::string& line);  // prints above the live block

 private:
  void loop();
  void render(bool final);
  std::vector<std::string> live_lines(double rate);
  std::string plain_line(double rate);

  Style style_;
  std::FILE* out_;
  std::vector<std::shared_ptr<NodeStatus>> nodes_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool running_ = false;
  std::thread thread_;
  std::size_t drawn_ = 0;  // lines of the live block on screen
  std::uint64_t last_bytes_ = 0;
  std::chrono::steady_clock::time_point last_time_;
  double rate_ = 0;  // bytes per second, smoothed
};

}  // namespace treesync

#include <spdlog/sinks/base_sink.h>

#include "src/errors.h"

namespace treesync {

// spdlog output that goes through the progress display (above its block),
// or straight to stderr when there is none.
class ProgressSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void attach(Progress* progress) { progress_ = progress; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t text;
    formatter_->format(msg, text);
    // Log lines quote what nodes said: no escape sequence reaches the terminal.
    std::string line = printable(std::string(text.data(), text.size()), true);
    if (Progress* p = progress_)
      p->log_line(line);
    else
      std::fputs(line.c_str(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  std::atomic<Progress*> progress_{nullptr};
};

}  // namespace treesync
