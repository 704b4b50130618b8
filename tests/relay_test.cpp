// The relay's spool and receiver (relay/spool.h, relay/receiver.h), with a
// stand-in for `docker load` that keeps the archive it is given.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <zstd.h>

#include "relay/receiver.h"
#include "src/runtime/docker.h"
#include "src/wire/oci.h"
#include "relay/spool.h"
#include "src/wire/digest.h"
#include "src/wire/tar.h"

using wire::Json;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/treesync-test-XXXXXX";
    REQUIRE(::mkdtemp(name));
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string hex_of(const std::string& digest) { return digest.substr(7); }

std::string read_all(relay::Spool& spool) {
  std::string out(spool.written(), '\0');
  std::size_t at = 0;
  while (at < out.size()) at += spool.read(at, &out[at], out.size() - at);
  return out;
}

}  // namespace

TEST_CASE("manifest.json: configs and layers by digest, no tags") {
  const std::string c1 = wire::sha256_digest("config 1"), c2 = wire::sha256_digest("config 2");
  const std::string l1 = wire::sha256_digest("layer 1"), l2 = wire::sha256_digest("layer 2");
  Json m = Json::parse(relay::docker_manifest_json({{c1, {l1, l2}, 0, {}}, {c2, {}, 0, {}}}, false));
  REQUIRE(m.is_array());
  REQUIRE(m.size() == 2);
  CHECK(m[0] == Json({{"Config", hex_of(c1) + ".json"},
                      {"RepoTags", nullptr},
                      {"Layers", {hex_of(l1) + "/layer.tar", hex_of(l2) + "/layer.tar"}}}));
  CHECK(m[1]["Config"] == hex_of(c2) + ".json");
  CHECK(m[1]["RepoTags"].is_null());
  CHECK(m[1]["Layers"] == Json::array());
  CHECK(relay::docker_manifest_json({}, false) == "[]");
  // In an OCI layout, the same manifest points into blobs/.
  Json oci = Json::parse(relay::docker_manifest_json({{c1, {l1}, 0, {}}}, true));
  CHECK(oci[0]["Config"] == "blobs/sha256/" + hex_of(c1));
  CHECK(oci[0]["Layers"] == Json({"blobs/sha256/" + hex_of(l1)}));
}

TEST_CASE("spool: bytes come back in order; appending past the end is refused") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 10);
  struct stat st;
  REQUIRE(::stat((dir.path + "/spool").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THROWS(relay::Spool(dir.path + "/spool", 10));  // created exclusively
  spool.append("abcd");
  spool.append("efgh");
  CHECK(spool.written() == 8);
  CHECK(read_all(spool) == "abcdefgh");
  CHECK_THROWS_WITH(spool.append("ijk"), Catch::Contains("past the end"));
  spool.append("ij");
  char buf[4];
  CHECK(spool.read(10, buf, sizeof buf) == 0);  // the end
}

TEST_CASE("spool: rewind forgets the bytes past it, and appending goes on there") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 10);
  spool.append("abcdef");
  spool.rewind(8);  // past what is written: nothing to forget
  CHECK(spool.written() == 6);
  spool.rewind(2);
  CHECK(spool.written() == 2);
  spool.append("XYZW");
  CHECK(spool.written() == 6);
  CHECK(read_all(spool) == "abXYZW");
}

TEST_CASE("spool: a reader waiting past a rewind gets the new bytes, not the old") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 10);
  spool.append("abcdef");
  spool.rewind(2);
  std::atomic<bool> returned{false};
  std::string got;
  std::thread reader([&] {
    char buf[4];
    got.assign(buf, spool.read(4, buf, sizeof buf));
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(returned);  // offset 4 is no longer written
  spool.append("XY");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(returned);  // nor now: bytes 2..3
  spool.append("ZW");
  reader.join();
  CHECK(got == "ZW");
}

TEST_CASE("spool: abort wakes a waiting reader with the reason") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 10);
  std::string error;
  std::thread reader([&] {
    char buf[4];
    try {
      spool.read(0, buf, sizeof buf);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  spool.abort("receive cancelled");
  reader.join();
  CHECK(error == "receive cancelled");
}

namespace {
std::uint64_t file_size(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}
std::string read_at(relay::Spool& spool, std::uint64_t offset, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t at = 0; at < n;) at += spool.read(offset + at, &out[at], n - at);
  return out;
}
}  // namespace

TEST_CASE("spool window: the file never grows past it; a reader behind it is told its bytes are gone") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 100, 10);
  CHECK(spool.capacity() == 10);
  for (const char* piece : {"abcd", "efgh", "ijkl", "mnop", "qrst"}) spool.append(piece);
  CHECK(spool.written() == 20);
  CHECK(file_size(dir.path + "/spool") <= 10);
  CHECK(spool.oldest() == 10);
  CHECK(read_at(spool, 10, 10) == "klmnopqrst");  // across the wrap
  char buf[4];
  CHECK_THROWS_AS(spool.read(9, buf, sizeof buf), relay::Evicted);
  CHECK_THROWS_WITH(spool.read(0, buf, sizeof buf), Catch::Contains("left this node's spool window"));
  // A window as big as the stream is no window.
  relay::Spool whole(dir.path + "/whole", 6, 64);
  CHECK(whole.capacity() == 6);
}

TEST_CASE("spool window: the writer never overwrites what the load has not read") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 100, 8, std::chrono::milliseconds(20));
  const auto load = spool.add_reader(false);
  spool.append("abcdefgh");
  CHECK_FALSE(spool.wait_for_room(1, 100));  // long past the patience: the load is never given up on
  CHECK_THROWS_WITH(spool.append("i"), Catch::Contains("does not fit the spool window"));
  char buf[4];
  REQUIRE(spool.read(0, buf, 4, load) == 4);  // the load read the first four
  CHECK(spool.wait_for_room(4, 20));
  CHECK_FALSE(spool.wait_for_room(5, 20));
  spool.append("ijkl");
  CHECK(read_at(spool, 4, 8) == "efghijkl");  // a read that holds nothing back
  // A writer waiting for room wakes when the load moves on.
  std::thread loader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    char more[8];
    spool.read(4, more, 8, load);
  });
  CHECK(spool.wait_for_room(4, 5000));
  loader.join();
  spool.append("mnop");
  spool.remove_reader(load);  // a load that ended holds nothing back
  CHECK(spool.wait_for_room(8, 20));
}

TEST_CASE("spool window: a child is waited for, until it has sat at the window's far end for the patience") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 100, 8, std::chrono::milliseconds(200));
  const auto fast = spool.add_reader(true), slow = spool.add_reader(true);
  spool.append("abcdefgh");
  char buf[8];
  REQUIRE(spool.read(0, buf, 8, fast) == 8);
  REQUIRE(spool.read(0, buf, 1, slow) == 1);  // 7 of 8 behind: the far end
  CHECK(spool.wait_for_room(1, 20));          // both have read the first byte
  CHECK_FALSE(spool.wait_for_room(8, 50));    // the slow one still needs 1..7, and has some patience left
  const auto before = std::chrono::steady_clock::now();
  CHECK(spool.wait_for_room(8, 5000));        // then it is given up on
  CHECK(std::chrono::steady_clock::now() - before >= std::chrono::milliseconds(100));
  CHECK_THROWS_AS(spool.read(1, buf, 4, slow), relay::Evicted);  // its bytes are still there, but it is out
  spool.append("ijklmnop");
  CHECK(read_at(spool, 8, 8) == "ijklmnop");
  CHECK(spool.read(8, buf, 8, fast) == 8);  // the fast one goes on
}

TEST_CASE("spool window: a child that lets the writer on a byte at a time is given up on after the patience") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 2000, 8, std::chrono::milliseconds(300));
  const auto child = spool.add_reader(true);
  std::atomic<bool> evicted{false};
  std::thread reader([&] {
    char b;
    try {
      for (std::uint64_t at = 0; spool.read(at, &b, 1, child) == 1; ++at)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } catch (const relay::Evicted&) {
      evicted = true;
    }
  });
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t written = 0;
  while (written < 2000 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10))
    if (spool.wait_for_room(1, 100)) {
      spool.append("x");
      ++written;
    }
  const auto took = std::chrono::steady_clock::now() - start;
  reader.join();
  CHECK(evicted);
  CHECK(written == 2000);  // at 100 bytes a second it would have taken 20 s
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("spool window: a child that comes, or goes back, after the writer made room is given up on, not the append") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 100, 8, std::chrono::milliseconds(5000));
  spool.append("abcdefgh");
  REQUIRE(spool.wait_for_room(4, 20));      // nobody reads yet: room
  const auto late = spool.add_reader(true);  // a child's sender starts at the oldest byte, in the way
  char buf[4];
  spool.append("ijkl");                      // no throw: the late child is out
  CHECK(spool.written() == 12);
  CHECK_THROWS_AS(spool.read(4, buf, 4, late), relay::Evicted);
  // The load is never given up on: bytes it still needs are refused.
  const auto load = spool.add_reader(false);
  CHECK_THROWS_WITH(spool.append("m"), Catch::Contains("does not fit the spool window"));
  REQUIRE(spool.read(4, buf, 4, load) == 4);
  spool.append("mnop");
  CHECK(spool.written() == 16);
}

TEST_CASE("spool window: a rewind keeps only the bytes no append has overwritten") {
  TempDir dir;
  relay::Spool spool(dir.path + "/spool", 100, 8);
  for (const char* piece : {"abcd", "efgh", "ijkl"}) spool.append(piece);  // bytes 0..3 are gone
  spool.rewind(6);
  CHECK(spool.written() == 6);
  CHECK(spool.oldest() == 4);  // bytes 4, 5 were not overwritten (8..11 were, and are forgotten)
  CHECK(read_at(spool, 4, 2) == "ef");
  spool.append("XYZW");
  CHECK(read_at(spool, 4, 6) == "efXYZW");
  spool.rewind(2);  // before the window: nothing before 2 is held, nothing after it is trusted
  CHECK(spool.oldest() == 2);
  CHECK(spool.written() == 2);
  spool.append("12345678");
  CHECK(read_at(spool, 2, 8) == "12345678");
}

namespace {

// `docker` on PATH for as long as it lives: a script that reports an image
// ID and keeps the archive it reads (or, with present = false, no docker).
class FakeDocker {
 public:
  static constexpr const char* kLoadedId = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  // With `hangs`, a load that never reads its input nor ends.
  explicit FakeDocker(bool present, bool hangs = false) {
    if (present) {
      std::ofstream script(dir_.path + "/docker");
      script << "#!/bin/sh\n";
      if (hangs) script << "exec /bin/sleep 600\n";
      script << "echo 'Loaded image ID: " << kLoadedId << "'\n"
             << "exec /bin/cat > '" << archive_path() << "'\n";
      script.close();
      ::chmod((dir_.path + "/docker").c_str(), 0700);
    }
    const char* path = std::getenv("PATH");
    old_path_ = path ? path : "";
    ::setenv("PATH", dir_.path.c_str(), 1);
  }
  ~FakeDocker() { ::setenv("PATH", old_path_.c_str(), 1); }

  std::string archive_path() const { return dir_.path + "/archive.tar"; }
  // The members of the archive the last load read, by name.
  std::vector<std::pair<wire::TarEntry, std::string>> archive() const {
    std::ifstream in(archive_path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    const std::string bytes = s.str();
    std::vector<std::pair<wire::TarEntry, std::string>> out;
    wire::TarParser parser({[&](const wire::TarEntry& e) { out.push_back({e, ""}); },
                            [&](const char* d, std::size_t n) { out.back().second.append(d, n); }, [] {}});
    parser.feed(bytes.data(), bytes.size());
    CHECK(parser.done());
    return out;
  }

 private:
  TempDir dir_;
  std::string old_path_;
};

// The relay's runtime seam, driving the stand-in docker: a Docker of
// either archive format as far as the receiver can tell.
class TestRuntime : public runtime::Runtime {
 public:
  explicit TestRuntime(runtime::ArchiveFormat f = runtime::ArchiveFormat::DockerArchive) : format_(f) {}
  wire::ProbeReply probe(const std::vector<std::string>&, bool) override { return {}; }
  runtime::ArchiveFormat format() const override { return format_; }
  std::vector<std::string> load_command() const override { return {"docker", "load"}; }
  bool sudo() const override { return false; }
  void begin_load() override {}
  std::vector<std::string> loaded(const std::string& output, const std::vector<wire::PlanImage>&) override {
    return runtime::parse_loaded_ids(output);
  }
  void discard_failed_load(const std::vector<wire::PlanImage>&) override { ++discarded; }
  void tag(const std::string&, const std::vector<std::string>&, bool) override {}
  void untag(const std::string&, const std::vector<std::string>&) override {}
  int discarded = 0;

 private:
  runtime::ArchiveFormat format_;
};

std::string compress(const std::string& text) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  frame.resize(ZSTD_compress2(cctx.get(), frame.data(), frame.size(), text.data(), text.size()));
  return frame;
}

// One image of three parts, and a layer it does not load (for a child):
//   0 config, 1 layer (plain), 2 layer not loaded, 3 layer (zstd).
struct Stream {
  std::string config = R"({"architecture":"amd64","rootfs":{"type":"layers"}})";
  std::string layer1, unloaded, layer3;  // decoded
  std::string layer3_wire;
  wire::ReceiveRequest plan;
  std::string bytes;  // the whole stream as sent

  Stream() {
    std::mt19937 rng(7);
    layer1.resize(300000);
    for (auto& c : layer1) c = static_cast<char>(rng());
    unloaded = std::string(1 << 20, 'u');
    for (int i = 0; i < 200000; ++i) layer3 += "line " + std::to_string(i % 1000) + "\n";
    layer3_wire = compress(layer3);
    auto part = [](wire::PartKind kind, const std::string& decoded, const std::string& sent, wire::Codec codec) {
      return wire::Part{kind, wire::sha256_digest(decoded), codec, sent.size(), decoded.size()};
    };
    plan.parts = {part(wire::PartKind::Config, config, config, wire::Codec::None),
                  part(wire::PartKind::Layer, layer1, layer1, wire::Codec::None),
                  part(wire::PartKind::Layer, unloaded, unloaded, wire::Codec::None),
                  part(wire::PartKind::Layer, layer3, layer3_wire, wire::Codec::Zstd)};
    plan.load = {0, 1, 3};
    plan.images = {{plan.parts[0].digest,
                    {plan.parts[1].digest, plan.parts[3].digest},
                    plan.parts[0].raw,
                    {plan.parts[1].raw, plan.parts[3].raw}}};
    plan.listen = "127.0.0.1";
    plan.parents = {{"k", false}};
    bytes = config + layer1 + unloaded + layer3_wire;
  }
  std::uint64_t start(std::size_t part) const { return wire::part_offsets(plan.parts)[part]; }
  std::uint64_t end(std::size_t part) const { return start(part) + plan.parts[part].size; }
};

// Hands `bytes[from, to)` to the receiver in chunks as a parent would.
void deliver(relay::Receiver& rx, const std::string& bytes, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t at = from; at < to;) {
    std::string body = bytes.substr(at, std::min<std::uint64_t>(wire::kChunkSize, to - at));
    wire::Frame f{wire::Kind::Data, body, at, wire::chunk_hash(body)};
    rx.accept(0, f);
    at += body.size();
  }
}

// Hands stripe s of `bytes` (stripe_map.h) to the receiver as its parent would.
void deliver_stripe(relay::Receiver& rx, const std::string& bytes, int stripes, int s) {
  const wire::StripeMap map(bytes.size(), stripes);
  auto read = wire::stripe_reader(map, s, [&](std::uint64_t offset, char* buf, std::size_t n) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(n, bytes.size() - offset));
    std::copy_n(bytes.data() + offset, len, buf);
    return len;
  });
  std::string body(wire::kChunkSize, '\0');
  for (std::uint64_t at = 0; at < map.stripe_size(s);) {
    body.resize(read(at, body.data(), wire::kChunkSize));
    REQUIRE(rx.accept(s, {wire::Kind::Data, body, at, wire::chunk_hash(body)}));
    at += body.size();
    body.resize(wire::kChunkSize);
  }
}

// What the receiver's on_bad_part reports (the receiver has rewound its spool by then).
struct BadParts {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::size_t, std::uint64_t>> seen;

  relay::Receiver::OnBadPart callback() {
    return [this](std::size_t index, std::uint64_t start) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back({index, start});
      cv.notify_all();
      return true;  // as if every copy came from the source
    };
  }
  bool wait_for(std::size_t count) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= count; });
  }
};

// A receive with the stand-in docker.
struct Receive {
  FakeDocker docker{true};
  TestRuntime runtime;
  TempDir work;
  Stream s;
  BadParts bad;
  relay::Receiver rx{work.path, s.plan, &runtime, bad.callback()};
};

}  // namespace

TEST_CASE_METHOD(Receive, "receiver: the load gets manifest.json and each loaded part, decoded") {
  deliver(rx, s.bytes, 0, s.bytes.size());
  CHECK(rx.complete());
  relay::LoadResult r = rx.finish();
  INFO(r.step << ": " << r.error);
  REQUIRE(r.ok);
  CHECK(bad.seen.empty());
  CHECK(r.ids == std::vector<std::string>{FakeDocker::kLoadedId});
  auto members = docker.archive();
  const std::string h1 = hex_of(s.plan.parts[1].digest), h3 = hex_of(s.plan.parts[3].digest);
  std::vector<std::string> names;
  for (const auto& [entry, data] : members) names.push_back(entry.name);
  CHECK(names == std::vector<std::string>{"manifest.json", hex_of(s.plan.parts[0].digest) + ".json", h1 + "/",
                                          h1 + "/layer.tar", h3 + "/", h3 + "/layer.tar"});
  REQUIRE(members.size() == 6);
  CHECK(members[0].second == relay::docker_manifest_json(s.plan.images, false));
  CHECK(members[1].second == s.config);
  CHECK(members[2].first.type == '5');
  CHECK(members[3].second == s.layer1);
  CHECK(members[5].second == s.layer3);
}

TEST_CASE("receiver: a striped stream loads the same archive, whichever stripe comes first") {
  for (int k : {2, 3}) {
    FakeDocker docker(true);
    TestRuntime runtime;
    TempDir work;
    Stream s;
    REQUIRE(s.bytes.size() > wire::kChunkSize);  // two units at least: both stripes carry bytes
    for (int i = 1; i < k; ++i) s.plan.parents.push_back({"k" + std::to_string(i), false});
    relay::Receiver rx(work.path, s.plan, &runtime, [](std::size_t, std::uint64_t) { return true; });
    for (int stripe = k - 1; stripe >= 0; --stripe) {
      CHECK_FALSE(rx.complete());
      deliver_stripe(rx, s.bytes, k, stripe);
    }
    CHECK(rx.complete());
    CHECK(rx.received() == s.bytes.size());
    relay::LoadResult r = rx.finish();
    INFO("k=" << k << " " << r.step << ": " << r.error);
    REQUIRE(r.ok);
    auto members = docker.archive();
    REQUIRE(members.size() == 6);
    CHECK(members[1].second == s.config);
    CHECK(members[3].second == s.layer1);
    CHECK(members[5].second == s.layer3);
  }
}

TEST_CASE("striped spool: a stripe with no bytes, under a window, is whole from the start and never divides by its size") {
  TempDir work;
  const std::uint64_t unit = 1024, size = 2 * unit + 100;  // stripes 0 and 1 a unit each, 2 the tail, 3 nothing
  relay::StripedSpool spool(work.path + "/s", wire::StripeMap(size, 4, unit), 1);  // each stripe's share: two units
  REQUIRE(spool.stripe(3).size() == 0);
  CHECK(spool.stripe(3).capacity() == 0);
  CHECK(spool.stripe(3).wait_for_room(0, 0));
  spool.stripe(3).append("");
  char c;
  CHECK(spool.stripe(3).read(0, &c, 1) == 0);
  const std::string bytes = [&] {
    std::string b;
    for (std::uint64_t i = 0; i < size; ++i) b += static_cast<char>('a' + i % 23);
    return b;
  }();
  const auto reader = spool.add_reader();
  // The tail first, then the units: the prefix every stripe holds grows only with stripe 0.
  spool.stripe(2).append(bytes.substr(2 * unit));
  spool.stripe(1).append(bytes.substr(unit, unit));
  CHECK(spool.written() == 0);
  spool.stripe(0).append(bytes.substr(0, unit));
  CHECK(spool.complete());
  std::string back(size, '\0');
  for (std::uint64_t at = 0; at < size;) at += spool.read(at, &back[at], size - at, reader);
  CHECK(back == bytes);
  // A rewind into stripe 1's unit forgets it and the tail after it; stripe 3 has nothing to forget.
  spool.rewind(unit + 10);
  CHECK(spool.written_per_stripe() == std::vector<std::uint64_t>{unit, 10, 0, 0});
  CHECK(spool.written() == unit + 10);
  CHECK(spool.holds_from(unit + 10));
}

TEST_CASE("receiver: a stream needs 1 to 16 stripes") {
  TestRuntime runtime;
  TempDir work;
  Stream s;
  s.plan.parents.clear();
  CHECK_THROWS_WITH(relay::Receiver(work.path, s.plan, &runtime, nullptr), Catch::Contains("1 to 16 stripe parents"));
  s.plan.parents.assign(17, {"k", false});
  CHECK_THROWS_WITH(relay::Receiver(work.path, s.plan, &runtime, nullptr), Catch::Contains("not 17"));
}

TEST_CASE("receiver: for an OCI runtime, the same parts go into an OCI layout with the manifest it names") {
  FakeDocker docker(true);
  TestRuntime runtime(runtime::ArchiveFormat::Oci);
  TempDir work;
  Stream s;
  relay::Receiver rx(work.path, s.plan, &runtime, [](std::size_t, std::uint64_t) { return true; });
  deliver(rx, s.bytes, 0, s.bytes.size());
  relay::LoadResult r = rx.finish();
  INFO(r.step << ": " << r.error);
  REQUIRE(r.ok);
  auto members = docker.archive();
  std::vector<std::string> names;
  for (const auto& [entry, data] : members) names.push_back(entry.name);
  const wire::PlanImage& img = s.plan.images[0];
  const std::string manifest = wire::oci_manifest(img);
  const std::string blobs = "blobs/sha256/";
  CHECK(names == std::vector<std::string>{"oci-layout", "index.json", "manifest.json", "blobs/", blobs,
                                          blobs + hex_of(wire::sha256_digest(manifest)),
                                          blobs + hex_of(s.plan.parts[0].digest), blobs + hex_of(s.plan.parts[1].digest),
                                          blobs + hex_of(s.plan.parts[3].digest)});
  REQUIRE(members.size() == 9);
  Json index = Json::parse(members[1].second);
  REQUIRE(index["manifests"].size() == 1);
  CHECK(index["manifests"][0]["digest"] == wire::sha256_digest(manifest));
  CHECK(index["manifests"][0]["size"] == manifest.size());
  CHECK(members[5].second == manifest);
  Json m = Json::parse(manifest);
  CHECK(m["config"]["digest"] == img.config);
  CHECK(m["config"]["size"] == s.config.size());
  CHECK(m["layers"][1]["digest"] == s.plan.parts[3].digest);
  CHECK(m["layers"][1]["size"] == s.layer3.size());  // decoded: the blob is the uncompressed layer
  CHECK(members[6].second == s.config);
  CHECK(members[7].second == s.layer1);
  CHECK(members[8].second == s.layer3);
}

TEST_CASE_METHOD(Receive, "receiver: a part that fails its SHA-256 is reported with its start; sent again, it loads") {
  // The parent sent a layer with one byte changed, in chunks whose XXH3 is right.
  std::string wrong = s.bytes;
  wrong[s.start(1) + 1000] ^= 0x20;
  deliver(rx, wrong, 0, s.end(1));
  REQUIRE(bad.wait_for(1));
  CHECK(bad.seen[0] == std::make_pair(std::size_t{1}, s.start(1)));
  CHECK(rx.received() == s.start(1));  // rewound to the part's start
  deliver(rx, s.bytes, s.start(1), s.bytes.size());
  relay::LoadResult r = rx.finish();
  INFO(r.step << ": " << r.error);
  CHECK(r.ok);
  CHECK(bad.seen.size() == 1);
  auto members = docker.archive();
  REQUIRE(members.size() == 6);
  CHECK(members[3].second == s.layer1);
}

TEST_CASE_METHOD(Receive, "receiver: a zstd part that does not decode counts as a bad part") {
  std::string wrong = s.bytes;
  for (std::uint64_t i = s.start(3) + 100; i < s.start(3) + 200; ++i) wrong[i] = 'z';
  deliver(rx, wrong, 0, wrong.size());
  REQUIRE(bad.wait_for(1));
  CHECK(bad.seen[0] == std::make_pair(std::size_t{3}, s.start(3)));
  deliver(rx, s.bytes, s.start(3), s.bytes.size());
  relay::LoadResult r = rx.finish();
  INFO(r.step << ": " << r.error);
  CHECK(r.ok);
  CHECK(docker.archive().at(5).second == s.layer3);
}

TEST_CASE_METHOD(Receive, "receiver: three strikes and the node fails at verify") {
  std::string wrong = s.bytes;
  wrong[s.start(1)] ^= 1;
  for (int strike = 1; strike < relay::kMaxBadParts; ++strike) {
    deliver(rx, wrong, rx.received(), s.end(1));
    REQUIRE(bad.wait_for(static_cast<std::size_t>(strike)));
  }
  deliver(rx, wrong, rx.received(), s.end(1));
  relay::LoadResult r = rx.finish();
  CHECK_FALSE(r.ok);
  CHECK(r.step == "verify");
  CHECK_THAT(r.error, Catch::Contains("failed its SHA-256 check 3 times"));
  CHECK(bad.seen.size() == static_cast<std::size_t>(relay::kMaxBadParts));
  // Nothing more is taken.
  CHECK_THROWS_AS(deliver(rx, s.bytes, rx.received(), s.bytes.size()), relay::FeedFailed);
}

TEST_CASE("receiver: bad copies from a relay parent never fail the node; the source's good one loads") {
  FakeDocker docker(true);
  TestRuntime runtime;
  TempDir work;
  Stream s;
  std::atomic<int> seen{0};
  relay::Receiver rx(work.path, s.plan, &runtime, [&](std::size_t, std::uint64_t) {
    ++seen;
    return false;  // a relay parent sent it
  });
  std::string wrong = s.bytes;
  wrong[s.start(1)] ^= 1;
  for (int copy = 1; copy <= relay::kMaxBadParts + 2; ++copy) {
    deliver(rx, wrong, rx.received(), s.end(1));
    for (int i = 0; i < 1000 && seen < copy; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(seen == copy);
  }
  deliver(rx, s.bytes, rx.received(), s.bytes.size());
  relay::LoadResult r = rx.finish();
  INFO(r.step << ": " << r.error);
  CHECK(r.ok);
}

TEST_CASE("receiver: docker load never holds a whole part before its digest is checked") {
  FakeDocker docker(true);
  TestRuntime runtime;
  TempDir work;
  Stream s;
  std::string wrong = s.bytes;
  wrong[s.end(1) - 1] ^= 1;  // the layer's very last byte
  const std::string wrong_layer = wrong.substr(s.start(1), s.plan.parts[1].size);
  std::string loaded_before_kill;
  std::atomic<bool> bad{false};
  relay::Receiver rx(work.path, s.plan, &runtime, [&](std::size_t, std::uint64_t) {
    // docker load was killed and reaped before this call: what it read is final.
    std::ifstream in(docker.archive_path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    loaded_before_kill = text.str();
    bad = true;
    return true;
  });
  deliver(rx, wrong, 0, s.end(1));
  for (int i = 0; i < 1000 && !bad; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(bad);
  CHECK(loaded_before_kill.find(s.config) != std::string::npos);       // the parts before it went through
  CHECK(loaded_before_kill.find(wrong_layer) == std::string::npos);    // but not all of the bad one
  rx.cancel();
}

TEST_CASE("receiver: chunks out of order or failing their XXH3 are refused") {
  TempDir work;
  Stream s;
  s.plan.images.clear();  // nothing to load: no runtime is needed
  relay::Receiver rx(work.path, s.plan, nullptr, [](std::size_t, std::uint64_t) { return true; });
  deliver(rx, s.bytes, 0, 100);
  std::string body = s.bytes.substr(200, 50);
  CHECK_FALSE(rx.accept(0, {wire::Kind::Data, body, 200, wire::chunk_hash(body)}));  // not where the spool ends: ignored
  body = s.bytes.substr(100, 50);
  CHECK_THROWS_WITH(rx.accept(0, {wire::Kind::Data, body, 100, wire::chunk_hash(body) ^ 1}), Catch::Contains("XXH3"));
  CHECK(rx.received() == 100);
  deliver(rx, s.bytes, 100, s.bytes.size());
  CHECK(rx.complete());
  CHECK(rx.finish().ok);  // a node that only forwards
}

TEST_CASE("receiver: a plan that does not hold together is refused") {
  TempDir work;
  auto no_op = [](std::size_t, std::uint64_t) { return true; };
  TestRuntime runtime;
  Stream s;
  wire::ReceiveRequest plan = s.plan;
  plan.load.push_back(4);
  CHECK_THROWS_WITH(relay::Receiver(work.path, plan, &runtime, no_op), Catch::Contains("out of range"));
  plan = s.plan;
  plan.load = {1, 3};  // the image's config is not loaded
  CHECK_THROWS_WITH(relay::Receiver(work.path, plan, &runtime, no_op), Catch::Contains("config is not loaded"));
  plan = s.plan;
  plan.images[0].layers.push_back("../../etc/passwd");
  CHECK_THROWS_WITH(relay::Receiver(work.path, plan, &runtime, no_op), Catch::Contains("malformed layer digest"));
}

TEST_CASE("receiver: a load that hangs is killed at its deadline and says why; the failure is discarded") {
  FakeDocker docker(true, true);
  TestRuntime runtime;
  TempDir work;
  Stream s;
  relay::Receiver rx(work.path, s.plan, &runtime, [](std::size_t, std::uint64_t) { return true; });
  deliver(rx, s.bytes, 0, s.bytes.size());  // the feeder blocks: nobody reads the pipe
  std::thread deadline([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    rx.expire_load("the load did not end in time");
  });
  relay::LoadResult r = rx.finish();
  deadline.join();
  CHECK_FALSE(r.ok);
  CHECK(r.step == "load");
  CHECK(r.error == "the load did not end in time");
  CHECK(runtime.discarded == 1);
}

TEST_CASE("receiver: a runtime that cannot be started fails the load, not the relay") {
  FakeDocker docker(false);  // no docker on PATH
  TestRuntime runtime;
  TempDir work;
  Stream s;
  relay::Receiver rx(work.path, s.plan, &runtime, [](std::size_t, std::uint64_t) { return true; });
  relay::LoadResult r = rx.finish();
  CHECK_FALSE(r.ok);
  CHECK(r.step == "load");
  CHECK_THAT(r.error, Catch::Contains("docker"));
}
