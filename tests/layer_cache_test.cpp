// Reading `docker save` archives into the layer cache (SaveStream), in both
// layouts Docker writes: docker-archive (Docker 24 and older) and OCI layout
// (Docker 25 and later, the classic store too). The archives are made here
// in the order each Docker writes them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "src/cache/layer_cache.h"
#include "src/delivery/node_action.h"
#include "src/wire/digest.h"
#include "src/wire/tar.h"
#include "tests/save_archives.h"

using namespace save_archives;

namespace {

// As Docker 25+ writes it (DESIGN.md §9): blobs sorted by digest (the layers,
// the config, the image manifest, and one blob nobody asked for), then
// index.json, manifest.json, oci-layout.
std::string oci_archive(const Image& img, const std::vector<std::string>& extra_blobs = {}) {
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)"
                         R"({"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         img.wanted.id + R"(","size":)" + std::to_string(img.config.size()) + R"(},"layers":[)";
  for (std::size_t i = 0; i < img.layers.size(); ++i)
    manifest += std::string(i ? "," : "") + R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                img.wanted.diff_ids[i] + R"(","size":)" + std::to_string(img.layers[i].size()) + "}";
  manifest += "]}";
  std::vector<std::string> blobs = img.layers;
  blobs.push_back(img.config);
  blobs.push_back(manifest);
  blobs.push_back(R"({"unrelated":"attestation"})");
  blobs.insert(blobs.end(), extra_blobs.begin(), extra_blobs.end());
  std::sort(blobs.begin(), blobs.end(),
            [](const std::string& a, const std::string& b) { return wire::sha256_digest(a) < wire::sha256_digest(b); });

  std::string out = dir("blobs/") + dir("blobs/sha256/");
  for (const auto& b : blobs) out += member("blobs/sha256/" + hex(wire::sha256_digest(b)), b);
  const std::string mdigest = wire::sha256_digest(manifest);
  out += member("index.json",
                R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                    mdigest + R"(","size":)" + std::to_string(manifest.size()) + "}]}");
  std::string layers;
  for (const auto& d : img.wanted.diff_ids) layers += std::string(layers.empty() ? "" : ",") + "\"blobs/sha256/" + hex(d) + "\"";
  out += member("manifest.json",
                R"([{"Config":"blobs/sha256/)" + hex(img.wanted.id) + R"(","RepoTags":null,"Layers":[)" + layers + "]}]");
  out += member("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return out + wire::tar_trailer();
}

}  // namespace

TEST_CASE("an OCI-layout save (Docker 25+) fills the cache with its layers and config, nothing else") {
  Image img;
  Cache cache;
  const std::string archive = oci_archive(img);
  auto step = GENERATE(as<std::size_t>{}, 1000, 65536, 1 << 22);
  {
    SaveStream s(cache.root(), {img.wanted}, Compress::None);
    feed(s, archive, step);
    s.finish();
  }
  // The manifest, index and unrelated blobs pass by unwritten.
  CHECK(cache.files() == expected_files(img));
  for (std::size_t i = 0; i < img.layers.size(); ++i)
    CHECK(slurp(cache.layers / (hex(img.wanted.diff_ids[i]) + ".tar")) == img.layers[i]);
  CHECK(slurp(cache.configs / (hex(img.wanted.id) + ".json")) == img.config);
}

TEST_CASE("a docker-archive save (Docker 24 and older) fills the cache as before") {
  Image img;
  Cache cache;
  {
    SaveStream s(cache.root(), {img.wanted}, Compress::None);
    feed(s, docker_archive(img), 4096);
    s.finish();
  }
  CHECK(cache.files() == expected_files(img));
  CHECK(slurp(cache.layers / (hex(img.wanted.diff_ids[1]) + ".tar")) == img.layers[1]);
  CHECK(slurp(cache.configs / (hex(img.wanted.id) + ".json")) == img.config);
}

TEST_CASE("both layouts cache the same files, compressed where asked") {
  Image img;
  Cache oci, old;
  for (auto* c : {&oci, &old}) {
    SaveStream s(c->root(), {img.wanted}, Compress::Zstd);
    feed(s, c == &oci ? oci_archive(img) : docker_archive(img), 100000);
    s.finish();
  }
  CHECK(oci.files() == old.files());
  CHECK(fs::exists(oci.layers / (hex(img.wanted.diff_ids[0]) + ".tar.zst")));
}

TEST_CASE("an OCI save whose layer is cached already writes it again nowhere") {
  Image img;
  Cache cache;
  for (int run = 0; run < 2; ++run) {
    SaveStream s(cache.root(), {img.wanted}, Compress::None);
    feed(s, oci_archive(img), 65536);
    s.finish();
  }
  CHECK(cache.files() == expected_files(img));
}

TEST_CASE("a save cut short leaves no config and no temp file", "[cleanup]") {
  Image img;
  auto layout = GENERATE(0, 1);
  const std::string archive = layout ? oci_archive(img) : docker_archive(img);
  SECTION("the archive ends before its end blocks: configs are not written") {
    Cache cache;
    {
      SaveStream s(cache.root(), {img.wanted}, Compress::None);
      feed(s, archive, 65536, archive.size() - 2 * wire::kTarBlock);
      CHECK_THROWS_WITH(s.finish(), Catch::Contains("ended early"));
    }
    for (const auto& f : cache.files()) CHECK(f.rfind("configs/", 0) != 0);
    CHECK_FALSE(cache.temp_files());
  }
  SECTION("docker save dies (or Ctrl-C) in the middle of a layer") {
    Cache cache;
    // The large layer is the last thing in neither layout: stop in it.
    const std::size_t at = archive.find(img.layers[1].substr(0, 64)) + 4096;
    {
      SaveStream s(cache.root(), {img.wanted}, Compress::None);
      feed(s, archive, 1000, at);
      CHECK(cache.temp_files());  // the layer streams to disk, not memory
    }
    CHECK_FALSE(cache.temp_files());
    for (const auto& f : cache.files()) CHECK(f.rfind("configs/", 0) != 0);
  }
}

TEST_CASE("an OCI blob whose bytes do not match its name is refused") {
  Image img;
  Cache cache;
  std::string archive = oci_archive(img);
  const std::size_t at = archive.find(img.layers[1].substr(0, 64)) + 100000;
  archive[at] ^= 1;
  {
    SaveStream s(cache.root(), {img.wanted}, Compress::None);
    CHECK_THROWS_WITH(feed(s, archive, 65536), Catch::Contains("holds other bytes") && Catch::Contains("damaged"));
  }
  CHECK_FALSE(cache.temp_files());
  for (const auto& f : cache.files()) CHECK(f.rfind("configs/", 0) != 0);
}

TEST_CASE("a save that lacks a layer says what it found") {
  Image img;
  Cache cache;
  SaveStream s(cache.root(), {img.wanted}, Compress::None);
  // The first layer's bytes are not the ones its diff ID names.
  std::string archive = docker_archive(img);
  const std::size_t cut = archive.find(img.layers[0]);
  archive.replace(cut, img.layers[0].size(), std::string(img.layers[0].size(), '\0'));
  feed(s, archive, 65536);
  CHECK_THROWS_WITH(s.finish(), Catch::Contains("(2 expected, 1 found; config found)"));
}
