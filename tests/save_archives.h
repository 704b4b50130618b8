// Helpers for the tests that feed save archives to the layer cache: tar
// members, layers and an image made of them, a cache directory to fill.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <zlib.h>

#include "src/cache/layer_cache.h"
#include "src/wire/digest.h"
#include "src/wire/tar.h"
#include "tests/temp_dir.h"

namespace save_archives {

namespace fs = std::filesystem;
using treesync::Compress;
using treesync::SaveStream;
using treesync::WantedImage;

inline std::string hex(const std::string& digest) { return digest.substr(7); }

inline std::string member(const std::string& name, const std::string& body) {
  return wire::tar_header(name, body.size()) + body + std::string(wire::tar_padding(body.size()), '\0');
}
inline std::string dir(const std::string& name) { return wire::tar_header(name, 0, true); }

// Bytes that do not compress, seeded so every run makes the same.
inline std::string noise(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// A layer is a tar of its files, and its diff ID the SHA-256 of that tar.
inline std::string layer_tar(const std::string& file, std::size_t size, unsigned seed) {
  return member(file, noise(size, seed)) + wire::tar_trailer();
}

// An image of two layers (one larger than any read) and its config.
struct Image {
  std::vector<std::string> layers;
  std::string config;
  WantedImage wanted;

  Image() {
    layers = {layer_tar("bin/busybox", 3000, 1), layer_tar("data/app.bin", 1 << 20, 2)};
    std::vector<std::string> diffs;
    for (const auto& l : layers) diffs.push_back(wire::sha256_digest(l));
    config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" + diffs[0] + R"(",")" +
             diffs[1] + R"("]}})";
    wanted = {wire::sha256_digest(config), {"app:1"}, diffs};
  }
};

struct Cache {
  TempDir tmp{"layer-cache"};
  fs::path layers = tmp.path / "layers", configs = tmp.path / "configs";
  Cache() {
    fs::create_directories(layers);
    fs::create_directories(configs);
  }
  std::string root() const { return tmp.path.string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& d : {layers, configs})
      for (const auto& e : fs::directory_iterator(d)) out.push_back(d.filename().string() + "/" + e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  bool temp_files() const {
    auto names = files();
    return std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.find("/.saving-") != std::string::npos; });
  }
};

inline std::string gzip(const std::string& data, int level = 6) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// As Docker 24 and older write it: a folder per layer (named by a v1 ID, not
// the diff ID) with VERSION, json and layer.tar; the config as <id>.json;
// manifest.json and repositories last.
inline std::string docker_archive(const Image& img) {
  std::string out;
  for (std::size_t i = 0; i < img.layers.size(); ++i) {
    std::string v1 = hex(wire::sha256_digest("v1-" + std::to_string(i)));
    out += dir(v1 + "/") + member(v1 + "/VERSION", "1.0") + member(v1 + "/json", R"({"id":")" + v1 + "\"}") +
           member(v1 + "/layer.tar", img.layers[i]);
  }
  out += member(hex(img.wanted.id) + ".json", img.config);
  out += member("manifest.json", R"([{"Config":")" + hex(img.wanted.id) + R"(.json","RepoTags":null,"Layers":[]}])");
  out += member("repositories", "{}");
  return out + wire::tar_trailer();
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Feeds `archive` in reads of `step` bytes, as a pipe would deliver it.
inline void feed(SaveStream& s, const std::string& archive, std::size_t step, std::size_t upto = std::string::npos) {
  upto = std::min(upto, archive.size());
  for (std::size_t at = 0; at < upto; at += step) s.feed(archive.data() + at, std::min(step, upto - at));
}

inline std::vector<std::string> expected_files(const Image& img) {
  std::vector<std::string> out = {"configs/" + hex(img.wanted.id) + ".json"};
  for (const auto& d : img.wanted.diff_ids) out.push_back("layers/" + hex(d) + ".tar");
  std::sort(out.begin(), out.end());
  return out;
}


}  // namespace save_archives
