#include "src/cache/layer_cache.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <zstd.h>

#include "src/cache/cache_lease.h"
#include "src/runtime/subprocess.h"
#include "src/wire/digest.h"
#include "src/wire/tar.h"
#include "src/wire/zstd_decoder.h"
#include "src/cache/chain_ids.h"
#include "src/report/report.h"
#include "src/shutdown.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

// Fast levels: the cache is written once, but the first run waits for it.
constexpr int kZstdLevel = 3;
// auto keeps a layer compressed only if that saves at least a tenth.
constexpr double kWorthIt = 0.9;
// Configs (and the layers they use) kept, most recently used first.
constexpr std::size_t kImagesKept = 32;

struct CacheDirs {
  fs::path root, layers, configs;
};

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }
fs::path raw_path(const CacheDirs& d, const std::string& diff) { return d.layers / (hex_of(diff) + ".tar"); }
fs::path zst_path(const CacheDirs& d, const std::string& diff) { return d.layers / (hex_of(diff) + ".tar.zst"); }
fs::path config_path(const CacheDirs& d, const std::string& id) { return d.configs / (hex_of(id) + ".json"); }

std::runtime_error cache_error(const fs::path& path, const std::string& what) {
  return std::runtime_error("cannot write the layer cache at " + path.string() + ": " + what +
                            " (free space there, or point --cache-dir elsewhere)");
}

fs::path temp_path(const fs::path& dir, const std::string& what) {
  static std::atomic<unsigned> counter{0};
  return dir / (".saving-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + what);
}

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

File open_write(const fs::path& path) {
  File f(std::fopen(path.c_str(), "wbx"), std::fclose);
  if (!f) throw cache_error(path, std::strerror(errno));
  return f;
}

void write_or_throw(FILE* f, const char* data, std::size_t n, const fs::path& path) {
  if (n && std::fwrite(data, 1, n, f) != n) throw cache_error(path, std::strerror(errno));
}

void close_or_throw(File& f, const fs::path& path) {
  FILE* raw = f.release();
  if (std::fflush(raw) != 0 || std::fclose(raw) != 0) throw cache_error(path, std::strerror(errno));
}

// zstd into a file, on every core: the first save of a large image waits on it.
class ZstdFileWriter {
 public:
  ZstdFileWriter(const fs::path& path, std::uint64_t size)
      : path_(path), file_(open_write(path)), ctx_(ZSTD_createCCtx(), ZSTD_freeCCtx), out_(ZSTD_CStreamOutSize(), '\0') {
    ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, kZstdLevel);
    ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_nbWorkers, static_cast<int>(std::thread::hardware_concurrency()));
    // The frame records the size and a checksum: the relay checks both.
    ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setPledgedSrcSize(ctx_.get(), size);
  }
  void write(const char* data, std::size_t n) { pump(data, n, ZSTD_e_continue); }
  void finish() {
    pump(nullptr, 0, ZSTD_e_end);
    close_or_throw(file_, path_);
  }

 private:
  void pump(const char* data, std::size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      std::size_t left = ZSTD_compressStream2(ctx_.get(), &out, &in, mode);
      if (ZSTD_isError(left)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(left));
      write_or_throw(file_.get(), out_.data(), out.pos, path_);
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return;
    }
  }

  fs::path path_;
  File file_;
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx_;
  std::string out_;
};

bool layer_cached(const CacheDirs& d, const std::string& diff) {
  return fs::exists(raw_path(d, diff)) || fs::exists(zst_path(d, diff));
}

void convert(const fs::path& from, const fs::path& to, std::uint64_t raw);

// One layer of the docker save stream on its way into the cache: named
// by the SHA-256 of its bytes, which is its diff ID. A layer already cached
// (docker save always sends every layer) is dropped; a new one is
// compressed once, and under auto kept compressed only if that pays.
class LayerWriter {
 public:
  LayerWriter(const CacheDirs& dirs, Compress mode, std::uint64_t size)
      : dirs_(dirs), mode_(mode), size_(size), tmp_(temp_path(dirs.layers, "tar")), file_(open_write(tmp_)) {}
  ~LayerWriter() {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
  void write(const char* data, std::size_t n) {
    hash_.update(data, n);
    write_or_throw(file_.get(), data, n, tmp_);
  }
  // `expect`: the diff ID the bytes must have (an OCI blob's name), if known.
  void finish(const std::string& expect = "") {
    const std::string diff = hash_.digest();
    close_or_throw(file_, tmp_);
    if (!expect.empty() && diff != expect)
      throw std::runtime_error("docker save's blob " + expect + " holds other bytes (SHA-256 " + diff +
                               "): its archive is damaged");
    if (layer_cached(dirs_, diff)) return spdlog::debug("layer {} was cached already", diff);
    if (mode_ != Compress::None) {
      const fs::path zst = zst_path(dirs_, diff);
      convert(tmp_, zst, size_);
      if (mode_ == Compress::Zstd || fs::file_size(zst) <= kWorthIt * static_cast<double>(size_))
        return spdlog::debug("cached layer {}: {} -> {} zstd", diff, human_bytes(size_), human_bytes(fs::file_size(zst)));
      fs::remove(zst);
    }
    fs::rename(tmp_, raw_path(dirs_, diff));
    spdlog::debug("cached layer {}: {}, as is", diff, human_bytes(size_));
  }

 private:
  const CacheDirs& dirs_;
  Compress mode_;
  std::uint64_t size_;
  wire::Sha256 hash_;
  fs::path tmp_;
  File file_;
};

bool image_cached(const CacheDirs& d, const WantedImage& img) {
  if (!fs::exists(config_path(d, img.id))) return false;
  return std::all_of(img.diff_ids.begin(), img.diff_ids.end(), [&](const std::string& diff) { return layer_cached(d, diff); });
}

// One docker save of `images`, by ID, streamed into the cache: no archive
// is ever written whole (SaveStream reads it).
void save_into_cache(const CacheDirs& d, const std::vector<WantedImage>& images, Compress mode) {
  std::vector<std::string> argv = {"docker", "save"};
  for (const auto& img : images) argv.push_back(img.id);
  SaveStream stream(d.root.string(), images, mode);
  spdlog::info("saving {} image(s) into the layer cache {}", images.size(), d.root.string());
  runtime::ProcessResult r = runtime::run_capture(argv, [&](const char* data, std::size_t n) {
    if (shutdown_flag()) throw std::runtime_error("interrupted while saving images into the layer cache");
    stream.feed(data, n);
  });
  if (!r.ok()) throw std::runtime_error("docker save failed: " + r.last_line());
  stream.finish();
}

std::uint64_t zst_content_size(const fs::path& path) {
  char head[18] = {};  // ZSTD_FRAMEHEADERSIZE_MAX, which zstd.h hides behind ZSTD_STATIC_LINKING_ONLY
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  unsigned long long n = ZSTD_getFrameContentSize(head, static_cast<std::size_t>(in.gcount()));
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN)
    throw std::runtime_error("layer cache file " + path.string() + " is damaged; delete it and run again");
  return n;
}

// The other form of a cached layer, for --compress zstd or none.
void convert(const fs::path& from, const fs::path& to, std::uint64_t raw) {
  std::ifstream in(from, std::ios::binary);
  std::string buf(1 << 20, '\0');
  fs::path tmp = temp_path(to.parent_path(), "convert");
  try {
    if (to.extension() == ".zst") {
      ZstdFileWriter out(tmp, raw);
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
        out.write(buf.data(), static_cast<std::size_t>(in.gcount()));
      out.finish();
    } else {
      File out = open_write(tmp);
      wire::ZstdDecoder decoder(from.string(), raw);
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
        decoder.feed(buf.data(), static_cast<std::size_t>(in.gcount()),
                     [&](const char* data, std::size_t n) { write_or_throw(out.get(), data, n, tmp); });
      decoder.finish();
      close_or_throw(out, tmp);
    }
    fs::rename(tmp, to);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

// The part for a cached layer in the form `mode` asks for. auto sends
// whatever the save kept: zstd where it saved a tenth or more.
wire::Part layer_part(const CacheDirs& d, const std::string& diff, Compress mode, std::string* file) {
  fs::path raw = raw_path(d, diff), zst = zst_path(d, diff);
  bool has_raw = fs::exists(raw), has_zst = fs::exists(zst);
  std::uint64_t raw_size = has_raw ? fs::file_size(raw) : zst_content_size(zst);
  if (mode == Compress::Zstd && !has_zst) convert(raw, zst, raw_size), has_zst = true;
  if (mode == Compress::None && !has_raw) convert(zst, raw, raw_size), has_raw = true;
  bool zstd = mode == Compress::Zstd || (mode == Compress::Auto && has_zst);
  *file = (zstd ? zst : raw).string();
  return {wire::PartKind::Layer, diff, zstd ? wire::Codec::Zstd : wire::Codec::None, fs::file_size(*file), raw_size};
}

std::string describe(const Bundle& b, Compress mode) {
  std::size_t zstd = 0, plain = 0;
  std::uint64_t raw = 0, sent = 0;
  for (std::size_t i = 0; i < b.parts.size(); ++i) {
    if (b.layer[i].empty()) continue;
    const wire::Part& p = b.parts[i];
    (p.codec == wire::Codec::Zstd ? zstd : plain)++;
    raw += p.raw;
    sent += p.size;
  }
  std::string line = "compress " + std::string(compress_name(mode)) +
                     ": " + std::to_string(zstd) + " of " + std::to_string(zstd + plain) + " layer(s) as zstd, " +
                     human_bytes(raw) + " -> " + human_bytes(sent);
  if (mode == Compress::Auto && plain > 0)
    line += "; " + std::to_string(plain) + " sent as is (zstd saved less than 10%)";
  return line;
}

// Keeps the configs used most recently, the layers they need and the
// current run's layers; removes temp files of saves that died.
void prune(const CacheDirs& d, std::set<std::string> keep) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> configs;
  for (const fs::path& dir : {d.layers, d.configs})
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      unsigned long pid = 0;
      if (std::sscanf(name.c_str(), ".saving-%lu-", &pid) == 1 && ::kill(static_cast<pid_t>(pid), 0) != 0)
        fs::remove(e.path(), ec);
      else if (dir == d.configs && e.path().extension() == ".json")
        configs.emplace_back(fs::last_write_time(e.path(), ec), e.path());
    }
  std::sort(configs.rbegin(), configs.rend());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (i >= kImagesKept) {
      fs::remove(configs[i].second, ec);
      continue;
    }
    std::ifstream in(configs[i].second);
    wire::Json j = wire::Json::parse(in, nullptr, false);
    if (j.is_discarded()) continue;
    for (const auto& diff : j["rootfs"].value("diff_ids", std::vector<std::string>{})) keep.insert(hex_of(diff));
  }
  for (const auto& e : fs::directory_iterator(d.layers, ec)) {
    std::string name = e.path().filename().string();
    if (name[0] != '.' && !keep.count(name.substr(0, name.find('.')))) fs::remove(e.path(), ec);
  }
}

}  // namespace

// Reads both layouts docker save writes (docs/design.md, "The layer cache"):
//  - docker-archive (Docker 24 and older): `<id>/layer.tar` per layer, named
//    by the SHA-256 of its bytes (its diff ID), and `<config hex>.json`;
//  - OCI layout (Docker 25 and later, the classic store too):
//    `blobs/sha256/<hex>`, each blob named by the SHA-256 of its bytes, beside
//    index.json, oci-layout and a manifest.json that points into blobs/. The
//    classic store writes layers uncompressed, so the blob named by a wanted
//    diff ID is that layer and the one named by a wanted image ID its config;
//    the rest (index, manifests, attestations) pass by unwritten. A blob's
//    bytes must hash to its name.
struct SaveStream::Impl {
  Impl(const std::string& cache_dir, const std::vector<WantedImage>& wanted, Compress m)
      : d{cache_dir, fs::path(cache_dir) / "layers", fs::path(cache_dir) / "configs"},
        images(wanted),
        mode(m),
        parser({[this](const wire::TarEntry& e) { begin(e); },
                [this](const char* data, std::size_t n) { take(data, n); }, [this] { end(); }}) {
    for (const auto& img : images) {
      configs_wanted.insert(hex_of(img.id));
      for (const auto& diff : img.diff_ids) layers_wanted.insert(hex_of(diff));
    }
  }

  void begin(const wire::TarEntry& e) {
    static const std::regex config_re("[0-9a-f]{64}\\.json");
    static const std::regex blob_re("blobs/sha256/([0-9a-f]{64})");
    const bool file = e.type == '0';
    std::smatch m;
    blob = file && std::regex_match(e.name, m, blob_re);
    head.clear();
    expect.clear();
    config_name.clear();
    config.clear();
    if (blob) {
      oci = true;
      const std::string hex = m[1];
      if (layers_wanted.count(hex)) {
        wanted_blob_layer = true;
        // Named by its diff ID: a cached layer need not be written again.
        if (!layer_cached(d, "sha256:" + hex)) {
          layer = std::make_unique<LayerWriter>(d, mode, e.size);
          expect = "sha256:" + hex;
        }
      } else if (configs_wanted.count(hex)) {
        config_name = hex + ".json";
      }
    } else if (file && e.name.size() > 10 && e.name.compare(e.name.size() - 10, 10, "/layer.tar") == 0) {
      docker_archive = true;
      layer = std::make_unique<LayerWriter>(d, mode, e.size);
    } else if (file && std::regex_match(e.name, config_re)) {
      config_name = e.name;
    } else if (e.name == "oci-layout" || e.name == "index.json") {
      oci = true;
    }
  }

  void take(const char* data, std::size_t n) {
    if (blob && head.size() < 2) head.append(data, std::min(n, 2 - head.size()));
    if (layer) layer->write(data, n);
    if (!config_name.empty()) config.append(data, n);
  }

  void end() {
    if (blob && head == "\x1f\x8b") gzip_blob = true;
    if (layer) layer->finish(expect);
    layer.reset();
    if (!config_name.empty() && wire::sha256_digest(config).substr(7) + ".json" == config_name)
      configs[config_name] = config;
  }

  // Why `img` is not whole in the cache after the save, for the error.
  std::string missing(const WantedImage& img) const {
    std::size_t found = std::count_if(img.diff_ids.begin(), img.diff_ids.end(),
                                      [&](const std::string& diff) { return layer_cached(d, diff); });
    std::string why = "docker save of " + img.id + " did not yield its config and every layer (" +
                      std::to_string(img.diff_ids.size()) + " expected, " + std::to_string(found) + " found; config " +
                      (fs::exists(config_path(d, img.id)) ? "found" : "missing");
    if (oci && gzip_blob && !wanted_blob_layer)
      why += "; the archive is in OCI layout with compressed layers: the containerd image store is not supported "
             "on the source yet";
    else if (oci)
      why += "; the archive is in OCI layout";
    else if (!docker_archive)
      why += "; the archive is in neither layout treesync reads (docker-archive, OCI)";
    return why + ")";
  }

  CacheDirs d;
  std::vector<WantedImage> images;
  Compress mode;
  std::set<std::string> layers_wanted, configs_wanted;  // hex digests
  wire::TarParser parser;
  // The entry being read.
  bool blob = false;
  std::string head;  // a blob's first bytes: gzip starts 1f 8b
  std::unique_ptr<LayerWriter> layer;
  std::string expect;  // the digest the layer's bytes must have, if its name says
  std::string config_name, config;
  // What the archive held.
  std::map<std::string, std::string> configs;  // file name -> verified content
  bool oci = false, docker_archive = false, gzip_blob = false, wanted_blob_layer = false;
};

SaveStream::SaveStream(const std::string& cache_dir, const std::vector<WantedImage>& images, Compress mode)
    : impl_(std::make_unique<Impl>(cache_dir, images, mode)) {}

SaveStream::~SaveStream() = default;

void SaveStream::feed(const char* data, std::size_t n) { impl_->parser.feed(data, n); }

// Configs are written last, once the save is whole, so a failed save leaves
// no image looking cached.
void SaveStream::finish() {
  Impl& s = *impl_;
  if (!s.parser.done()) throw std::runtime_error("docker save ended early: its archive has no end");
  for (const auto& [name, content] : s.configs) {
    fs::path tmp = temp_path(s.d.configs, "json");
    File f = open_write(tmp);
    try {
      write_or_throw(f.get(), content.data(), content.size(), tmp);
      close_or_throw(f, tmp);
    } catch (...) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw;
    }
    fs::rename(tmp, s.d.configs / name);
  }
  for (const auto& img : s.images)
    if (!image_cached(s.d, img)) throw std::runtime_error(s.missing(img));
}

PreparedBundle prepare_bundle(const std::vector<WantedImage>& images, const std::string& cache_dir, Compress mode) {
  // The run holds the cache from before its first read until it exits.
  CacheLease* lease = CacheLease::held(cache_dir);
  if (!lease) throw std::logic_error("the layer cache at " + cache_dir + " is used without a CacheLease");
  CacheDirs d{cache_dir, fs::path(cache_dir) / "layers", fs::path(cache_dir) / "configs"};
  PreparedBundle out;
  std::vector<WantedImage> missing;
  for (const auto& img : images)
    if (!image_cached(d, img)) missing.push_back(img);
  if (!missing.empty()) {
    save_into_cache(d, missing, mode);
    out.saved = true;
  } else {
    spdlog::info("every layer is in the cache {}: no docker save", d.root.string());
  }

  Bundle& b = out.bundle;
  b.images = images;
  for (const auto& img : images) {
    fs::path cfg = config_path(d, img.id);
    fs::last_write_time(cfg, fs::file_time_type::clock::now());  // most recently used
    b.parts.push_back({wire::PartKind::Config, img.id, wire::Codec::None, fs::file_size(cfg), fs::file_size(cfg)});
    b.layer.push_back("");
    out.files.push_back(cfg.string());
  }
  std::set<std::string> seen;
  for (const auto& img : images)
    for (const auto& diff : img.diff_ids) {
      if (!seen.insert(diff).second) continue;
      std::string file;
      b.parts.push_back(layer_part(d, diff, mode, &file));
      b.layer.push_back(diff);
      out.files.push_back(file);
    }
  out.compression = describe(b, mode);
  std::set<std::string> in_use;
  for (const auto& diff : b.layer)
    if (!diff.empty()) in_use.insert(hex_of(diff));
  lease->prune_if_alone([&] { prune(d, in_use); });
  return out;
}

}  // namespace treesync
