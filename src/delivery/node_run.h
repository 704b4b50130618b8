// One node's part in a run: its relay, what it needs, how it ended; and the
// steps every delivery mode shares (probe, verify-then-tag).
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "src/cache/bundle_plan.h"
#include "src/input/cli.h"
#include "src/errors.h"
#include "src/input/inventory.h"
#include "src/delivery/node_action.h"
#include "src/report/progress.h"
#include "src/ssh/remote_relay.h"
#include "src/report/report.h"
#include "src/shutdown.h"

namespace treesync {

using Clock = std::chrono::steady_clock;

struct NodeRun {
  Node node;
  SshConfig ssh;  // how the source reaches it (the ssh config applied), set by probe_node
  std::unique_ptr<RemoteRelay> relay;
  Decision decision;
  NodeResult result;
  wire::ProbeReply probe;  // what the node reported: Docker version, free space, images, layers
  PartList need;     // loading nodes: the bundle's parts they lack
  std::shared_ptr<NodeStatus> status = std::make_shared<NodeStatus>();  // for the live display
  Clock::time_point started;
  // When the relay's reply to the node's last tag request reached the source
  // (unset: nothing was tagged): the activation spread is measured on these.
  std::optional<Clock::time_point> tagged_at;

  bool failed() const { return result.outcome == Outcome::Failed; }
  bool loads() const { return !failed() && decision.action == Action::Load; }
  void fail(const std::string& step, const std::string& reason);
  void finish(Outcome outcome);  // records the outcome and the time it took
};

SshConfig ssh_config(const Node& node, const Options& o);

// Connects, starts the relay, asks what the node has, decides what it needs;
// with `files`, of the files payload instead of the images (no runtime).
void probe_node(NodeRun& run, const std::vector<WantedImage>& wanted, const Options& o, const RelaySet& relays,
                RelayDonors& donors, const wire::FilesProbe* files = nullptr);

// A loading node must have room for its spool (its stream, in
// ~/.cache/treesync) and for docker load (about twice the layers it loads,
// uncompressed, under Docker's data root: it unpacks the archive before
// applying them). Fails it if not.
void check_space(NodeRun& run, std::uint64_t spool_bytes, std::uint64_t load_bytes);
// Fails a loading node whose architecture (from the probe) is not the one
// an image is built for (by image ID, from image_architectures); with
// `force`, warns and lets it load.
void check_platform(NodeRun& run, const std::vector<WantedImage>& wanted,
                    const std::map<std::string, std::string>& architectures, bool force);

// The files payload's verify: the relay reports the SHA-256 of each file it
// renamed into place (after checking it), and they must be exactly the
// files the node lacked, in order.
void verify_files(NodeRun& run, const Bundle& bundle, const std::vector<std::string>& written);

// After a load (`loaded`: the IDs docker load reported, which must be
// exactly the wanted set) or alone (tag only): check the IDs, apply the
// decision's tags (pinned with `pin` or the decision's), confirm each on
// the node, and drop its staged names (a failure to drop is only a warning).
void verify_and_tag(NodeRun& run, const std::vector<WantedImage>& wanted, const std::vector<std::string>* loaded,
                    bool pin);
// "Docker 20.10.24 (classic)", "containerd 1.6.20 (namespace k8s.io)": for people.
std::string runtime_line(const wire::ProbeReply& probe);

// Runs fn on every node that has not failed, at most `workers` at once. A
// NodeError fails that node only; the others go on.
template <typename Fn>
void for_each_node(std::vector<NodeRun>& runs, std::size_t workers, Fn fn) {
  asio::thread_pool pool(std::max<std::size_t>(1, workers));
  for (auto& run : runs) {
    if (run.failed()) continue;
    asio::post(pool, [&run, &fn] {
      try {
        if (shutdown_flag()) throw NodeError("cancelled", "interrupted before this step");
        fn(run);
      } catch (const NodeError& e) {
        run.fail(e.step, e.what());
      } catch (const std::exception& e) {
        run.fail("", e.what());
      }
    });
  }
  pool.join();
}

}  // namespace treesync
