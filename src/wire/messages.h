// Every message treesync and its relays exchange, as types with one JSON
// conversion each (docs/protocol.md is checked against this file by
// tests/messages_test.cpp). Both programs encode and decode through here;
// decoding a message from a peer throws wire::Error for a missing field, a
// wrong type or an unknown value, so no handler sees a half-valid message.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "src/wire/bundle.h"
#include "src/wire/protocol.h"

namespace wire {

// --- The control channel (SSH): treesync -> relay ---------------------------

struct ProbeRequest {
  static constexpr const char* kType = "probe";
  std::vector<std::string> images;  // image IDs: config digests
  bool layers = false;              // also the layer lists of every local image
  std::string runtime;              // "docker", "containerd", "podman", or "" to detect
  std::string socket;               // containerd's socket, "" for its default
  std::string ns;                   // containerd's namespace, "" for k8s.io
  std::string sudo;                 // run the runtime through `sudo -n`: "yes", "no", or "" to detect
};

// One image of a run, as the relay writes it into manifest.json: its config
// and its layers by digest, nothing a peer could choose.
struct PlanImage {
  std::string config;               // sha256:<hex> of the config: the image ID
  std::vector<std::string> layers;  // diff IDs, base first
  std::uint64_t config_size = 0;    // what an OCI manifest says of each blob
  std::vector<std::uint64_t> layer_sizes;
};

struct StripeParent {
  std::string key;      // the secret of the edge that feeds the stripe
  bool source = false;  // that parent is the source: its bad copies count against the node
};

struct ReceiveRequest {
  static constexpr const char* kType = "receive";
  std::vector<Part> parts;         // the node's stream
  std::vector<std::size_t> load;   // positions in parts the runtime loads
  std::vector<PlanImage> images;   // what the load must produce
  std::string listen;              // numeric IP to listen on
  // One per stripe (stripe_map.h; one: the stream is not striped): the
  // first parent of each stripe's stream.
  std::vector<StripeParent> parents;
  std::uint64_t window = 0;        // most bytes of the stream the spool keeps (0: all)
};

// A new parent (after a failure or a bad part): only it may feed us now.
struct ExpectParent {
  static constexpr const char* kType = "expect_parent";
  int stripe = 0;  // of the stripe it feeds
  std::string key;
  bool source = false;  // the new parent is the source
};

struct ChildEdge {
  std::string name;
  std::string address;  // numeric IP
  int port = 0;
  int stripe = 0;                  // the stripe of ours it gets (a striped child's carries all our parts)
  std::vector<std::size_t> parts;  // positions in our stream that the child's carries
  std::string key;                 // the secret of this edge
};

struct ForwardRequest {
  static constexpr const char* kType = "forward";
  std::vector<ChildEdge> children;
  // The relay's upload cap in bits per second on the wire, shared by all its
  // children's senders; 0: none. The source names the same cap every time.
  std::uint64_t limit = 0;
  // With no cap: pace the relay's senders under what its link delivers (pace.h).
  bool pace = false;
};

struct TagRequest {
  static constexpr const char* kType = "tag";
  std::string id;
  std::vector<std::string> refs;
  bool pin = false;  // containerd: keep the image from kubelet's garbage collection
  std::vector<std::string> untag;  // names to take off the image after tagging (its staged ones)
};

// Lend this relay's own binary to nodes of the run that lack it (docs/
// protocol.md, "Relays that travel"): listen on `listen` for fetches that
// show a one-time token made from `secret`.
struct ShareRelay {
  static constexpr const char* kType = "share_relay";
  std::string listen;  // numeric IP
  std::string secret;  // hex, wire::kEdgeKeyBytes
};

// The files payload (docs/guide.en.md, --files): where the files go and
// what the whole payload is; the relay answers which it holds already, and
// keeps this for the receive that follows (it writes only these paths,
// under `dest`, and with `mirror` removes what is not among them).
struct DirEntry {
  std::string path;  // relative to dest, checked as a file's
  std::uint32_t mode = 0755;
};

struct FilesProbe {
  static constexpr const char* kType = "probe_files";
  std::string dest;            // absolute: the operator's directory on the node
  std::vector<Part> files;     // kind file, each with its path, mode, mtime
  std::vector<DirEntry> dirs;  // every directory of the payload, parents first
  bool mirror = false;         // --delete
};

// --- The control channel: relay -> treesync (replies) ------------------------

struct Hello {
  static constexpr const char* kType = "hello";
  int pid = 0;
};

struct ImageState {
  bool present = false;
  std::vector<std::string> tags;
};

struct ProbeReply {
  static constexpr const char* kType = "probed";
  std::string runtime;  // "docker", "containerd" or "podman"
  std::string version;  // the runtime's
  std::string store;    // Docker: "classic" or "containerd"; else the runtime's storage driver
  std::string arch;     // the node's platform, as images name it ("amd64", "arm64", …)
  bool sudo = false;    // the relay runs the runtime through `sudo -n`
  std::string root_dir;  // where the runtime keeps images
  std::uint64_t root_free = 0;
  std::string temp_dir;  // where its load stages the archive elsewhere (podman), or ""
  std::uint64_t temp_free = 0;
  std::uint64_t spool_free = 0;
  bool spool_on_root = false;  // the spool shares root_dir's filesystem: their needs add up
  std::map<std::string, ImageState> images;     // by the IDs asked for
  std::vector<std::vector<std::string>> layers;  // every local image's diff IDs, if asked
};

struct FilesProbed {
  static constexpr const char* kType = "files_probed";
  std::vector<std::size_t> have;  // positions in the probe's files already at dest with these contents, mode, mtime
  std::size_t fixes = 0;          // directories to create or re-mode, and with mirror entries to remove
  std::uint64_t dest_free = 0;
  std::uint64_t spool_free = 0;
  bool spool_on_dest = false;     // the spool shares dest's filesystem: their needs add up
};

struct Listening {
  static constexpr const char* kType = "listening";
  int port = 0;
};

struct Sharing {
  static constexpr const char* kType = "sharing";
  int port = 0;
};

struct Forwarding {
  static constexpr const char* kType = "forwarding";
  std::size_t children = 0;
};

struct Loaded {
  static constexpr const char* kType = "loaded";
  std::vector<std::string> ids;  // what the runtime reported
  std::uint64_t received = 0;
  std::uint64_t wire_bytes = 0;  // chunk bytes that arrived, resends included
};

struct Tagged {
  static constexpr const char* kType = "tagged";
  std::string id;
};

struct ErrorReply {
  static constexpr const char* kType = "error";
  std::string step;
  std::string message;
};

// --- The control channel: relay -> treesync (events, any time) --------------

struct Progress {
  static constexpr const char* kType = "progress";
  std::uint64_t received = 0;
  bool complete = false;
  std::vector<std::uint64_t> stripes;  // bytes held of each stripe's stream
};

struct Received {
  static constexpr const char* kType = "received";
  std::uint64_t bytes = 0;
};

struct Forwarded {
  static constexpr const char* kType = "forwarded";
  std::string child;
  int stripe = 0;
  std::uint64_t bytes = 0;
};

struct ChildFailed {
  static constexpr const char* kType = "child_failed";
  std::string child;
  int stripe = 0;
  std::string message;
  bool behind = false;  // the child needed bytes that had left our spool window
};

struct Corrupt {
  static constexpr const char* kType = "corrupt";
  std::uint64_t offset = 0;
  std::string peer;
};

struct Refused {
  static constexpr const char* kType = "refused";
  std::string peer;
  std::string reason;
  std::uint64_t count = 0;  // connections refused so far
};

// A part whose decoded bytes did not match its digest: the relay dropped
// its parent and rewound; treesync gives it another.
struct BadPart {
  static constexpr const char* kType = "bad_part";
  std::string part;
  std::string peer;
  std::uint64_t offset = 0;  // where the relay resumes
};

// The relay now accepts only the parent with this key (after expect_parent):
// the source may tell that parent to connect.
struct ParentExpected {
  static constexpr const char* kType = "parent_expected";
  int stripe = 0;
  std::string key;
};

// --- The data link (TCP between a sender and a receiver) ---------------------

// receiver -> sender, first: a fresh nonce to answer.
struct Challenge {
  static constexpr const char* kType = "challenge";
  std::string nonce;
};

// sender -> receiver: proof it holds the edge's key, and its own nonce.
struct Answer {
  static constexpr const char* kType = "answer";
  std::string nonce;
  std::string mac;
};

// receiver -> sender: accepted; proof the receiver holds the key too, and
// where its spool ends.
struct Accept {
  static constexpr const char* kType = "accept";
  std::uint64_t offset = 0;
  std::string mac;
};

// receiver -> sender, later: send again from here (a chunk failed its check).
struct Resume {
  static constexpr const char* kType = "resume";
  std::uint64_t offset = 0;
};

using ControlRequests =
    std::tuple<ProbeRequest, FilesProbe, ReceiveRequest, ExpectParent, ForwardRequest, TagRequest, ShareRelay>;
using ControlReplies =
    std::tuple<Hello, ProbeReply, FilesProbed, Listening, Forwarding, Loaded, Tagged, Sharing, ErrorReply>;
using ControlEvents = std::tuple<Progress, Received, Forwarded, ChildFailed, Corrupt, Refused, BadPart, ParentExpected>;
using LinkMessages = std::tuple<Challenge, Answer, Accept, Resume>;

// Strict conversions: from_json throws for a missing field or a wrong type.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ProbeRequest, images, layers, runtime, socket, ns, sudo)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DirEntry, path, mode)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FilesProbe, dest, files, dirs, mirror)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FilesProbed, have, fixes, dest_free, spool_free, spool_on_dest)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PlanImage, config, layers, config_size, layer_sizes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StripeParent, key, source)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReceiveRequest, parts, load, images, listen, parents, window)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ExpectParent, stripe, key, source)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ChildEdge, name, address, port, stripe, parts, key)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ForwardRequest, children, limit, pace)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TagRequest, id, refs, pin, untag)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ShareRelay, listen, secret)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Hello, pid)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ImageState, present, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ProbeReply, runtime, version, store, arch, sudo, root_dir, root_free, temp_dir, temp_free, spool_free, spool_on_root, images, layers)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Listening, port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Forwarding, children)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Loaded, ids, received, wire_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Tagged, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Sharing, port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ErrorReply, step, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Progress, received, complete, stripes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Received, bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Forwarded, child, stripe, bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ChildFailed, child, stripe, message, behind)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Corrupt, offset, peer)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Refused, peer, reason, count)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BadPart, part, peer, offset)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ParentExpected, stripe, key)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Challenge, nonce)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Answer, nonce, mac)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Accept, offset, mac)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Resume, offset)

// A message as JSON, with its "type".
template <typename M>
Json to_message(const M& m) {
  Json j = m;
  j["type"] = M::kType;
  return j;
}

template <typename M>
std::string encode(const M& m) {
  return encode_message(to_message(m));
}

// The type a message says it is ("" if none).
std::string type_of(const Json& j);

// Whether every value of `decoded` (a message converted to its type and
// back) is in `sent` exactly as it was: nlohmann's conversions take true or
// 1.5 for an integer and wrap -1 into an unsigned one.
bool converts_back(const Json& sent, const Json& decoded);

// Throws wire::Error unless j is a well-formed M.
template <typename M>
M from_message(const Json& j) {
  if (type_of(j) != M::kType) throw Error(std::string("expected a '") + M::kType + "' message, got '" + type_of(j) + "'");
  M m;
  try {
    m = j.get<M>();
  } catch (const Json::exception& e) {
    throw Error(std::string("malformed '") + M::kType + "' message: " + e.what());
  }
  if (!converts_back(j, Json(m)))
    throw Error(std::string("malformed '") + M::kType + "' message: a value of the wrong type or out of range");
  return m;
}

}  // namespace wire
