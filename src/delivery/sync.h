// One run of treesync: select nodes, probe them, save the images once, send
// them where they are missing, verify, tag, report. Returns the exit status.
// `treesync stage` is the same run with treesync's staged names as the tags
// (Options::tagging).
#pragma once

#include "src/input/cli.h"

namespace treesync {

int run_sync(const Options& options);

}  // namespace treesync
