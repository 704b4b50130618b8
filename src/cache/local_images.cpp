#include "src/cache/local_images.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>

#include "src/cache/cache_lease.h"
#include "src/cache/layer_cache.h"
#include "src/cache/oci_image.h"
#include "src/errors.h"
#include "src/runtime/docker.h"
#include "src/runtime/source_image.h"
#include "src/shutdown.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

using runtime::SourceKind;
using runtime::SourceRuntime;

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

std::string name_of(const WantedImage& w) { return "image " + w.refs.front() + " (" + w.source_id + ")"; }

// The layer cache remembers which config a containerd-store image (its
// manifest or index digest) has on a platform: a digest names its content,
// so the record never goes stale, and a later run needs no save to learn it.
//   CACHE_DIR/targets/<manifest or index hex>.<os>-<arch>[-<variant>] holds "sha256:<config hex>"
fs::path target_record(const std::string& cache_dir, const std::string& target, const Platform& p) {
  std::string plat = p.os + "-" + p.arch + (p.variant.empty() ? "" : "-" + p.variant);
  return fs::path(cache_dir) / "targets" / (hex_of(target) + "." + plat);
}

std::string read_record(const fs::path& path) {
  std::ifstream in(path);
  std::string id;
  in >> id;
  return runtime::is_image_id(id) ? id : "";
}

void write_record(const fs::path& path, const std::string& config) {
  std::error_code ec;
  ::mkdir(path.parent_path().c_str(), 0700);
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    out << config << "\n";
    if (!out.flush()) {
      fs::remove(tmp, ec);
      return spdlog::debug("cannot write {}", path.string());
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
}

// From the runtime's containerd content store: the config digest, the
// diff IDs and the layer blobs, reading only JSON.
void resolve_by_content(WantedImage& w, const Platform& platform) {
  const SourceRuntime& rt = w.source;
  BlobLookup lookup = [&](const std::string& digest) { return runtime::content_get(rt, digest); };
  // Layers are not read here: one that is gone fails its fetch, saying so.
  BlobPresent present = [](const std::string&) { return true; };
  ResolvedImage r = resolve_image(w.source_id, platform, lookup, present, name_of(w) + " in " + rt.name());
  if (!w.diff_ids.empty() && w.diff_ids != r.diff_ids)
    throw std::runtime_error(name_of(w) + ": its " + platform.str() + " config " + r.info.config +
                             " lists other layers than " + rt.name() + " reports");
  w.id = r.info.config;
  w.diff_ids = r.diff_ids;
  w.blobs = r.info.layers;
}

// One save of the images whose config digest is still unknown: the
// archive's index and manifests say. Into the layer cache when this run
// holds it (a later fill of the cache then saves nothing), else only read.
void resolve_by_save(std::vector<WantedImage*>& todo, const Options& o, const Platform& platform) {
  const bool into_cache = CacheLease::held(o.cache_dir) != nullptr;
  std::vector<WantedImage> images;
  std::vector<std::string> ids;
  for (WantedImage* w : todo) {
    images.push_back(*w);
    ids.push_back(w->source_id);
  }
  const SourceRuntime& rt = images.front().source;
  SaveOptions opt;
  opt.write = into_cache;
  opt.platform = platform;
  opt.label = runtime::save_label(rt);
  spdlog::info("{} image(s) in {}: their config digests come from one {}{}", images.size(), rt.name(), opt.label,
               into_cache ? ", saved into the layer cache " + o.cache_dir : "");
  SaveStream stream(o.cache_dir, images, o.compress, opt);
  runtime::ProcessResult r = runtime::run_capture(runtime::save_command(rt, ids), [&](const char* data, std::size_t n) {
    if (shutdown_flag()) throw std::runtime_error("interrupted while saving images");
    stream.feed(data, n);
  });
  if (!r.ok()) throw std::runtime_error(opt.label + " failed: " + r.last_line());
  stream.finish();
  for (std::size_t i = 0; i < todo.size(); ++i) {
    *todo[i] = stream.images()[i];
    todo[i]->saved = into_cache;
    if (into_cache) write_record(target_record(o.cache_dir, todo[i]->source_id, platform), todo[i]->id);
  }
}

std::vector<WantedImage> inspect(const Options& o) {
  SourceRuntime rt = runtime::detect_source_runtime(o.source_runtime, o.source_namespace);
  spdlog::debug("source runtime: {}", rt.name());
  std::vector<WantedImage> images;
  for (const auto& ref : o.images) {
    runtime::SourceInspect found = runtime::inspect_source_image(rt, ref);
    if (!found.found) throw UsageError(found.missing);
    auto same = std::find_if(images.begin(), images.end(),
                             [&](const WantedImage& w) { return (w.source_id.empty() ? w.id : w.source_id) == found.id; });
    if (same != images.end()) {
      same->refs.push_back(ref);
      continue;
    }
    WantedImage w;
    w.refs = {ref};
    w.diff_ids = found.diff_ids;
    w.source = rt;
    if (rt.kind == SourceKind::Docker || rt.kind == SourceKind::Podman)
      w.id = found.id;  // the config digest
    else
      w.source_id = found.id;  // a manifest or index digest
    images.push_back(w);
  }
  if (rt.kind == SourceKind::Docker || rt.kind == SourceKind::Podman) return images;

  const Platform platform = host_platform();
  if (rt.kind == SourceKind::DockerContainerd && !rt.has_content()) {
    if (runtime::find_docker_content(rt, runtime::docker_info(), images.front().source_id)) {
      spdlog::info("Docker's containerd store: reading images from its containerd at {} (namespace {})", rt.address, rt.ns);
      for (auto& w : images) w.source = rt;
    } else {
      spdlog::debug("Docker's containerd store: its containerd cannot be reached with ctr; images come from docker save");
    }
  }
  std::vector<WantedImage*> todo;
  for (auto& w : images) {
    if (rt.has_content()) {
      resolve_by_content(w, platform);
      continue;
    }
    w.id = read_record(target_record(o.cache_dir, w.source_id, platform));
    if (w.id.empty()) todo.push_back(&w);
    else spdlog::debug("{}: config {} (recorded by an earlier save)", name_of(w), w.id);
  }
  if (!todo.empty()) resolve_by_save(todo, o, platform);
  // Two references may name different manifests of one config.
  std::vector<WantedImage> out;
  for (auto& w : images) {
    auto same = std::find_if(out.begin(), out.end(), [&](const WantedImage& x) { return x.id == w.id; });
    if (same == out.end()) out.push_back(w);
    else same->refs.insert(same->refs.end(), w.refs.begin(), w.refs.end());
  }
  return out;
}

}  // namespace

std::vector<WantedImage> inspect_local_images(const Options& o) {
  // Nothing was touched yet: a runtime that cannot give the images is bad
  // input (exit 2), unless the run is being stopped.
  try {
    return inspect(o);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    if (shutdown_flag()) throw;
    throw UsageError(e.what());
  }
}

}  // namespace treesync
