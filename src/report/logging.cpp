#include "src/report/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "src/errors.h"
#include "src/report/progress.h"

namespace treesync {
namespace {

std::shared_ptr<ProgressSink> g_console;

}  // namespace

void setup_logging(bool verbose, bool quiet, bool live, const std::string& log_file) {
  g_console = std::make_shared<ProgressSink>();
  g_console->set_level(verbose ? spdlog::level::debug
                       : quiet ? spdlog::level::err
                       : live  ? spdlog::level::warn
                               : spdlog::level::info);
  std::vector<spdlog::sink_ptr> sinks = {g_console};
  if (!log_file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file);
      file->set_level(spdlog::level::debug);
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      throw UsageError("cannot write --log-file " + log_file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("treesync", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->set_pattern("%H:%M:%S.%e %l %v");
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

void attach_progress(Progress* progress) {
  if (g_console) g_console->attach(progress);
}

}  // namespace treesync
