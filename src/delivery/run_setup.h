// What `sync` and `status` share: check the input (exit 2 before any
// connection), look up the local images, start the relays and probe every
// selected node under the live display. A sync need not wait for every
// probe: a hung node must not hold back the others (no barrier).
#pragma once

#include <condition_variable>
#include <memory>
#include <optional>
#include <mutex>
#include <thread>
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
  std::unique_ptr<RelayDonors> donors;  // nodes lending their relay to others; outlives runs
  std::vector<NodeRun> runs;
  std::unique_ptr<Progress> progress;


  ~RunSetup();  // closes every relay, stops the display
  void close_relays(std::size_t workers);
  // Indexes of the nodes whose probe has ended (answered or failed), and of
  // those still probing when setup_and_probe returned.
  std::vector<std::size_t> early, late;
  // Waits until every probe has ended.
  void wait_probes();
  std::vector<NodeResult> results() const;
  const wire::FilesProbe* files_target() const { return files ? &*files : nullptr; }
  std::vector<std::pair<std::string, std::string>> image_ids(const Options& o) const;  // ref -> ID

  // The probes' thread and what it has done: setup_and_probe's.
  std::thread prober_;
  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  std::vector<bool> probed_;  // per node: its probe has ended; probe_mu_
};

// Returns once every probe has ended; with `early`, once some have and no
// other for a while (kQuiet, or as long as the first answer took, whichever
// is longer): the rest go on in the background (late; wait_probes()).
std::unique_ptr<RunSetup> setup_and_probe(const Options& o, bool early = false);

}  // namespace treesync
