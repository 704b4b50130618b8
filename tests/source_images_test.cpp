// The source's images from runtimes other than Docker's classic store:
// saves from Docker's containerd store (OCI layout, gzip or zstd layer
// blobs, an index naming platforms), podman's docker-archive, a containerd
// content store read blob by blob; and the pieces under them (decoding
// blobs, choosing a platform's manifest). The archives are made here in the
// order each runtime writes them (DESIGN.md §9).
#include <catch2/catch.hpp>

#include <map>

#include <zlib.h>
#include <zstd.h>

#include "src/cache/blob_decoder.h"
#include "src/cache/oci_image.h"
#include "tests/save_archives.h"

using namespace save_archives;
using treesync::BlobCodec;
using treesync::BlobDecoder;
using treesync::Platform;
using treesync::SaveOptions;

namespace {

std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string decode_all(BlobCodec codec, const std::string& blob, std::size_t step) {
  BlobDecoder d(codec, "blob");
  std::string out;
  for (std::size_t at = 0; at < blob.size(); at += step)
    d.feed(blob.data() + at, std::min(step, blob.size() - at), [&](const char* p, std::size_t n) { out.append(p, n); });
  d.finish();
  return out;
}

constexpr const char* kGzipLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kZstdLayer = "application/vnd.oci.image.layer.v1.tar+zstd";

std::string manifest_json(const std::string& config, const std::vector<std::string>& blobs,
                          const std::vector<std::string>& types) {
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)"
                  R"({"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                  wire::sha256_digest(config) + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)";
  for (std::size_t i = 0; i < blobs.size(); ++i)
    m += std::string(i ? "," : "") + R"({"mediaType":")" + types[i] + R"(","digest":")" + wire::sha256_digest(blobs[i]) +
         R"(","size":)" + std::to_string(blobs[i].size()) + "}";
  return m + "]}";
}

std::string descriptor(const std::string& media_type, const std::string& blob, const std::string& platform = "") {
  std::string d = R"({"mediaType":")" + media_type + R"(","digest":")" + wire::sha256_digest(blob) + R"(","size":)" +
                  std::to_string(blob.size());
  if (!platform.empty()) {
    Platform p = treesync::parse_platform(platform);
    d += R"(,"platform":{"architecture":")" + p.arch + R"(","os":")" + p.os + "\"" +
         (p.variant.empty() ? "" : R"(,"variant":")" + p.variant + "\"") + "}";
  }
  return d + "}";
}

std::string index_json(const std::vector<std::string>& descriptors) {
  std::string j = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";
  for (std::size_t i = 0; i < descriptors.size(); ++i) j += (i ? "," : "") + descriptors[i];
  return j + "]}";
}

// A save as Docker's containerd store writes it (containerd's exporter):
// blobs sorted by digest, each once, then index.json, manifest.json and
// oci-layout, sorted by name too.
std::string containerd_save(std::vector<std::string> blobs, const std::string& index, const std::string& manifest_json_text) {
  std::sort(blobs.begin(), blobs.end(),
            [](const std::string& a, const std::string& b) { return wire::sha256_digest(a) < wire::sha256_digest(b); });
  blobs.erase(std::unique(blobs.begin(), blobs.end()), blobs.end());
  std::string out = dir("blobs/") + dir("blobs/sha256/");
  for (const auto& b : blobs) out += member("blobs/sha256/" + hex(wire::sha256_digest(b)), b);
  out += member("index.json", index);
  out += member("manifest.json", manifest_json_text);
  out += member("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return out + wire::tar_trailer();
}

// The Image of save_archives as Docker's containerd store keeps it: its
// layers as gzip blobs (the second as zstd where asked), under a manifest
// that names those blobs. The store's image ID is the manifest's digest.
struct StoredImage {
  Image img;
  std::vector<std::string> blobs;
  std::string manifest;
  std::string target;  // the manifest digest: `docker image inspect .Id` on the containerd store

  explicit StoredImage(bool zstd_second = false) {
    blobs = {gzip(img.layers[0]), zstd_second ? zstd(img.layers[1]) : gzip(img.layers[1])};
    manifest = manifest_json(img.config, blobs, {kGzipLayer, zstd_second ? kZstdLayer : kGzipLayer});
    target = wire::sha256_digest(manifest);
  }
  std::vector<std::string> all_blobs() const { return {blobs[0], blobs[1], img.config, manifest}; }
  // What inspect_local_images knows before the save: the store's ID and the
  // diff IDs (`docker image inspect .RootFS.Layers`), not the config digest.
  WantedImage wanted() const {
    WantedImage w("", {"app:1"}, img.wanted.diff_ids);
    w.source_id = target;
    return w;
  }
  std::string docker_manifest_json() const {
    return R"([{"Config":"blobs/sha256/)" + hex(img.wanted.id) + R"(","RepoTags":["app:1"],"Layers":["blobs/sha256/)" +
           hex(wire::sha256_digest(blobs[0])) + R"(","blobs/sha256/)" + hex(wire::sha256_digest(blobs[1])) + "\"]}]";
  }
  std::string save() const {
    return containerd_save(all_blobs(), index_json({descriptor("application/vnd.oci.image.manifest.v1+json", manifest)}),
                           docker_manifest_json());
  }
};

SaveOptions on(const std::string& platform) {
  SaveOptions o;
  o.platform = treesync::parse_platform(platform);
  return o;
}

}  // namespace

TEST_CASE("blobs decode whatever their codec, in any read size") {
  const std::string tar = layer_tar("data/x", 300000, 7) + std::string(5000, 'a');
  auto step = GENERATE(as<std::size_t>{}, 1, 7, 4096, 1 << 20);
  CHECK(decode_all(BlobCodec::Gzip, gzip(tar), step) == tar);
  CHECK(decode_all(BlobCodec::Zstd, zstd(tar), step) == tar);
  CHECK(decode_all(BlobCodec::Plain, tar, step) == tar);
  // pigz and `cat a.gz b.gz` write several members: one stream.
  CHECK(decode_all(BlobCodec::Gzip, gzip(tar.substr(0, 1000)) + gzip(tar.substr(1000)), step) == tar);
  CHECK(decode_all(BlobCodec::Zstd, zstd(tar.substr(0, 1000)) + zstd(tar.substr(1000)), step) == tar);
}

TEST_CASE("a blob cut short, or not of its codec, is an error") {
  const std::string tar = layer_tar("data/x", 100000, 8);
  const std::string gz = gzip(tar), zs = zstd(tar);
  CHECK_THROWS_WITH(decode_all(BlobCodec::Gzip, gz.substr(0, gz.size() - 9), 4096),
                    Catch::Contains("blob is not a valid gzip stream") && Catch::Contains("damaged"));
  CHECK_THROWS_WITH(decode_all(BlobCodec::Zstd, zs.substr(0, zs.size() / 2), 4096), Catch::Contains("not a valid zstd stream"));
  CHECK_THROWS_WITH(decode_all(BlobCodec::Gzip, "\x1f\x8b\x08" + noise(5000, 3), 4096), Catch::Contains("not a valid gzip stream"));
  CHECK_THROWS(decode_all(BlobCodec::Gzip, gz + "junk", 4096));
  CHECK(treesync::sniff_codec(gz.data(), 4) == BlobCodec::Gzip);
  CHECK(treesync::sniff_codec(zs.data(), 4) == BlobCodec::Zstd);
  CHECK(treesync::sniff_codec(tar.data(), 4) == BlobCodec::Plain);
}

TEST_CASE("a containerd-store save: gzip layers decompressed once into the cache by diff ID, the config found by the manifest") {
  StoredImage stored(GENERATE(false, true));
  Cache cache;
  const std::string archive = stored.save();
  auto step = GENERATE(as<std::size_t>{}, 999, 65536, 1 << 22);
  SaveStream s(cache.root(), {stored.wanted()}, Compress::None, on("linux/amd64"));
  feed(s, archive, step);
  s.finish();
  // Its identity is the config digest, learnt from the archive.
  REQUIRE(s.images().size() == 1);
  CHECK(s.images()[0].id == stored.img.wanted.id);
  CHECK(s.images()[0].diff_ids == stored.img.wanted.diff_ids);
  CHECK(s.images()[0].source_id == stored.target);
  // The cache holds the uncompressed layers by diff ID and the config; the
  // compressed blobs, the manifest and the index are not kept.
  CHECK(cache.files() == expected_files(stored.img));
  for (std::size_t i = 0; i < 2; ++i)
    CHECK(slurp(cache.layers / (hex(stored.img.wanted.diff_ids[i]) + ".tar")) == stored.img.layers[i]);
  CHECK(slurp(cache.configs / (hex(stored.img.wanted.id) + ".json")) == stored.img.config);
  CHECK_FALSE(cache.temp_files());
}

TEST_CASE("a containerd-store save whose config digest is known already, compressed as asked") {
  StoredImage stored;
  Cache cache;
  WantedImage w = stored.wanted();
  w.id = stored.img.wanted.id;
  SaveStream s(cache.root(), {w}, Compress::Zstd, on("linux/amd64"));
  feed(s, stored.save(), 65536);
  s.finish();
  CHECK(fs::exists(cache.layers / (hex(stored.img.wanted.diff_ids[1]) + ".tar.zst")));
  CHECK(fs::exists(cache.configs / (hex(stored.img.wanted.id) + ".json")));
}

TEST_CASE("a gzip blob whose decompressed bytes are not the diff ID at its position is refused") {
  StoredImage stored;
  // Layer 2's blob is a valid gzip (named by its own digest) of other bytes.
  const std::string other = layer_tar("data/app.bin", 1 << 20, 99);
  stored.blobs[1] = gzip(other);
  stored.manifest = manifest_json(stored.img.config, stored.blobs, {kGzipLayer, kGzipLayer});
  stored.target = wire::sha256_digest(stored.manifest);
  Cache cache;
  SaveStream s(cache.root(), {stored.wanted()}, Compress::None, on("linux/amd64"));
  feed(s, stored.save(), 65536);
  CHECK_THROWS_WITH(s.finish(), Catch::Contains("layer 2 (blob " + wire::sha256_digest(stored.blobs[1]) +
                                                ") decompresses to " + wire::sha256_digest(other) + ", not the diff ID " +
                                                stored.img.wanted.diff_ids[1]) &&
                                    Catch::Contains("damaged"));
  // Nothing looks cached: no config; the stray layer was not kept.
  for (const auto& f : cache.files()) CHECK(f.rfind("configs/", 0) != 0);
  CHECK_FALSE(fs::exists(cache.layers / (hex(wire::sha256_digest(other)) + ".tar")));
  CHECK_FALSE(cache.temp_files());
}

TEST_CASE("a gzip blob that does not hash to its name is refused while it streams") {
  StoredImage stored;
  std::string archive = stored.save();
  const std::size_t at = archive.find(stored.blobs[1].substr(100, 64)) + 10;
  archive[at] ^= 1;
  Cache cache;
  {
    SaveStream s(cache.root(), {stored.wanted()}, Compress::None, on("linux/amd64"));
    CHECK_THROWS_WITH(feed(s, archive, 65536), Catch::Contains("docker save's blob") && Catch::Contains("damaged"));
  }
  CHECK_FALSE(cache.temp_files());
}

TEST_CASE("an index: the manifest of the platform asked for, among those the archive holds") {
  StoredImage amd64;
  // An arm64 image of other layers: the index names both; the store may
  // hold either (containerd's exporter skips what the store lacks, but
  // writes the manifest blob of a platform whose layers are missing).
  Image arm;
  arm.layers = {layer_tar("bin/busybox", 3000, 11), layer_tar("data/app.bin", 4000, 12)};
  std::vector<std::string> arm_diffs = {wire::sha256_digest(arm.layers[0]), wire::sha256_digest(arm.layers[1])};
  arm.config = R"({"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" + arm_diffs[0] +
               R"(",")" + arm_diffs[1] + R"("]}})";
  std::vector<std::string> arm_blobs = {gzip(arm.layers[0]), gzip(arm.layers[1])};
  const std::string arm_manifest = manifest_json(arm.config, arm_blobs, {kGzipLayer, kGzipLayer});
  const std::string attestation = manifest_json(R"({"rootfs":{"type":"layers","diff_ids":[]}})", {}, {});
  const std::string index = index_json({descriptor("application/vnd.oci.image.manifest.v1+json", arm_manifest, "linux/arm64/v8"),
                                        descriptor("application/vnd.oci.image.manifest.v1+json", amd64.manifest, "linux/amd64"),
                                        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                                            wire::sha256_digest(attestation) +
                                            R"(","size":10,"platform":{"architecture":"unknown","os":"unknown"}})"});
  const std::string top = index_json({descriptor("application/vnd.oci.image.index.v1+json", index)});
  WantedImage w("", {"app:1"});  // what `docker image inspect` says of the layers is left out: the config says
  w.source_id = wire::sha256_digest(index);

  SECTION("both held: each platform gets its own manifest") {
    std::vector<std::string> blobs = amd64.all_blobs();
    blobs.insert(blobs.end(), {arm_blobs[0], arm_blobs[1], arm.config, arm_manifest, index, attestation});
    const std::string archive = containerd_save(blobs, top, amd64.docker_manifest_json());
    for (const char* platform : {"linux/amd64", "linux/arm64"}) {
      Cache cache;
      SaveStream s(cache.root(), {w}, Compress::None, on(platform));
      feed(s, archive, 65536);
      s.finish();
      const bool is_amd = std::string(platform) == "linux/amd64";
      CHECK(s.images()[0].id == (is_amd ? amd64.img.wanted.id : wire::sha256_digest(arm.config)));
      CHECK(s.images()[0].diff_ids == (is_amd ? amd64.img.wanted.diff_ids : arm_diffs));
      CHECK(fs::exists(cache.configs / (hex(s.images()[0].id) + ".json")));
    }
  }
  SECTION("only arm64 held, amd64 asked for: one line naming what there is") {
    std::vector<std::string> blobs = {arm_blobs[0], arm_blobs[1], arm.config, arm_manifest, index, amd64.manifest};
    const std::string archive = containerd_save(blobs, top, "[]");
    Cache cache;
    SaveStream s(cache.root(), {w}, Compress::None, on("linux/amd64"));
    feed(s, archive, 65536);
    std::string error;
    try {
      s.finish();
    } catch (const std::exception& e) {
      error = e.what();
    }
    CHECK_THAT(error, Catch::Contains("image app:1 (" + w.source_id + ")") &&
                          Catch::Contains("has no linux/amd64 image here: its index names linux/arm64, linux/amd64; "
                                          "the store holds the manifest of linux/arm64, linux/amd64") &&
                          Catch::Contains("its config") && Catch::Contains("pull or build it for linux/amd64 first"));
    CHECK(error.find('\n') == std::string::npos);
    CHECK(cache.files().empty() == false);  // arm64's layers are content-addressed, harmless ...
    for (const auto& f : cache.files()) CHECK(f.rfind("configs/", 0) != 0);  // ... but no image looks cached
  }
  SECTION("a platform the index does not name at all") {
    std::vector<std::string> blobs = amd64.all_blobs();
    blobs.push_back(index);
    Cache cache;
    SaveStream s(cache.root(), {w}, Compress::None, on("linux/s390x"));
    feed(s, containerd_save(blobs, top, amd64.docker_manifest_json()), 65536);
    CHECK_THROWS_WITH(s.finish(), Catch::Contains("has no linux/s390x image here: its index names linux/arm64, linux/amd64;"));
  }
}

TEST_CASE("only the config digest is learnt when the cache is not written (status)") {
  StoredImage stored;
  Cache cache;
  SaveOptions o = on("linux/amd64");
  o.write = false;
  SaveStream s(cache.root(), {stored.wanted()}, Compress::None, o);
  feed(s, stored.save(), 65536);
  s.finish();
  CHECK(s.images()[0].id == stored.img.wanted.id);
  CHECK(cache.files().empty());
}

TEST_CASE("podman's docker-archive: <diff hex>.tar layers and symlinks to them") {
  Image img;
  Cache cache;
  std::string out;
  for (std::size_t i = 0; i < img.layers.size(); ++i)
    out += member(hex(img.wanted.diff_ids[i]) + ".tar", img.layers[i]);
  out += member(hex(img.wanted.id) + ".json", img.config);
  // <v1 id>/layer.tar is a symlink to ../<diff hex>.tar
  std::string link = wire::tar_header("abc/layer.tar", 0);
  link[156] = '2';
  std::string target = "../" + hex(img.wanted.diff_ids[0]) + ".tar";
  std::copy(target.begin(), target.end(), link.begin() + 157);
  unsigned sum = 0;
  std::fill(link.begin() + 148, link.begin() + 156, ' ');
  for (unsigned char c : link) sum += c;
  char field[8];
  std::snprintf(field, sizeof field, "%06o", sum);
  std::copy(field, field + 7, link.begin() + 148);
  out += dir("abc/") + link + member("abc/VERSION", "1.0");
  out += member("manifest.json", R"([{"Config":")" + hex(img.wanted.id) + R"(.json","RepoTags":["localhost/app:1"],"Layers":[]}])");
  out += member("repositories", "{}") + wire::tar_trailer();
  SaveOptions o;
  o.label = "podman save";
  SaveStream s(cache.root(), {img.wanted}, Compress::None, o);
  feed(s, out, 4096);
  s.finish();
  CHECK(cache.files() == expected_files(img));
  CHECK(slurp(cache.layers / (hex(img.wanted.diff_ids[1]) + ".tar")) == img.layers[1]);
}

TEST_CASE("a content store: only the layers the cache lacks are read, each decompressed and checked") {
  StoredImage stored;
  std::map<std::string, std::string> store;
  for (const auto& b : stored.all_blobs()) store[wire::sha256_digest(b)] = b;
  std::vector<std::string> fetched;
  treesync::BlobFetch fetch = [&](const std::string& digest, const runtime::OutputSink& sink) {
    fetched.push_back(digest);
    const std::string& b = store.at(digest);
    for (std::size_t at = 0; at < b.size(); at += 3000) sink(b.data() + at, std::min<std::size_t>(3000, b.size() - at));
  };
  WantedImage w = stored.img.wanted;
  w.source_id = stored.target;
  w.blobs = {wire::sha256_digest(stored.blobs[0]), wire::sha256_digest(stored.blobs[1])};
  Cache cache;
  SECTION("a fresh cache: every layer, then the config") {
    treesync::fetch_into_cache(cache.root(), {w}, Compress::None, fetch, "ctr content get");
    CHECK(fetched == std::vector<std::string>{w.blobs[0], w.blobs[1], w.id});
    CHECK(cache.files() == expected_files(stored.img));
    CHECK(slurp(cache.layers / (hex(w.diff_ids[0]) + ".tar")) == stored.img.layers[0]);
  }
  SECTION("an update: the base layer is cached, only the new one is read") {
    treesync::fetch_into_cache(cache.root(), {w}, Compress::None, fetch, "ctr content get");
    fs::remove(cache.layers / (hex(w.diff_ids[1]) + ".tar"));
    fs::remove(cache.configs / (hex(w.id) + ".json"));
    fetched.clear();
    treesync::fetch_into_cache(cache.root(), {w}, Compress::None, fetch, "ctr content get");
    CHECK(fetched == std::vector<std::string>{w.blobs[1], w.id});
  }
  SECTION("a blob that decompresses to other bytes: refused, nothing looks cached") {
    const std::string other = gzip(layer_tar("x", 100, 5));
    store[w.blobs[1]] = other;
    CHECK_THROWS_WITH(treesync::fetch_into_cache(cache.root(), {w}, Compress::None, fetch, "ctr content get"),
                      Catch::Contains("holds other bytes"));
    store[w.blobs[1]] = stored.blobs[1];
    w.blobs[1] = wire::sha256_digest(other);
    store[w.blobs[1]] = other;
    CHECK_THROWS_WITH(treesync::fetch_into_cache(cache.root(), {w}, Compress::None, fetch, "ctr content get"),
                      Catch::Contains("layer 2 (blob " + w.blobs[1] + ") decompresses to"));
    CHECK_FALSE(fs::exists(cache.configs / (hex(w.id) + ".json")));
    CHECK_FALSE(cache.temp_files());
  }
}

TEST_CASE("platforms: parsing, the host's, Docker manifest lists, arm variants") {
  CHECK(treesync::parse_platform("linux/amd64").str() == "linux/amd64");
  CHECK(treesync::parse_platform("linux/arm64/v8").str() == "linux/arm64");
  CHECK(treesync::parse_platform("linux/arm/7").str() == "linux/arm/v7");
  CHECK(treesync::parse_platform("linux/x86_64").str() == "linux/amd64");
  CHECK_THROWS(treesync::parse_platform("amd64"));
  CHECK(treesync::host_platform().os == "linux");
  CHECK_FALSE(treesync::host_platform().arch.empty());

  // Docker's manifest list (v2 schema 2) is an index too; arm/v6 and arm/v7
  // are different images.
  auto blob = [](const std::string& arch, const std::string& variant) {
    return std::string(R"({"architecture":")") + arch + R"(","os":"linux","variant":")" + variant +
           R"(","rootfs":{"type":"layers","diff_ids":[]}})";
  };
  const std::string c6 = blob("arm", "v6"), c7 = blob("arm", "v7");
  const std::string m6 = manifest_json(c6, {}, {}), m7 = manifest_json(c7, {}, {});
  const std::string list = std::string(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[)") +
                           descriptor("application/vnd.docker.distribution.manifest.v2+json", m6, "linux/arm/v6") + "," +
                           descriptor("application/vnd.docker.distribution.manifest.v2+json", m7, "linux/arm/v7") + "]}";
  std::map<std::string, std::string> store;
  for (const auto& b : {c6, c7, m6, m7, list}) store[wire::sha256_digest(b)] = b;
  treesync::BlobLookup lookup = [&](const std::string& d) -> std::optional<std::string> {
    auto it = store.find(d);
    if (it == store.end()) return std::nullopt;
    return it->second;
  };
  auto all = [](const std::string&) { return true; };
  auto r = treesync::resolve_image(wire::sha256_digest(list), treesync::parse_platform("linux/arm/v7"), lookup, all, "x");
  CHECK(r.info.config == wire::sha256_digest(c7));
  r = treesync::resolve_image(wire::sha256_digest(list), treesync::parse_platform("linux/arm/v6"), lookup, all, "x");
  CHECK(r.info.config == wire::sha256_digest(c6));
  CHECK_THROWS_WITH(treesync::resolve_image(wire::sha256_digest(list), treesync::parse_platform("linux/arm64"), lookup, all, "x"),
                    Catch::Contains("x has no linux/arm64 image here: its index names linux/arm/v6, linux/arm/v7"));
  // A plain manifest is the image whatever the platform.
  r = treesync::resolve_image(wire::sha256_digest(m6), treesync::parse_platform("linux/amd64"), lookup, all, "x");
  CHECK(r.info.config == wire::sha256_digest(c6));
}

// ---------------------------------------------------------------------------
// Identity per runtime (inspect_local_images), from recorded outputs: fake
// `docker`, `podman` and `ctr` first in PATH answer from files, and log
// every call, so no daemon is needed.

#include "src/cache/cache_lease.h"
#include "src/cache/local_images.h"
#include "src/errors.h"
#include "tests/fake_runtimes.h"

using namespace fake_runtimes;


TEST_CASE("identity on Docker's classic store: .Id is the config digest, nothing is saved") {
  FakeRuntimes fake;
  Image img;
  fake.docker_info("overlay2");
  fake.inspect("app:1", inspect_line(img.wanted.id, img.wanted.diff_ids));
  Cache cache;
  auto images = treesync::inspect_local_images(options_for(cache, {"app:1"}));
  REQUIRE(images.size() == 1);
  CHECK(images[0].id == img.wanted.id);
  CHECK(images[0].diff_ids == img.wanted.diff_ids);
  CHECK(images[0].source.kind == runtime::SourceKind::Docker);
  CHECK(fake.calls().find("docker save") == std::string::npos);
  CHECK_THROWS_AS(treesync::inspect_local_images(options_for(cache, {"nope:1"})), treesync::UsageError);
  CHECK_THROWS_WITH(treesync::inspect_local_images(options_for(cache, {"nope:1"})),
                    "image nope:1 is not in the local Docker (check with: docker images nope:1; pull or build it "
                    "first, e.g. docker pull nope:1)");
}

TEST_CASE("identity on Docker's containerd store without ctr's reach: one save says it, the cache remembers") {
  FakeRuntimes fake;
  StoredImage stored;
  fake.docker_info("io.containerd.snapshotter.v1");
  // .Id is the manifest digest; .RootFS.Layers the diff IDs.
  fake.inspect("app:1", inspect_line(stored.target, stored.img.wanted.diff_ids));
  fake.put("save.tar", stored.save());
  Cache cache;
  treesync::Options o = options_for(cache, {"app:1"});
  auto lease = treesync::CacheLease::open(cache.root(), false, std::chrono::milliseconds(100));
  auto images = treesync::inspect_local_images(o);
  REQUIRE(images.size() == 1);
  CHECK(images[0].id == stored.img.wanted.id);  // the config digest, not the store's ID
  CHECK(images[0].source_id == stored.target);
  CHECK(images[0].source.kind == runtime::SourceKind::DockerContainerd);
  CHECK(fake.calls().find("docker save " + stored.target) != std::string::npos);
  // The save filled the cache (a later prepare_bundle saves nothing) ...
  CHECK(fs::exists(cache.configs / (hex(stored.img.wanted.id) + ".json")));
  CHECK((fs::exists(cache.layers / (hex(stored.img.wanted.diff_ids[1]) + ".tar.zst")) ||
         fs::exists(cache.layers / (hex(stored.img.wanted.diff_ids[1]) + ".tar"))));
  // ... and the next run learns the config digest without one.
  fs::remove(fake.dir.path / "save.tar");
  images = treesync::inspect_local_images(o);
  CHECK(images[0].id == stored.img.wanted.id);
}

TEST_CASE("identity on Docker's containerd store through its containerd (docker info names it)") {
  FakeRuntimes fake;
  StoredImage stored;
  const std::string sock = fake.socket("ctd.sock");
  fake.docker_info("io.containerd.snapshotter.v1",
                   R"(,"Containerd":{"Address":")" + sock + R"(","Namespaces":{"Containers":"moby"}})");
  fake.inspect("app:1", inspect_line(stored.target, stored.img.wanted.diff_ids));
  for (const auto& b : stored.all_blobs()) fake.blob(b);
  Cache cache;
  auto images = treesync::inspect_local_images(options_for(cache, {"app:1"}));
  REQUIRE(images.size() == 1);
  CHECK(images[0].id == stored.img.wanted.id);
  CHECK(images[0].source.address == sock);
  CHECK(images[0].source.ns == "moby");
  CHECK(images[0].blobs == std::vector<std::string>{wire::sha256_digest(stored.blobs[0]), wire::sha256_digest(stored.blobs[1])});
  CHECK(fake.calls().find("docker save") == std::string::npos);
}

TEST_CASE("identity on containerd: the name in full, the index read with ctr content get") {
  FakeRuntimes fake;
  StoredImage stored;
  const std::string index = index_json({descriptor("application/vnd.oci.image.manifest.v1+json", stored.manifest,
                                                   treesync::host_platform().str())});
  ::setenv("CONTAINERD_ADDRESS", fake.socket("containerd.sock").c_str(), 1);
  fake.put("ctr-images", "docker.io/library/app:1 application/vnd.oci.image.index.v1+json " + wire::sha256_digest(index) +
                             " 3.9 MiB linux/amd64 -\n");
  for (const auto& b : stored.all_blobs()) fake.blob(b);
  fake.blob(index);
  Cache cache;
  auto images = treesync::inspect_local_images(options_for(cache, {"app:1"}, "containerd", "k8s.io"));
  REQUIRE(images.size() == 1);
  CHECK(images[0].id == stored.img.wanted.id);
  CHECK(images[0].diff_ids == stored.img.wanted.diff_ids);
  CHECK(images[0].source_id == wire::sha256_digest(index));
  CHECK(images[0].refs == std::vector<std::string>{"app:1"});  // as the operator typed it
  CHECK(fake.calls().find("--namespace k8s.io") != std::string::npos);
  CHECK_THROWS_WITH(treesync::inspect_local_images(options_for(cache, {"web:2"}, "containerd", "k8s.io")),
                    "containerd (namespace k8s.io) has no image docker.io/library/web:2; pull or import it first "
                    "(ctr -n k8s.io images pull docker.io/library/web:2), or give its namespace with --source-namespace");
}

TEST_CASE("identity on podman: its Id is the config digest without the prefix; localhost/ names stay the operator's") {
  FakeRuntimes fake;
  Image img;
  fake.put("docker-info.json", "not json");  // no Docker daemon: podman is next
  fake.inspect("app:1", inspect_line(hex(img.wanted.id), img.wanted.diff_ids));
  Cache cache;
  auto images = treesync::inspect_local_images(options_for(cache, {"app:1"}));
  REQUIRE(images.size() == 1);
  CHECK(images[0].id == img.wanted.id);
  CHECK(images[0].refs == std::vector<std::string>{"app:1"});
  CHECK(images[0].source.kind == runtime::SourceKind::Podman);
  CHECK_THROWS_WITH(treesync::inspect_local_images(options_for(cache, {"web:2"}, "podman")),
                    "podman image inspect web:2: no such image; build or pull it first (podman pull web:2), or pick "
                    "another runtime with --source-runtime");
}
