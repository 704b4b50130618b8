// Every message type of src/wire/messages.h: it survives the wire, decoding
// refuses anything that is not exactly that message, and docs/protocol.md
// documents each one with exactly its fields. The types are taken from the
// tuples, so a new message cannot be left out.
#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "relay/listener.h"
#include "relay/receiver.h"
#include "src/wire/messages.h"

using wire::Json;

namespace {

using AllMessages = decltype(std::tuple_cat(wire::ControlRequests{}, wire::ControlReplies{}, wire::ControlEvents{},
                                            wire::LinkMessages{}));

// Calls f(M{}) for every M of the tuple.
template <typename Tuple, typename F>
void for_each_type(F&& f) {
  std::apply([&](auto... m) { (f(m), ...); }, Tuple{});
}

std::string digest(char c) { return "sha256:" + std::string(64, c); }

// A message with no field at its default value, nested objects filled too.
template <typename M>
M sample();

template <>
wire::ProbeRequest sample() {
  return {{digest('1'), digest('2')}, true, "containerd", "/run/k3s/containerd/containerd.sock", "k8s.io", "yes"};
}
template <>
wire::ReceiveRequest sample() {
  wire::ReceiveRequest r;
  r.parts = {{wire::PartKind::Config, digest('c'), wire::Codec::None, 1234, 1234},
             {wire::PartKind::Layer, digest('d'), wire::Codec::Zstd, 500, 9000},
             {wire::PartKind::Layer, digest('e'), wire::Codec::None, 77, 77}};
  r.load = {0, 2};
  r.images = {{digest('c'), {digest('e'), digest('d')}, 1234, {77, 9000}}};
  r.listen = "10.1.2.3";
  r.parents = {{std::string(64, 'f'), true}, {std::string(64, 'a'), false}};
  r.window = 512ull << 20;
  return r;
}
template <>
wire::FilesProbe sample() {
  wire::Part file{wire::PartKind::File, digest('f'), wire::Codec::None, 42, 42};
  file.path = "llama/weights-1.bin";
  file.mode = 0644;
  file.mtime_ns = 1700000000123456789ull;
  return {"/var/lib/models", {file}, {{"llama", 0750}}, true};
}
template <>
wire::FilesProbed sample() {
  return {{0, 3}, 2, 1ull << 40, 5ull << 30, true};
}
template <>
wire::ExpectParent sample() {
  return {3, std::string(64, '9'), true};
}
template <>
wire::ForwardRequest sample() {
  return {{{"node-7", "10.0.0.7", 40123, 0, {1, 4}, std::string(64, '7')}, {"node-8", "fd00::8", 1, 15, {0}, "k8"}},
          50000000,
          true};
}
template <>
wire::TagRequest sample() {
  return {digest('a'), {"registry:5000/team/app:1.2", "app:latest"}, true,
          {"treesync.invalid/registry_5000/team/app/treesync-staged:1.2"}};
}
template <>
wire::Hello sample() {
  return {4242};
}
template <>
wire::ProbeReply sample() {
  wire::ProbeReply r;
  r.runtime = "podman";
  r.version = "4.3.1";
  r.store = "overlay";
  r.arch = "arm64";
  r.sudo = true;
  r.root_dir = "/var/lib/containers/storage";
  r.temp_dir = "/var/tmp";
  r.temp_free = 12345;
  r.root_free = 1ull << 40;
  r.spool_free = (1ull << 63) + 5;  // past what a signed 64-bit number holds
  r.spool_on_root = true;
  r.images = {{digest('1'), {true, {"app:1", "app:latest"}}}, {digest('2'), {false, {}}}};
  r.layers = {{digest('3'), digest('4')}, {}};
  return r;
}
template <>
wire::Listening sample() {
  return {65535};
}
template <>
wire::Forwarding sample() {
  return {3};
}
template <>
wire::Loaded sample() {
  return {{digest('5')}, 123456789, 123999999};
}
template <>
wire::Tagged sample() {
  return {digest('6')};
}
template <>
wire::ShareRelay sample() {
  return {"10.0.0.7", std::string(64, 'b')};
}
template <>
wire::Sharing sample() {
  return {40000};
}
template <>
wire::ErrorReply sample() {
  return {"verify", "1234/layer.tar failed its SHA-256 check 3 times"};
}
template <>
wire::Progress sample() {
  return {1u << 30, true, {1u << 28, 1u << 29, 0, 7}};
}
template <>
wire::Received sample() {
  return {5000000000ull};
}
template <>
wire::Forwarded sample() {
  return {"node-3", 2, 77};
}
template <>
wire::ChildFailed sample() {
  return {"node-4", 1, "byte 0 has left this node's spool window", true};
}
template <>
wire::Corrupt sample() {
  return {1u << 20, "10.0.0.9"};
}
template <>
wire::Refused sample() {
  return {"10.0.0.66", "did not prove the key", 17};
}
template <>
wire::BadPart sample() {
  return {digest('b'), "10.0.0.2", 3u << 20};
}
template <>
wire::ParentExpected sample() {
  return {5, std::string(64, 'e')};
}
template <>
wire::Challenge sample() {
  return {std::string(32, 'c')};
}
template <>
wire::Answer sample() {
  return {std::string(32, 'a'), std::string(64, 'b')};
}
template <>
wire::Accept sample() {
  return {(1ull << 33) + 1, std::string(64, 'd')};
}
template <>
wire::Resume sample() {
  return {1u << 20};
}

// The field names of M: the keys of its JSON form.
template <typename M>
std::set<std::string> field_names() {
  const Json form = M{};
  std::set<std::string> out;
  for (const auto& item : form.items()) out.insert(item.key());
  return out;
}

// One frame through the encoder and the incremental decoder.
Json over_the_wire(const std::string& bytes) {
  wire::FrameReader reader;
  reader.feed(bytes.data(), bytes.size());
  auto frame = reader.next();
  REQUIRE(frame);
  REQUIRE(frame->kind == wire::Kind::Message);
  REQUIRE(reader.empty());
  return frame->json();
}

struct Mutation {
  std::string what;
  Json message;
};

// Values that may not pass for `v`: any of another JSON type, a fraction for
// an integer, a negative number for an unsigned one, a number past an int's
// range for an int.
std::vector<Json> wrong_values(const Json& v) {
  std::vector<Json> out = {nullptr};
  if (!v.is_string()) out.push_back("7");
  if (!v.is_boolean()) out.push_back(true);
  if (!v.is_number()) out.push_back(7);
  if (v.is_number_unsigned()) out.push_back(-1);
  if (v.is_number_integer()) out.push_back(1.5);
  if (v.is_number_integer() && !v.is_number_unsigned()) out.push_back(std::uint64_t(1) << 40);  // past an int
  if (!v.is_array()) out.push_back(Json::array({v}));
  if (!v.is_object()) out.push_back(Json::object({{"v", v}}));
  return out;
}

// Every way to break one spot of a message: drop a field (not an entry of
// a map, which may hold any keys), or give any value, at any depth, a wrong
// type. `maps` names the top-level fields that are maps.
void mutate(const Json& root, const Json::json_pointer& at, bool is_map, const std::set<std::string>& maps,
            std::vector<Mutation>& out) {
  const Json& node = root[at];
  if (!at.empty())
    for (const Json& bad : wrong_values(node)) {
      Json m = root;
      m[at] = bad;
      out.push_back({at.to_string() + " = " + bad.dump(), m});
    }
  if (node.is_object()) {
    for (const auto& item : node.items()) {
      if (at.empty() && item.key() == "type") continue;
      if (!is_map) {
        Json m = root;
        m[at].erase(item.key());
        out.push_back({"without " + (at / item.key()).to_string(), m});
      }
      mutate(root, at / item.key(), at.empty() && maps.count(item.key()) > 0, maps, out);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) mutate(root, at / i, false, maps, out);
  }
}

template <typename M>
std::vector<Mutation> mutations() {
  const Json defaults = M{};
  std::set<std::string> maps;  // a default-constructed map is an empty object; a struct never is
  for (const auto& item : defaults.items())
    if (item.value().is_object() && item.value().empty()) maps.insert(item.key());
  std::vector<Mutation> out;
  mutate(wire::to_message(sample<M>()), Json::json_pointer(), false, maps, out);
  return out;
}

}  // namespace

TEST_CASE("every message type has its own type name") {
  std::set<std::string> names;
  std::size_t count = 0;
  for_each_type<AllMessages>([&](auto m) {
    using M = decltype(m);
    INFO(M::kType);
    CHECK(std::regex_match(std::string(M::kType), std::regex("[a-z_]+")));
    CHECK(field_names<M>().count("type") == 0);  // "type" is the envelope's
    names.insert(M::kType);
    ++count;
  });
  CHECK(names.size() == count);
}

TEST_CASE("every message survives the wire with every field") {
  for_each_type<AllMessages>([&](auto m) {
    using M = decltype(m);
    INFO(M::kType);
    const M sent = sample<M>();
    const Json as_sent = wire::to_message(sent);
    CHECK(as_sent["type"] == M::kType);
    // The sample sets every field, so a field the codec dropped or mixed up shows.
    const Json defaults = Json(M{});
    for (const auto& name : field_names<M>()) {
      INFO("field " << name);
      CHECK(as_sent.at(name) != defaults.at(name));
    }
    const Json received = over_the_wire(wire::encode(sent));
    CHECK(received == as_sent);
    const M decoded = wire::from_message<M>(received);
    CHECK(wire::to_message(decoded) == as_sent);
  });
}

TEST_CASE("decoding refuses a message with a field missing or of the wrong type, at any depth") {
  std::set<std::string> tried;
  for_each_type<AllMessages>([&](auto m) {
    using M = decltype(m);
    for (const Mutation& bad : mutations<M>()) {
      INFO(M::kType << ": " << bad.what << "\n" << bad.message.dump());
      CHECK_THROWS_AS(wire::from_message<M>(bad.message), wire::Error);
      tried.insert(M::kType + (": " + bad.what));
    }
  });
  // The walk reaches into arrays, objects in arrays, and map entries, but
  // removes no map entry (a map may hold any keys).
  CHECK(tried.count("receive: /parts/1/raw = -1"));
  CHECK(tried.count("forward: /children/0/port = true"));
  // A stripe past an int must not wrap to stripe 0, nor a missing one default to it.
  CHECK(tried.count("expect_parent: /stripe = 1099511627776"));
  CHECK(tried.count("forward: /children/0/stripe = 1099511627776"));
  CHECK(tried.count("expect_parent: without /stripe"));
  CHECK(tried.count("receive: without /parents/0/key"));
  CHECK(tried.count("probed: /layers/0/1 = 7"));
  CHECK(tried.count("probed: without /images/" + digest('1') + "/present"));
  CHECK_FALSE(tried.count("probed: without /images/" + digest('1')));
  CHECK(tried.count("probed: /images/" + digest('1') + " = null"));
}

TEST_CASE("decoding refuses a message of another type, or none") {
  for_each_type<AllMessages>([&](auto m) {
    using M = decltype(m);
    INFO(M::kType);
    // Each other message, as it is sent.
    for_each_type<AllMessages>([&](auto other) {
      using N = decltype(other);
      if (std::string(N::kType) == M::kType) return;
      INFO("given " << N::kType);
      CHECK_THROWS_AS(wire::from_message<M>(wire::to_message(sample<N>())), wire::Error);
    });
    // The right fields under another name, no name, or a name that is no string.
    Json j = wire::to_message(sample<M>());
    for (const Json& type : {Json("nonsense"), Json(""), Json(7), Json(nullptr), Json::array({M::kType})}) {
      j["type"] = type;
      CHECK_THROWS_AS(wire::from_message<M>(j), wire::Error);
    }
    j.erase("type");
    CHECK_THROWS_AS(wire::from_message<M>(j), wire::Error);
    // Not an object at all.
    for (const Json& not_object :
         {Json::array({wire::to_message(sample<M>())}), Json(M::kType), Json(1), Json(nullptr), Json(true)})
      CHECK_THROWS_AS(wire::from_message<M>(not_object), wire::Error);
  });
}

TEST_CASE("a receive request with a part the relay could be misled by is refused as a wire::Error") {
  // tests/bundle_test.cpp checks Part's own rules; here they must surface
  // through from_message as the one error type the relay answers with.
  const Json good = wire::to_message(sample<wire::ReceiveRequest>());
  REQUIRE_NOTHROW(wire::from_message<wire::ReceiveRequest>(good));
  const std::vector<std::pair<std::string, Json>> bad = {
      {"digest", "sha256:" + std::string(64, 'c') + "/../../etc"},
      {"digest", "layer.tar"},
      {"kind", "manifest"},
      {"codec", "gzip"},
      {"raw", 1235},  // an uncompressed part whose sizes differ
  };
  for (const auto& [field, value] : bad) {
    Json j = good;
    j["parts"][0][field] = value;
    INFO(j["parts"][0].dump());
    CHECK_THROWS_AS(wire::from_message<wire::ReceiveRequest>(j), wire::Error);
  }
  Json zstd = good;
  zstd["parts"][1]["raw"] = 1;  // a zstd part may decode to any size
  CHECK_NOTHROW(wire::from_message<wire::ReceiveRequest>(zstd));
}

// --- docs/protocol.md against the code ----------------------------------------

namespace {

std::string read_doc() {
  const std::string path = std::string(TREESYNC_SOURCE_DIR) + "/docs/protocol.md";
  std::ifstream in(path);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

struct Row {
  std::size_t line;
  std::vector<std::string> cells;
};

// The rows of every Markdown table in the document.
std::vector<Row> table_rows(const std::string& doc) {
  std::vector<Row> rows;
  std::istringstream in(doc);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.size() < 2 || line.front() != '|' || line.back() != '|') continue;
    Row row{n, {}};
    std::istringstream cells(line.substr(1, line.size() - 2));
    for (std::string cell; std::getline(cells, cell, '|');) row.cells.push_back(trim(cell));
    rows.push_back(row);
  }
  return rows;
}

// Every `name` in a cell, in order.
std::vector<std::string> quoted(const std::string& cell) {
  std::vector<std::string> out;
  static const std::regex re("`([^`]*)`");
  for (std::sregex_iterator it(cell.begin(), cell.end(), re), end; it != end; ++it) out.push_back((*it)[1]);
  return out;
}

// A row's quoted names must be the fields of the JSON form, each once.
void check_fields(const Row& row, std::size_t column, const Json& form) {
  std::set<std::string> expected;
  for (const auto& item : form.items()) expected.insert(item.key());
  std::vector<std::string> listed = quoted(row.cells.at(column));
  INFO("docs/protocol.md:" << row.line << " lists " << row.cells.at(column));
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == expected);
  CHECK(listed.size() == expected.size());
}

// Who sends each message: the tuple it is in says, for the control channel.
template <typename M>
std::set<std::string> senders() {
  if (std::apply([](auto... m) { return ((std::string(decltype(m)::kType) == M::kType) || ...); },
                 wire::ControlRequests{}))
    return {"treesync"};
  if (std::apply([](auto... m) { return ((std::string(decltype(m)::kType) == M::kType) || ...); },
                 wire::LinkMessages{}))
    return {"sender", "receiver"};
  return {"relay"};
}

const std::set<std::string> kFromColumn = {"treesync", "relay", "sender", "receiver"};

}  // namespace

TEST_CASE("docs/protocol.md has one table row per message, with exactly its fields") {
  const std::vector<Row> rows = table_rows(read_doc());
  std::map<std::string, std::vector<Row>> by_type;  // rows of the message tables: | from | `type` | fields | meaning |
  for (const Row& row : rows)
    if (row.cells.size() == 4 && kFromColumn.count(row.cells[0])) by_type[row.cells[1]].push_back(row);

  std::set<std::string> known;
  for_each_type<AllMessages>([&](auto m) {
    using M = decltype(m);
    const std::string name = std::string("`") + M::kType + "`";
    known.insert(name);
    INFO("message " << name);
    REQUIRE(by_type[name].size() == 1);
    const Row& row = by_type[name].front();
    CHECK(senders<M>().count(row.cells[0]) == 1);
    check_fields(row, 2, Json(M{}));
    CHECK_FALSE(row.cells[3].empty());
  });
  for (const auto& [type, rows_of_type] : by_type) {
    INFO("docs/protocol.md:" << rows_of_type.front().line << " documents " << type);
    CHECK(known.count(type) == 1);  // a message the code does not have
  }
}

TEST_CASE("docs/protocol.md documents the objects inside messages with exactly their fields") {
  const std::map<std::string, Json> objects = {{"part", Json(wire::Part{})},
                                               {"plan image", Json(wire::PlanImage{})},
                                               {"child edge", Json(wire::ChildEdge{})},
                                               {"image state", Json(wire::ImageState{})},
                                               {"directory", Json(wire::DirEntry{})}};
  std::map<std::string, int> seen;
  for (const Row& row : table_rows(read_doc())) {  // | object | fields | meaning |
    if (row.cells.size() != 3 || !objects.count(row.cells[0])) continue;
    ++seen[row.cells[0]];
    check_fields(row, 1, objects.at(row.cells[0]));
  }
  for (const auto& [name, form] : objects) {
    INFO("object " << name);
    CHECK(seen[name] == 1);
  }
}

TEST_CASE("docs/protocol.md names no message type in JSON that the code lacks") {
  std::set<std::string> known;
  for_each_type<AllMessages>([&](auto m) { known.insert(decltype(m)::kType); });
  const std::string doc = read_doc();
  static const std::regex re("\"type\" *: *\"([^\"]*)\"");
  for (std::sregex_iterator it(doc.begin(), doc.end(), re), end; it != end; ++it) {
    INFO((*it)[0]);
    CHECK(known.count((*it)[1]) == 1);
  }
}

TEST_CASE("docs/protocol.md states the limits and the MAC inputs the code has") {
  std::string doc;  // with every run of white space one space, as Markdown reads it
  for (char c : read_doc())
    if (!std::isspace(static_cast<unsigned char>(c)))
      doc += c;
    else if (!doc.empty() && doc.back() != ' ')
      doc += ' ';
  const std::vector<std::pair<std::string, std::uint64_t>> limits = {
      {"kMaxFrame", wire::kMaxFrame},       {"kMaxHandshakeFrame", wire::kMaxHandshakeFrame},
      {"kMaxDataFrame", wire::kMaxDataFrame}, {"kChunkSize", wire::kChunkSize},
      {"kMaxPending", relay::kMaxPending},   {"kHandshakeMs", relay::kHandshakeMs},
      {"kMaxBadParts", relay::kMaxBadParts}};
  for (const auto& [name, value] : limits) {
    INFO(name << " is " << value);
    CHECK(doc.find("`" + name + "` = " + std::to_string(value)) != std::string::npos);
  }
  // tests/edge_auth_test.cpp pins the code to the same inputs.
  CHECK(doc.find(R"(answer mac = HMAC(key, "treesync edge answer\n" R "\n" S))") != std::string::npos);
  CHECK(doc.find(R"(accept mac = HMAC(key, "treesync edge accept\n" R "\n" S "\n" O))") != std::string::npos);
}
