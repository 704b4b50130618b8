// Docker's classic store read in place (src/cache/docker_store.h): a
// layer's tar regenerated from its tar-split metadata byte for byte, and
// every way the store can be other than expected (a changed file, a
// symlink out of the layer, a name that goes up, another driver) ending in
// a docker save, never in a bad layer in the cache.
#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <cstdlib>

#include "src/cache/cache_lease.h"
#include "src/cache/chain_ids.h"
#include "src/cache/docker_store.h"
#include "src/cache/local_images.h"
#include "tests/fake_runtimes.h"

using namespace fake_runtimes;
using treesync::StoreMiss;

namespace {

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Lines of tar-split metadata, as its packer writes them.
std::string segment(const std::string& bytes) { return R"({"type":2,"payload":")" + base64(bytes) + "\"}\n"; }
std::string file_entry(const std::string& name, std::size_t size) {
  return R"({"type":1,"name":")" + name + "\"" + (size ? ",\"size\":" + std::to_string(size) : "") +
         R"(,"payload":null})" "\n";
}

std::string assemble(const fs::path& tar_split, const fs::path& files) {
  std::string out;
  treesync::assemble_tar_split(tar_split.string(), files.string(), [&](const char* d, std::size_t n) { out.append(d, n); });
  return out;
}

void put_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A layer made by Python's tarfile, with its diff/ and tar-split.json.gz
// (tests/tar_split_fixture.py), in a temp dir.
struct PythonLayer {
  TempDir dir{"tar-split"};
  fs::path tar_split = dir.path / "tar-split.json.gz", diff = dir.path / "diff";
  std::string tar;
  PythonLayer() {
    const std::string cmd = "python3 " + std::string(TREESYNC_SOURCE_DIR) + "/tests/tar_split_fixture.py " + dir.path.string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    tar = slurp(dir.path / "layer.tar");
  }
};

// Docker's classic store on overlay2 in a temp dir, laid out as Docker
// 20.10 keeps it: images of layers of files, each layer with its diff ID,
// cache ID, size and tar-split metadata, its files under overlay2/.
struct ClassicStore {
  TempDir dir{"docker-root"};
  fs::path root = dir.path;

  struct Layer {
    std::string tar, diff;
    fs::path files;  // its diff/
  };

  // A layer of `files` (name, content) on top of the layers `below`.
  Layer layer(const std::vector<std::string>& below, const std::vector<std::pair<std::string, std::string>>& files) {
    Layer l;
    std::string meta;
    for (const auto& [name, body] : files) {
      const std::string m = member(name, body);
      l.tar += m;
      meta += segment(m.substr(0, wire::kTarBlock)) + file_entry(name, body.size());
      if (m.size() > wire::kTarBlock + body.size()) meta += segment(m.substr(wire::kTarBlock + body.size()));
    }
    l.tar += wire::tar_trailer();
    meta += segment(wire::tar_trailer());
    l.diff = wire::sha256_digest(l.tar);
    std::vector<std::string> diffs = below;
    diffs.push_back(l.diff);
    const std::string chain = treesync::chain_ids(diffs).back();
    const std::string cache_id = hex(wire::sha256_digest("cache " + chain));
    const fs::path db = root / "image/overlay2/layerdb/sha256" / hex(chain);
    put_file(db / "diff", l.diff);
    put_file(db / "cache-id", cache_id);
    put_file(db / "size", std::to_string(l.tar.size()));
    put_file(db / "tar-split.json.gz", gzip(meta));
    l.files = root / "overlay2" / cache_id / "diff";
    fs::create_directories(l.files);
    for (const auto& [name, body] : files) put_file(l.files / name, body);
    return l;
  }

  // An image of `layers`, bottom first, as save_archives::Image (for a save
  // of it), its config in the image store.
  Image image(const std::vector<Layer>& layers, const std::string& ref) {
    Image img;
    img.layers.clear();
    std::vector<std::string> diffs;
    std::string list;
    for (const auto& l : layers) {
      img.layers.push_back(l.tar);
      diffs.push_back(l.diff);
      list += std::string(list.empty() ? "" : ",") + "\"" + l.diff + "\"";
    }
    img.config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[)" + list + "]}}";
    img.wanted = {wire::sha256_digest(img.config), {ref}, diffs};
    put_file(root / "image/overlay2/imagedb/content/sha256" / hex(img.wanted.id), img.config);
    return img;
  }
};

// The fake Docker's answers for a classic store at `root` with `driver`.
void classic_docker(const FakeRuntimes& fake, const fs::path& root, const std::string& driver = "overlay2") {
  fake.docker_info(driver, R"(,"Driver":")" + driver + R"(","DockerRootDir":")" + root.string() + "\"");
}

bool cached(const Cache& cache, const std::string& diff) {
  return fs::exists(cache.layers / (hex(diff) + ".tar")) || fs::exists(cache.layers / (hex(diff) + ".tar.zst"));
}

// prepare_bundle for `ref`, as a run does: the image inspected, the cache held.
treesync::PreparedBundle prepare(const Cache& cache, const std::string& ref, Compress mode = Compress::None) {
  auto lease = treesync::CacheLease::open(cache.root(), false, std::chrono::milliseconds(100));
  auto images = treesync::inspect_local_images(options_for(cache, {ref}));
  return treesync::prepare_bundle(images, cache.root(), mode);
}

}  // namespace

TEST_CASE("tar-split metadata gives a layer back byte for byte (Python's tarfile: PAX, links, a non-UTF-8 name)") {
  PythonLayer layer;
  const std::string out = assemble(layer.tar_split, layer.diff);
  CHECK(out.size() == layer.tar.size());
  CHECK(wire::sha256_digest(out) == wire::sha256_digest(layer.tar));
}

TEST_CASE("tar-split: what does not match the metadata is refused, never read from outside the layer") {
  PythonLayer layer;
  TempDir outside("outside");
  SECTION("a file is a symlink out of the layer, to a copy of its content") {
    put_file(outside.path / "hosts", slurp(layer.diff / "etc/hosts"));
    fs::remove(layer.diff / "etc/hosts");
    fs::create_symlink(outside.path / "hosts", layer.diff / "etc/hosts");
    CHECK_THROWS_AS(assemble(layer.tar_split, layer.diff), StoreMiss);
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("etc/hosts: a symlink"));
  }
  SECTION("a folder on the way is a symlink out of the layer") {
    fs::copy(layer.diff / "data", outside.path / "data");
    fs::remove_all(layer.diff / "data");
    fs::create_directory_symlink(outside.path / "data", layer.diff / "data");
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("data/big.bin: a component is a symlink"));
  }
  SECTION("a name that goes up") {
    put_file(outside.path / "secret", "12345");
    put_file(layer.tar_split, gzip(segment(std::string(512, 'h')) + file_entry("../" + outside.path.filename().string() + "/secret", 5)));
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("goes up"));
  }
  SECTION("a file of another size than the metadata says") {
    std::ofstream(layer.diff / "usr/bin/tool", std::ios::app) << "x";
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("1025 bytes, the layer's tar-split says 1024"));
  }
  SECTION("a missing file") {
    fs::remove(layer.diff / "data/big.bin");
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("data/big.bin: No such file"));
  }
  SECTION("a name twice (tar-split's ErrDuplicatePath)") {
    put_file(layer.tar_split, gzip(file_entry("etc/hosts", 20) + file_entry("./etc//hosts", 20)));
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("appears twice"));
  }
  SECTION("metadata that is not gzip, or not tar-split's JSON") {
    put_file(layer.tar_split, "{\"type\":2}\n");
    CHECK_THROWS_AS(assemble(layer.tar_split, layer.diff), StoreMiss);
    put_file(layer.tar_split, gzip(segment("abc") + "{\"type\":3}\n"));
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("entry 2: an entry of type 3"));
    put_file(layer.tar_split, gzip("{\"type\":2,\"payload\":\"not base64!\"}\n"));
    CHECK_THROWS_WITH(assemble(layer.tar_split, layer.diff), Catch::Contains("without a base64 payload"));
  }
}

TEST_CASE("an update from Docker's classic store: the new layer and config read from its store, no docker save") {
  FakeRuntimes fake;
  ClassicStore store;
  auto base = store.layer({}, {{"bin/busybox", noise(3000, 1)}, {"etc/passwd", "root:x:0:0::/root:/bin/sh\n"}});
  auto top = store.layer({base.diff}, {{"data/app.bin", noise(200000, 2)}, {"data/empty", ""}});
  Image app1 = store.image({base}, "app:1"), app2 = store.image({base, top}, "app:2");
  classic_docker(fake, store.root);
  fake.inspect("app:1", inspect_line(app1.wanted.id, app1.wanted.diff_ids));
  fake.inspect("app:2", inspect_line(app2.wanted.id, app2.wanted.diff_ids));
  Cache cache;

  treesync::PreparedBundle p = prepare(cache, "app:1");
  CHECK(p.how == "no docker save: 1 layer(s) and 1 config(s) read from Docker's layer store");
  CHECK(slurp(cache.layers / (hex(base.diff) + ".tar")) == base.tar);
  CHECK(slurp(cache.configs / (hex(app1.wanted.id) + ".json")) == app1.config);

  p = prepare(cache, "app:2", Compress::Auto);  // the cache holds app:1
  CHECK(p.how == "no docker save: 1 layer(s) and 1 config(s) read from Docker's layer store");
  CHECK(p.saved);
  CHECK(cached(cache, top.diff));
  CHECK(slurp(cache.configs / (hex(app2.wanted.id) + ".json")) == app2.config);
  CHECK(fake.calls().find("docker save") == std::string::npos);
  CHECK_FALSE(cache.temp_files());

  p = prepare(cache, "app:2");
  CHECK(p.how == "no docker save: every layer was cached");
}

TEST_CASE("a store that is not as expected: docker save instead, and no bad layer enters the cache") {
  FakeRuntimes fake;
  ClassicStore store;
  auto base = store.layer({}, {{"bin/busybox", noise(3000, 1)}});
  auto top = store.layer({base.diff}, {{"data/app.bin", noise(200000, 2)}});
  Image app = store.image({base, top}, "app:2");
  classic_docker(fake, store.root);
  fake.inspect("app:2", inspect_line(app.wanted.id, app.wanted.diff_ids));
  Cache cache;
  TempDir outside("outside");

  SECTION("a file changed in the layer's diff/, same size: the tar does not hash to the diff ID") {
    std::string body = slurp(top.files / "data/app.bin");
    body[1000] ^= 1;
    put_file(top.files / "data/app.bin", body);
  }
  SECTION("a symlink out of the layer, to the very bytes it should hold") {
    put_file(outside.path / "app.bin", slurp(top.files / "data/app.bin"));
    fs::remove(top.files / "data/app.bin");
    fs::create_symlink(outside.path / "app.bin", top.files / "data/app.bin");
  }
  SECTION("the layer store names another diff ID at that chain") {
    put_file(store.root / "image/overlay2/layerdb/sha256" / hex(treesync::chain_ids(app.wanted.diff_ids)[1]) / "diff", base.diff);
  }
  SECTION("a config that does not hash to the image ID") {
    put_file(store.root / "image/overlay2/imagedb/content/sha256" / hex(app.wanted.id), app.config + " ");
  }
  SECTION("another storage driver") {
    classic_docker(fake, store.root, "vfs");
  }

  // With no save to be had, the run fails saying so, and the cache holds
  // nothing of the layer that did not read back right.
  CHECK_THROWS_WITH(prepare(cache, "app:2"), Catch::Contains("docker save failed"));
  CHECK(fake.calls().find("docker save " + app.wanted.id) != std::string::npos);
  CHECK_FALSE(cached(cache, top.diff));
  CHECK_FALSE(fs::exists(cache.configs / (hex(app.wanted.id) + ".json")));
  CHECK_FALSE(cache.temp_files());

  // With one, the layer comes from it.
  fake.put("save.tar", docker_archive(app));
  treesync::PreparedBundle p = prepare(cache, "app:2");
  CHECK(p.how.empty());
  CHECK(slurp(cache.layers / (hex(top.diff) + ".tar")) == top.tar);
  CHECK(slurp(cache.configs / (hex(app.wanted.id) + ".json")) == app.config);
}
