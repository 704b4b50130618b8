// When a sync stops waiting for the probes still running and goes on with
// the nodes that have answered (the late ones get a round of their own,
// sync.cpp). No barrier: a hung runtime must cost the others a fraction of a
// second, while a node that answers a moment after the rest (a slower login,
// a longer path) still joins the first round. Pure code, no I/O
// (tests/probe_quiet_test.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <vector>

namespace treesync {

using ProbeTime = std::chrono::steady_clock::duration;

// The grace a probe gets past the slowest answer so far: twice the answers'
// spread (how far apart nodes alike answer) or half the slowest answer (a
// probe's own pace: links with more latency answer later and further apart),
// within [kProbeQuietFloor, kProbeQuietCap]. `answered`: how long each probe
// that answered took; not empty.
constexpr ProbeTime kProbeQuietFloor = std::chrono::milliseconds(250);
constexpr ProbeTime kProbeQuietCap = std::chrono::seconds(3);
ProbeTime probe_quiet(const std::vector<ProbeTime>& answered);

// When (since the probes began) the run goes on without the probes still
// running: once each has run for the slowest answer plus probe_quiet.
// Probes not started yet (queued behind the workers) are not late: a worker
// freed by an answer starts one, which then counts. `running`: when each
// probe still running started. Nothing while no probe has answered, or none
// runs (the next is about to start).
std::optional<ProbeTime> probes_go_on_at(const std::vector<ProbeTime>& answered, const std::vector<ProbeTime>& running);

}  // namespace treesync
