// What `sync` and `status` share: check the input (exit 2 before any
// connection), look up the local images, start the relays and probe every
// selected node under the live display.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "src/cache/file_manifest.h"
#include "src/input/cli.h"
#include "src/cache/local_images.h"
#include "src/delivery/node_run.h"
#include "src/report/progress.h"
#include "src/report/source_cost.h"
#include "src/ssh/remote_relay.h"

namespace treesync {

struct RunSetup {
  SourceCostSampler cost;  // from the start of the run; first, so it stops last
  std::string started;
  Clock::time_point t0;
  std::vector<WantedImage> wanted;  // empty for the files payload
  FileManifest manifest;            // --files: what the payload holds
  std::optional<wire::FilesProbe> files;  // --files: what each relay is asked and writes
  RelaySet relays;
  std::vector<NodeRun> runs;
  std::unique_ptr<Progress> progress;

  ~RunSetup();  // closes every relay, stops the display
  void close_relays(std::size_t workers);
  std::vector<NodeResult> results() const;
  const wire::FilesProbe* files_target() const { return files ? &*files : nullptr; }
  std::vector<std::pair<std::string, std::string>> image_ids(const Options& o) const;  // ref -> ID
};

std::unique_ptr<RunSetup> setup_and_probe(const Options& o);

}  // namespace treesync
