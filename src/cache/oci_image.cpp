#include "src/cache/oci_image.h"

#include <sys/utsname.h>

#include <algorithm>
#include <stdexcept>

#include "src/runtime/runtime.h"
#include "src/wire/protocol.h"

namespace treesync {
namespace {

using wire::Json;

// arm64 "v8" is arm64 itself (containerd's platforms.Normalize).
std::string normal_variant(const std::string& arch, const std::string& variant) {
  if (arch == "arm64" && (variant == "v8" || variant == "8")) return "";
  if (!variant.empty() && variant[0] != 'v') return "v" + variant;
  return variant;
}

Platform from_json(const Json& p) {
  Platform out;
  if (!p.is_object()) return out;
  out.os = p.value("os", "");
  out.arch = runtime::normal_arch(p.value("architecture", ""));
  out.variant = normal_variant(out.arch, p.value("variant", ""));
  return out;
}

bool same(const Platform& want, const Platform& have) {
  return want.os == have.os && want.arch == have.arch && (want.variant.empty() || want.variant == have.variant);
}

bool is_index(const Json& j) {
  const std::string mt = j.value("mediaType", "");
  if (mt == "application/vnd.oci.image.index.v1+json" || mt == "application/vnd.docker.distribution.manifest.list.v2+json")
    return true;
  return mt.empty() && j.contains("manifests") && j["manifests"].is_array() && !j.contains("layers");
}

Json parse(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

std::string short_digest(const std::string& d) { return d.substr(0, std::min<std::size_t>(d.size(), 19)); }

// An index entry worth considering: an image for some platform, not an
// attestation (BuildKit's "unknown/unknown" manifests).
bool is_attestation(const Json& m) {
  const Json& a = m.value("annotations", Json::object());
  if (a.is_object() && a.contains("vnd.docker.reference.type")) return true;
  const Json& p = m.value("platform", Json::object());
  return p.is_object() && p.value("os", "") == "unknown";
}

struct Walk {
  const Platform& platform;
  const BlobLookup& lookup;
  const BlobPresent& present;
  const std::string& what;

  // A manifest is usable when its config and every layer are in the store.
  std::optional<ResolvedImage> complete(const std::string& digest, std::string* why) {
    std::optional<std::string> text = lookup(digest);
    if (!text) {
      *why = "its manifest " + short_digest(digest) + " is not there";
      return std::nullopt;
    }
    std::optional<ManifestInfo> info = parse_manifest(*text);
    if (!info) throw std::runtime_error(what + ": " + digest + " is not an image manifest");
    ResolvedImage r;
    r.manifest = digest;
    r.info = *info;
    std::optional<std::string> config = lookup(info->config);
    if (!config) {
      *why = "its config " + short_digest(info->config) + " is not there";
      return std::nullopt;
    }
    r.config = *config;
    std::optional<std::vector<std::string>> diffs = parse_diff_ids(*config);
    if (!diffs) throw std::runtime_error(what + ": config " + info->config + " lists no rootfs.diff_ids");
    if (diffs->size() != info->layers.size())
      throw std::runtime_error(what + ": manifest " + digest + " names " + std::to_string(info->layers.size()) +
                               " layers but its config " + std::to_string(diffs->size()));
    r.diff_ids = *diffs;
    for (std::size_t i = 0; i < info->layers.size(); ++i)
      if (!present(info->layers[i])) {
        *why = "its layer " + std::to_string(i + 1) + " (" + short_digest(info->layers[i]) + ") is not there";
        return std::nullopt;
      }
    return r;
  }

  ResolvedImage resolve(const std::string& digest, int depth) {
    std::optional<std::string> text = lookup(digest);
    if (!text) throw std::runtime_error(what + ": its manifest or index " + digest + " is not there");
    Json j = parse(*text);
    if (!is_index(j)) {
      std::string why;
      std::optional<ResolvedImage> r = complete(digest, &why);
      if (!r) throw std::runtime_error(what + ": " + why);
      return *r;
    }
    if (depth > 2) throw std::runtime_error(what + ": indexes nested too deep at " + digest);
    // Entries for the platform first, in the index's order, exact variants
    // before the others; an entry with no platform is judged by its config.
    std::vector<std::string> listed;
    std::vector<std::pair<int, Json>> candidates;
    for (const auto& m : j.value("manifests", Json::array())) {
      if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string() || is_attestation(m)) continue;
      Platform p = from_json(m.value("platform", Json()));
      const std::string name = m.contains("platform") ? p.str() : "unnamed";
      listed.push_back(name);
      bool nested = is_index(Json{{"mediaType", m.value("mediaType", "")}});
      if (!m.contains("platform") || nested) candidates.emplace_back(2, m);
      else if (same(platform, p)) candidates.emplace_back(p.variant == platform.variant ? 0 : 1, m);
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string last_why;
    for (const auto& [rank, m] : candidates) {
      const std::string d = m["digest"].get<std::string>();
      if (is_index(Json{{"mediaType", m.value("mediaType", "")}})) {
        try {
          return resolve(d, depth + 1);
        } catch (const std::runtime_error&) {
          continue;
        }
      }
      std::string why;
      std::optional<ResolvedImage> r = complete(d, &why);
      if (!r) {
        last_why = why;
        continue;
      }
      if (rank == 2) {  // no platform in the index: the config says
        Json c = parse(r->config);
        Platform p{c.value("os", ""), runtime::normal_arch(c.value("architecture", "")), ""};
        p.variant = normal_variant(p.arch, c.value("variant", ""));
        if (!same(platform, p)) continue;
      }
      return *r;
    }
    // The error path only: a store may answer each lookup with a program run.
    std::vector<std::string> held;
    for (const auto& m : j.value("manifests", Json::array()))
      if (m.is_object() && m.contains("digest") && m["digest"].is_string() && !is_attestation(m) &&
          lookup(m["digest"].get<std::string>()))
        held.push_back(m.contains("platform") ? from_json(m["platform"]).str() : "unnamed");
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s.empty() ? std::string("none") : s;
    };
    std::string msg = what + " has no " + platform.str() + " image here: its index names " + join(listed) +
                      "; the store holds the manifest of " + join(held);
    if (!last_why.empty()) msg += " (" + platform.str() + ": " + last_why + ")";
    throw std::runtime_error(msg + "; pull or build it for " + platform.str() + " first");
  }
};

}  // namespace

std::string Platform::str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }

Platform host_platform() {
  struct utsname u;
  Platform p{"linux", "amd64", ""};
  if (::uname(&u) != 0) return p;
  const std::string m = u.machine;
  p.arch = runtime::normal_arch(m);
  if (p.arch == "arm") p.variant = m.rfind("armv6", 0) == 0 ? "v6" : m.rfind("armv5", 0) == 0 ? "v5" : "v7";
  return p;
}

Platform parse_platform(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  for (;;) {
    std::size_t slash = text.find('/', at);
    parts.push_back(text.substr(at, slash - at));
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    throw std::invalid_argument("platform '" + text + "' is not OS/ARCH[/VARIANT], e.g. linux/amd64");
  Platform p{parts[0], runtime::normal_arch(parts[1]), parts.size() == 3 ? parts[2] : ""};
  p.variant = normal_variant(p.arch, p.variant);
  return p;
}

std::optional<ManifestInfo> parse_manifest(const std::string& text) {
  Json j = parse(text);
  if (!j.is_object() || !j.contains("config") || !j["config"].is_object() || !j.contains("layers") ||
      !j["layers"].is_array())
    return std::nullopt;
  ManifestInfo out;
  out.config = j["config"].value("digest", "");
  if (out.config.empty()) return std::nullopt;
  for (const auto& l : j["layers"]) {
    if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string()) return std::nullopt;
    out.layers.push_back(l["digest"].get<std::string>());
  }
  return out;
}

std::optional<std::vector<std::string>> parse_diff_ids(const std::string& text) {
  Json j = parse(text);
  if (!j.is_object() || !j.contains("rootfs") || !j["rootfs"].is_object()) return std::nullopt;
  const Json& d = j["rootfs"].value("diff_ids", Json());
  if (!d.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& x : d) {
    if (!x.is_string()) return std::nullopt;
    out.push_back(x.get<std::string>());
  }
  return out;
}

ResolvedImage resolve_image(const std::string& target, const Platform& platform, const BlobLookup& lookup,
                            const BlobPresent& present, const std::string& what) {
  Walk w{platform, lookup, present, what};
  return w.resolve(target, 0);
}

}  // namespace treesync
