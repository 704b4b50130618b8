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
#include "src/cache/blob_decoder.h"
#include "src/cache/chain_ids.h"
#include "src/cache/docker_store.h"
#include "src/report/report.h"
#include "src/shutdown.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

// Fast levels: the cache is written once, but the first run waits for it.
constexpr int kZstdLevel = 3;
// auto keeps a layer compressed only if that saves at least a tenth.
constexpr double kWorthIt = 0.9;
// Configs, manifests and indexes are small; a blob larger is a layer.
constexpr std::uint64_t kJsonMax = 16 << 20;
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

// One layer on its way into the cache, as the bytes of its tar: named by
// their SHA-256, which is its diff ID. A layer already cached (a save sends
// every layer) is dropped; a new one is compressed once, and under auto
// kept compressed only if that pays.
class LayerWriter {
 public:
  LayerWriter(const CacheDirs& dirs, Compress mode)
      : dirs_(dirs), mode_(mode), tmp_(temp_path(dirs.layers, "tar")), file_(open_write(tmp_)) {}
  ~LayerWriter() {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
  void write(const char* data, std::size_t n) {
    hash_.update(data, n);
    write_or_throw(file_.get(), data, n, tmp_);
    size_ += n;
  }
  // The end of the layer's bytes: returns their SHA-256, its diff ID.
  const std::string& close() {
    diff_ = hash_.digest();
    close_or_throw(file_, tmp_);
    return diff_;
  }
  const std::string& diff() const { return diff_; }
  // Into the cache under its diff ID, unless it is there already.
  void install() {
    if (layer_cached(dirs_, diff_)) return spdlog::debug("layer {} was cached already", diff_);
    if (mode_ != Compress::None) {
      const fs::path zst = zst_path(dirs_, diff_);
      convert(tmp_, zst, size_);
      if (mode_ == Compress::Zstd || fs::file_size(zst) <= kWorthIt * static_cast<double>(size_))
        return spdlog::debug("cached layer {}: {} -> {} zstd", diff_, human_bytes(size_), human_bytes(fs::file_size(zst)));
      fs::remove(zst);
    }
    fs::rename(tmp_, raw_path(dirs_, diff_));
    spdlog::debug("cached layer {}: {}, as is", diff_, human_bytes(size_));
  }

 private:
  const CacheDirs& dirs_;
  Compress mode_;
  std::uint64_t size_ = 0;
  wire::Sha256 hash_;
  fs::path tmp_;
  File file_;
  std::string diff_;
};

// One layer blob as a runtime stores it (a plain tar, gzip or zstd, told
// by its first bytes), on its way into the cache: its own bytes hashed
// (the blob's digest), decoded into a LayerWriter (the diff ID). A plain
// tar is its own blob: hashed once.
class LayerIntake {
 public:
  LayerIntake(const CacheDirs& dirs, Compress mode, std::string what)
      : writer_(dirs, mode), what_(std::move(what)) {}
  void write(const char* data, std::size_t n) {
    if (!decoder_) {
      const std::size_t take = std::min(n, 4 - head_.size());
      head_.append(data, take);
      data += take;
      n -= take;
      if (head_.size() < 4) return;
      start();
    }
    if (!n) return;
    if (codec_ != BlobCodec::Plain) blob_hash_.update(data, n);
    decoder_->feed(data, n, sink());
  }
  // The blob ended: its digest, and the diff ID of its decoded bytes.
  void close() {
    if (!decoder_) start();
    decoder_->finish();
    writer_.close();
    blob_ = codec_ == BlobCodec::Plain ? writer_.diff() : blob_hash_.digest();
  }
  const std::string& blob() const { return blob_; }
  const std::string& diff() const { return writer_.diff(); }
  BlobCodec codec() const { return codec_; }
  void install() { writer_.install(); }

 private:
  void start() {
    codec_ = sniff_codec(head_.data(), head_.size());
    decoder_ = std::make_unique<BlobDecoder>(codec_, what_);
    if (codec_ != BlobCodec::Plain) blob_hash_.update(head_.data(), head_.size());
    decoder_->feed(head_.data(), head_.size(), sink());
  }
  BlobDecoder::Sink sink() {
    return [this](const char* d, std::size_t k) { writer_.write(d, k); };
  }
  LayerWriter writer_;
  std::string what_;
  std::string head_;
  BlobCodec codec_ = BlobCodec::Plain;
  std::unique_ptr<BlobDecoder> decoder_;
  wire::Sha256 blob_hash_;
  std::string blob_;
};

bool image_cached(const CacheDirs& d, const WantedImage& img) {
  if (!fs::exists(config_path(d, img.id))) return false;
  return std::all_of(img.diff_ids.begin(), img.diff_ids.end(), [&](const std::string& diff) { return layer_cached(d, diff); });
}

// Written last, once everything they name is cached, so a failed save
// leaves no image looking cached.
void write_config(const CacheDirs& d, const std::string& hex, const std::string& content) {
  fs::path tmp = temp_path(d.configs, "json");
  File f = open_write(tmp);
  try {
    write_or_throw(f.get(), content.data(), content.size(), tmp);
    close_or_throw(f, tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, d.configs / (hex + ".json"));
}

// One save of `images`, by the source runtime's IDs, streamed into the
// cache: no archive is ever written whole (SaveStream reads it).
void save_into_cache(const CacheDirs& d, const std::vector<WantedImage>& images, Compress mode) {
  const runtime::SourceRuntime& rt = images.front().source;
  std::vector<std::string> ids;
  for (const auto& img : images) ids.push_back(img.source_id.empty() ? img.id : img.source_id);
  SaveOptions opt;
  opt.label = runtime::save_label(rt);
  SaveStream stream(d.root.string(), images, mode, opt);
  spdlog::info("saving {} image(s) into the layer cache {} ({})", images.size(), d.root.string(), opt.label);
  runtime::ProcessResult r = runtime::run_capture(runtime::save_command(rt, ids), [&](const char* data, std::size_t n) {
    if (shutdown_flag()) throw std::runtime_error("interrupted while saving images into the layer cache");
    stream.feed(data, n);
  });
  if (!r.ok()) throw std::runtime_error(opt.label + " failed: " + r.last_line());
  stream.finish();
}

// What a read from Docker's classic store took into the cache.
struct StoreRead {
  std::size_t layers = 0, configs = 0;
};

// The configs and layers `images` lack, read in place from Docker's classic
// store (src/cache/docker_store.h) rather than with a docker save of the
// whole images: each layer regenerated into a LayerWriter as a save's
// would be, and kept only if its SHA-256 is its diff ID; the configs
// written last, as after a save. Nullopt, with the reason at debug level,
// when anything is not as expected: the caller then saves. Layers taken
// before that stay (each is whole and checked); a cache write error or an
// interruption is thrown as from a save.
std::optional<StoreRead> read_docker_store(const CacheDirs& d, const std::vector<WantedImage>& images, Compress mode) {
  const runtime::SourceRuntime& rt = images.front().source;
  StoreRead got;
  try {
    DockerStore store(rt.docker_root, rt.docker_driver);
    spdlog::info("reading {} image(s) into the layer cache {} from Docker's layer store at {}: only the layers it lacks",
                 images.size(), d.root.string(), rt.docker_root);
    std::map<std::string, std::string> configs;  // hex -> bytes
    for (const auto& img : images) {
      const std::string name = "image " + (img.refs.empty() ? img.id : img.refs.front());
      if (!fs::exists(config_path(d, img.id)) && !configs.count(hex_of(img.id))) {
        std::string config = store.config(img.id);
        if (parse_diff_ids(config) != std::optional<std::vector<std::string>>(img.diff_ids))
          throw StoreMiss(name + ": its config lists other layers than docker image inspect");
        configs[hex_of(img.id)] = std::move(config);
      }
      const std::vector<std::string> chains = chain_ids(img.diff_ids);
      for (std::size_t k = 0; k < chains.size(); ++k) {
        const std::string& diff = img.diff_ids[k];
        if (layer_cached(d, diff)) continue;
        LayerWriter layer(d, mode);
        store.layer(chains[k], diff, [&](const char* data, std::size_t n) {
          if (shutdown_flag()) throw std::runtime_error("interrupted while reading layers into the layer cache");
          layer.write(data, n);
        });
        if (layer.close() != diff)
          throw StoreMiss(name + ": layer " + std::to_string(k + 1) + " regenerates to " + layer.diff() +
                          ", not its diff ID " + diff);
        spdlog::debug("{}: layer {} ({}) read from Docker's layer store", name, k + 1, diff);
        layer.install();
        ++got.layers;
      }
    }
    // An image stopped between its last layer and its config stays uncached.
    if (shutdown_flag()) throw std::runtime_error("interrupted while reading layers into the layer cache");
    for (const auto& [hex, content] : configs) write_config(d, hex, content);
    got.configs = configs.size();
    return got;
  } catch (const StoreMiss& e) {
    spdlog::debug("Docker's layer store: {}; docker save instead", e.what());
    return std::nullopt;
  }
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
  // The records of which config a containerd-store image has go with the config.
  for (const auto& e : fs::directory_iterator(d.root / "targets", ec)) {
    std::ifstream in(e.path());
    std::string id;
    in >> id;
    if (id.size() != 71 || !fs::exists(config_path(d, id))) fs::remove(e.path(), ec);
  }
}

}  // namespace

// Reads every layout a save writes (docs/design.md, "The layer cache"):
//  - docker-archive (Docker 24 and older): `<id>/layer.tar` per layer, named
//    by the SHA-256 of its bytes (its diff ID), and `<config hex>.json`;
//    podman's: `<diff hex>.tar` per layer (and `<id>/layer.tar` symlinks);
//  - OCI layout (Docker 25 and later, either image store):
//    `blobs/sha256/<hex>`, each blob named by the SHA-256 of its bytes, beside
//    index.json, oci-layout and a manifest.json that points into blobs/, all
//    three after the blobs. The classic store writes layers uncompressed, so
//    the blob named by a wanted diff ID is that layer. The containerd store
//    writes them as it keeps them, mostly gzip: which blob is which layer is
//    known only from the manifest, at the end, so each gzip or zstd blob is
//    decompressed once as it streams, into a temp file named at its end by
//    the SHA-256 of what came out, and kept only if that is a wanted diff ID.
//    JSON blobs (configs, manifests, indexes) are kept in memory; at the end
//    the image is resolved from them (an index: the manifest of the
//    platform), and each layer's decompressed digest must be the diff ID
//    its config lists at that position. Every blob read must hash to its name.
struct SaveStream::Impl {
  enum class Kind { Skip, Sniff, Layer, Json, Config };

  Impl(const std::string& cache_dir, const std::vector<WantedImage>& wanted, Compress m, SaveOptions o)
      : d{cache_dir, fs::path(cache_dir) / "layers", fs::path(cache_dir) / "configs"},
        images(wanted),
        mode(m),
        opt(std::move(o)),
        parser({[this](const wire::TarEntry& e) { begin(e); },
                [this](const char* data, std::size_t n) { take(data, n); }, [this] { end(); }}) {
    for (const auto& img : images) {
      for (const auto& diff : img.diff_ids) layers_wanted.insert(hex_of(diff));
      if (img.diff_ids.empty()) keep_every_layer = true;  // which ones, only the config will say
    }
  }

  std::string blob_name(const std::string& hex) const { return opt.label + "'s blob sha256:" + hex; }
  std::runtime_error damaged(const std::string& hex, const std::string& actual) const {
    return std::runtime_error(blob_name(hex) + " holds other bytes (SHA-256 " + actual + "): its archive is damaged");
  }

  void begin(const wire::TarEntry& e) {
    static const std::regex config_re("([0-9a-f]{64})\\.json");
    static const std::regex layer_re("([0-9a-f]{64})\\.tar");
    static const std::regex blob_re("blobs/sha256/([0-9a-f]{64})");
    const bool file = e.type == '0';
    std::smatch m;
    kind = Kind::Skip;
    hex.clear();
    head.clear();
    text.clear();
    size = e.size;
    if (!file) return;
    if (std::regex_match(e.name, m, blob_re)) {
      oci = true;
      hex = m[1];
      blobs.insert(hex);
      if (layers_wanted.count(hex) && layer_cached(d, "sha256:" + hex)) {
        decoded[hex] = "sha256:" + hex;  // named by its diff ID: cached already, nothing to write
      } else if (layers_wanted.count(hex) && opt.write) {
        start_layer();
      } else {
        kind = Kind::Sniff;
      }
    } else if (e.name.size() > 10 && e.name.compare(e.name.size() - 10, 10, "/layer.tar") == 0) {
      docker_archive = true;
      if (opt.write) start_layer(opt.label + "'s " + e.name);
    } else if (std::regex_match(e.name, m, layer_re)) {  // podman's docker-archive
      docker_archive = true;
      hex = m[1];
      if (opt.write && !layer_cached(d, "sha256:" + hex)) start_layer();
    } else if (std::regex_match(e.name, m, config_re)) {
      kind = Kind::Config;
      hex = m[1];
    } else if (e.name == "index.json" || e.name == "oci-layout") {
      oci = true;
    }
  }

  void start_layer(const std::string& what = "") {
    kind = Kind::Layer;
    layer = std::make_unique<LayerIntake>(d, mode, what.empty() ? blob_name(hex) : what);
  }

  void take(const char* data, std::size_t n) {
    if (kind == Kind::Sniff) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(4, size));
      const std::size_t k = std::min(n, want - head.size());
      head.append(data, k);
      data += k;
      n -= k;
      if (head.size() < want) return;
      decide();
      std::string first;
      first.swap(head);
      route(first.data(), first.size());
    }
    route(data, n);
  }

  // What an OCI blob is, from its first bytes and its size.
  void decide() {
    const BlobCodec codec = sniff_codec(head.data(), head.size());
    if (!head.empty() && head[0] == '{' && size <= kJsonMax) {
      kind = Kind::Json;
    } else if (codec != BlobCodec::Plain && opt.write) {
      encoded_blob = true;
      start_layer();
    } else {
      if (codec != BlobCodec::Plain) encoded_blob = true;
      kind = Kind::Skip;
    }
  }

  void route(const char* data, std::size_t n) {
    if (!n) return;
    switch (kind) {
      case Kind::Layer: layer->write(data, n); break;
      case Kind::Json:
      case Kind::Config:
        if (text.size() + n > kJsonMax) throw std::runtime_error(blob_name(hex) + " is too large for JSON");
        text.append(data, n);
        break;
      default: break;
    }
  }

  void end() {
    if (kind == Kind::Sniff) {  // shorter than 4 bytes
      decide();
      std::string first;
      first.swap(head);
      route(first.data(), first.size());
    }
    switch (kind) {
      case Kind::Layer: {
        layer->close();
        // A blob, and podman's <hex>.tar, must hash to its name.
        if (!hex.empty() && layer->blob() != "sha256:" + hex) throw damaged(hex, layer->blob());
        if (!hex.empty()) decoded[hex] = layer->diff();
        if (layer->codec() == BlobCodec::Plain || layers_wanted.count(hex_of(layer->diff())) || keep_every_layer)
          layer->install();
        else
          spdlog::debug("{} decompresses to {}, a layer no wanted image has: dropped", blob_name(hex), layer->diff());
        layer.reset();
        break;
      }
      case Kind::Json: {
        const std::string actual = wire::sha256_digest(text);
        if (actual != "sha256:" + hex) throw damaged(hex, actual);
        json[hex] = std::move(text);
        break;
      }
      case Kind::Config:
        if (wire::sha256_digest(text) == "sha256:" + hex) configs[hex] = std::move(text);
        break;
      default: break;
    }
    text.clear();
  }

  // The OCI image `img` stands for, from the JSON blobs: by its source ID
  // (a manifest or an index), else the manifest whose config is its ID.
  std::string target_of(const WantedImage& img) const {
    if (!img.source_id.empty() && json.count(hex_of(img.source_id))) return img.source_id;
    for (const auto& [h, content] : json) {
      std::optional<ManifestInfo> m = parse_manifest(content);
      if (m && m->config == img.id) return "sha256:" + h;
    }
    return "";
  }

  std::string what(const WantedImage& img) const {
    return "image " + (img.refs.empty() ? img.id : img.refs.front()) + " (" +
           (img.source_id.empty() ? img.id : img.source_id) + ")";
  }

  // Gives each image its config digest and diff IDs from the archive, and
  // checks each layer blob against the diff ID at its position.
  void resolve(WantedImage& img) {
    if (!oci) {
      if (img.id.empty()) throw std::runtime_error(opt.label + " of " + what(img) + " wrote no OCI layout; its config digest is unknown");
      auto c = configs.find(hex_of(img.id));
      if (c != configs.end()) {
        std::optional<std::vector<std::string>> diffs = parse_diff_ids(c->second);
        if (diffs && img.diff_ids.empty()) img.diff_ids = *diffs;
        config_out[hex_of(img.id)] = c->second;
      }
      return;
    }
    const std::string target = target_of(img);
    if (target.empty()) {
      if (img.id.empty() || !opt.write) throw std::runtime_error(opt.label + " of " + what(img) + " holds no manifest for it");
      return;  // finish() says what is missing
    }
    BlobLookup lookup = [&](const std::string& digest) -> std::optional<std::string> {
      auto it = json.find(hex_of(digest));
      if (it == json.end()) return std::nullopt;
      return it->second;
    };
    BlobPresent present = [&](const std::string& digest) { return blobs.count(hex_of(digest)) > 0; };
    ResolvedImage r = resolve_image(target, opt.platform, lookup, present, what(img) + " in " + opt.label + "'s archive");
    if (img.id.empty()) img.id = r.info.config;
    if (r.info.config != img.id)
      throw std::runtime_error(what(img) + ": " + opt.label + "'s manifest " + r.manifest + " names config " +
                               r.info.config + ", not " + img.id);
    if (img.diff_ids.empty()) img.diff_ids = r.diff_ids;
    if (r.diff_ids != img.diff_ids)
      throw std::runtime_error(what(img) + ": the config in " + opt.label + "'s archive (" + r.info.config +
                               ") lists other layers than the runtime reported for it; run again, and if it "
                               "persists, check the image with its runtime");
    if (opt.write)
      for (std::size_t k = 0; k < r.info.layers.size(); ++k) {
        const std::string& blob = r.info.layers[k];
        auto it = decoded.find(hex_of(blob));
        if (it == decoded.end()) {
          if (blob == r.diff_ids[k]) continue;  // uncompressed, not sent; finish() says it is missing
          throw std::runtime_error(what(img) + ": layer " + std::to_string(k + 1) + " is blob " + blob +
                                   ", neither its diff ID " + r.diff_ids[k] + " nor a gzip or zstd stream");
        }
        if (it->second != r.diff_ids[k])
          throw std::runtime_error(what(img) + ": layer " + std::to_string(k + 1) + " (blob " + blob +
                                   ") decompresses to " + it->second + ", not the diff ID " + r.diff_ids[k] +
                                   " its config lists: the archive is damaged");
      }
    config_out[hex_of(img.id)] = r.config;
  }

  // Why `img` is not whole in the cache after the save, for the error.
  std::string missing(const WantedImage& img) const {
    std::size_t found = std::count_if(img.diff_ids.begin(), img.diff_ids.end(),
                                      [&](const std::string& diff) { return layer_cached(d, diff); });
    std::string why = opt.label + " of " + (img.source_id.empty() ? img.id : img.source_id) +
                      " did not yield its config and every layer (" + std::to_string(img.diff_ids.size()) +
                      " expected, " + std::to_string(found) + " found; config " +
                      (fs::exists(config_path(d, img.id)) ? "found" : "missing");
    if (oci)
      why += encoded_blob ? "; the archive is in OCI layout with compressed layers" : "; the archive is in OCI layout";
    else if (!docker_archive)
      why += "; the archive is in neither layout treesync reads (docker-archive, OCI)";
    return why + ")";
  }

  CacheDirs d;
  std::vector<WantedImage> images;
  Compress mode;
  SaveOptions opt;
  std::set<std::string> layers_wanted;  // hex digests
  bool keep_every_layer = false;
  wire::TarParser parser;
  // The entry being read.
  Kind kind = Kind::Skip;
  std::string hex;     // the name of a blob, podman layer or config
  std::uint64_t size = 0;
  std::string head;    // a blob's first bytes, until they tell what it is
  std::unique_ptr<LayerIntake> layer;
  std::string text;
  // What the archive held.
  std::set<std::string> blobs;                     // every OCI blob, hex
  std::map<std::string, std::string> decoded;      // layer blob hex -> the diff ID of its decoded bytes
  std::map<std::string, std::string> json;         // JSON blob hex -> its verified content
  std::map<std::string, std::string> configs;      // docker-archive: config hex -> verified content
  std::map<std::string, std::string> config_out;   // configs of the wanted images, to write
  bool oci = false, docker_archive = false, encoded_blob = false;
};

SaveStream::SaveStream(const std::string& cache_dir, const std::vector<WantedImage>& images, Compress mode,
                       SaveOptions options)
    : impl_(std::make_unique<Impl>(cache_dir, images, mode, std::move(options))) {}

SaveStream::~SaveStream() = default;

void SaveStream::feed(const char* data, std::size_t n) { impl_->parser.feed(data, n); }

const std::vector<WantedImage>& SaveStream::images() const { return impl_->images; }

// Configs are written last, once the save is whole and checked, so a
// failed save leaves no image looking cached.
void SaveStream::finish() {
  Impl& s = *impl_;
  if (!s.parser.done()) throw std::runtime_error(s.opt.label + " ended early: its archive has no end");
  for (auto& img : s.images) s.resolve(img);
  if (!s.opt.write) return;
  for (const auto& [hex, content] : s.config_out) write_config(s.d, hex, content);
  for (const auto& img : s.images)
    if (!image_cached(s.d, img)) throw std::runtime_error(s.missing(img));
}

void fetch_into_cache(const std::string& cache_dir, const std::vector<WantedImage>& images, Compress mode,
                      const BlobFetch& fetch, const std::string& label) {
  CacheDirs d{cache_dir, fs::path(cache_dir) / "layers", fs::path(cache_dir) / "configs"};
  for (const auto& img : images) {
    const std::string name = "image " + (img.refs.empty() ? img.id : img.refs.front());
    if (img.blobs.size() != img.diff_ids.size())
      throw std::logic_error(name + ": " + std::to_string(img.blobs.size()) + " blobs for " +
                             std::to_string(img.diff_ids.size()) + " layers");
    for (std::size_t k = 0; k < img.blobs.size(); ++k) {
      const std::string& blob = img.blobs[k];
      if (layer_cached(d, img.diff_ids[k])) continue;
      LayerIntake in(d, mode, label + "'s blob " + blob);
      fetch(blob, [&](const char* data, std::size_t n) {
        if (shutdown_flag()) throw std::runtime_error("interrupted while reading layers into the layer cache");
        in.write(data, n);
      });
      in.close();
      if (in.blob() != blob)
        throw std::runtime_error(label + "'s blob " + blob + " holds other bytes (SHA-256 " + in.blob() +
                                 "): the runtime's content store is damaged");
      if (in.diff() != img.diff_ids[k])
        throw std::runtime_error(name + ": layer " + std::to_string(k + 1) + " (blob " + blob + ") decompresses to " +
                                 in.diff() + ", not the diff ID " + img.diff_ids[k] + " its config lists");
      spdlog::debug("{}: layer {} from {} ({}, {})", name, k + 1, label, blob, codec_name(in.codec()));
      in.install();
    }
    if (fs::exists(config_path(d, img.id))) continue;
    std::string config;
    fetch(img.id, [&](const char* data, std::size_t n) {
      if (config.size() + n > kJsonMax) throw std::runtime_error(name + ": config " + img.id + " is too large");
      config.append(data, n);
    });
    const std::string actual = wire::sha256_digest(config);
    if (actual != img.id)
      throw std::runtime_error(label + "'s blob " + img.id + " holds other bytes (SHA-256 " + actual +
                               "): the runtime's content store is damaged");
    write_config(d, hex_of(img.id), config);
  }
}

PreparedBundle prepare_bundle(const std::vector<WantedImage>& images, const std::string& cache_dir, Compress mode) {
  // The run holds the cache from before its first read until it exits.
  CacheLease* lease = CacheLease::held(cache_dir);
  if (!lease) throw std::logic_error("the layer cache at " + cache_dir + " is used without a CacheLease");
  CacheDirs d{cache_dir, fs::path(cache_dir) / "layers", fs::path(cache_dir) / "configs"};
  PreparedBundle out;
  std::optional<StoreRead> read;
  std::vector<WantedImage> missing;
  for (const auto& img : images)
    if (!image_cached(d, img)) missing.push_back(img);
  if (!missing.empty() && missing.front().source.has_content()) {
    const runtime::SourceRuntime& rt = missing.front().source;
    spdlog::info("reading {} image(s) into the layer cache {} from {}: only the layers it lacks", missing.size(),
                 d.root.string(), rt.name());
    fetch_into_cache(d.root.string(), missing, mode,
                     [&](const std::string& digest, const runtime::OutputSink& sink) { runtime::content_stream(rt, digest, sink); },
                     "ctr content get");
    out.saved = true;
  } else if (!missing.empty() && missing.front().source.kind == runtime::SourceKind::Docker &&
             (read = read_docker_store(d, missing, mode))) {
    out.saved = true;
    out.how = "no docker save: " + std::to_string(read->layers) + " layer(s) and " + std::to_string(read->configs) +
              " config(s) read from Docker's layer store";
  } else if (!missing.empty()) {
    save_into_cache(d, missing, mode);
    out.saved = true;
  } else if (std::any_of(images.begin(), images.end(), [](const WantedImage& w) { return w.saved; })) {
    out.saved = true;  // when the run learnt the images' config digests
  } else {
    spdlog::info("every layer is in the cache {}: no {}", d.root.string(),
                 images.empty() ? "docker save" : runtime::save_label(images.front().source));
    out.how = "no docker save: every layer was cached";
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
