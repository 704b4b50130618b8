// `treesync status`: which selected nodes have which requested images, with
// their Docker version and free disk; sends nothing. Exit 0 only if every
// node has every image with every tag.
#pragma once

#include "src/input/cli.h"

namespace treesync {

int run_status(const Options& options);

}  // namespace treesync
