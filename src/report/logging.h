// Where log lines go: the console (through the progress display while a run
// draws one) at the level the flags ask for, and --log-file at debug level.
#pragma once

#include <string>

namespace treesync {

class Progress;

// verbose: debug on the console; quiet: errors only; live: a live display
// shows the state, so the console gets warnings and errors only.
void setup_logging(bool verbose, bool quiet, bool live, const std::string& log_file);
// While set, console log lines print above the progress display.
void attach_progress(Progress* progress);

}  // namespace treesync
