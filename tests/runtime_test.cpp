// The runtimes' pure parts: the OCI manifest the relay writes (against a
// digest computed independently and accepted by containerd), names, and
// identity reading from containerd's recorded answers (tests/data/ctr:
// `ctr images check` and `ctr content get` output recorded from containerd
// 1.6.20, plus an index and the odd rows a busy node has).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/runtime/ctr_images.h"
#include "src/runtime/podman.h"
#include "src/runtime/runtime.h"
#include "src/wire/oci.h"
#include "tests/temp_dir.h"
#include "tests/slurp.h"

namespace {

const std::string kConfig1 = "sha256:f0775b35a0fef0bdb7eb7ce1ab06c9d7c5ab01afd0e13087f8bc3057306c52c3";
const std::string kConfig2 = "sha256:f19a2c78709941cc390983676c02c9402ef2c63fe6a95a9cca280148fd3ffef0";
const std::string kLayer1 = "sha256:33774e6a1f9ba69afcd1ed3f46bdceffe2294c0b48bbb15bc443b9fe5e9e56b6";
const std::string kLayer2 = "sha256:ea8580fac8454f236e02e34c91f9231f19c781fb5724b650a29bbd900b5b4ef6";
const std::string kLayer2b = "sha256:e768ae15cd993f1bb30e7ba7dd3a86d3c6aad9f04f228158ecb701bc821d56d1";
// What Python's hashlib gave for the manifest of image 1 written by hand
// (compact JSON, keys in the order of the OCI spec), and what containerd
// stored it under when importing that archive.
const std::string kManifest1 = "sha256:7c733b9e075ac6cada92e5fe9b5f81499a261d8448db1886800cee55e77c7adc";

wire::PlanImage image1() { return {kConfig1, {kLayer1, kLayer2}, 254, {10240, 10240}}; }

// `ctr` on PATH for as long as it lives, answering from the recordings and
// noting every `images rm`.
class RecordedCtr {
 public:
  RecordedCtr() : dir_("ctr") {
    const std::string data = std::string(TREESYNC_SOURCE_DIR) + "/tests/data/ctr";
    std::ofstream script(dir_.path.string() + "/ctr");
    script << "#!/bin/sh\n"
           << "shift 4  # --address S --namespace N\n"
           << "case \"$1 $2\" in\n"
           << "  'images check') exec /bin/cat '" << data << "/images-check.txt' ;;\n"
           << "  'content ls') exec /bin/cat '" << data << "/content-ls.txt' ;;\n"
           << "  'content get') exec /bin/cat '" << data << "/'\"${3#sha256:}\" ;;\n"
           << "  'images rm') echo \"$3\" >> '" << removed_path() << "' ;;\n"
           << "  *) exit 2 ;;\n"
           << "esac\n";
    script.close();
    ::chmod((dir_.path.string() + "/ctr").c_str(), 0700);
    old_path_ = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", dir_.path.string().c_str(), 1);
  }
  ~RecordedCtr() { ::setenv("PATH", old_path_.c_str(), 1); }
  std::string removed() const { return slurp(removed_path()); }

 private:
  std::string removed_path() const { return dir_.path.string() + "/removed"; }
  TempDir dir_;
  std::string old_path_;
};

}  // namespace

TEST_CASE("OCI manifest: byte for byte what an independent writer made, so its digest is too") {
  CHECK(wire::oci_manifest_digest(image1()) == kManifest1);
  std::ifstream recorded(std::string(TREESYNC_SOURCE_DIR) + "/tests/data/ctr/" + kManifest1.substr(7));
  std::stringstream bytes;
  bytes << recorded.rdbuf();
  CHECK(wire::oci_manifest(image1()) == bytes.str());
  wire::PlanImage short_sizes = image1();
  short_sizes.layer_sizes.pop_back();
  CHECK_THROWS_WITH(wire::oci_manifest(short_sizes), Catch::Contains("2 layers but 1 sizes"));
  auto index = wire::Json::parse(wire::oci_index({image1()}));
  CHECK(index["manifests"][0]["digest"] == kManifest1);
  CHECK(index["manifests"][0]["size"] == wire::oci_manifest(image1()).size());
  CHECK_FALSE(index["manifests"][0].contains("annotations"));  // no name before the source verified it
}

TEST_CASE("names: as Docker shows them, as containerd and Kubernetes store them, as podman finds them") {
  CHECK(runtime::full_name("app:1") == "docker.io/library/app:1");
  CHECK(runtime::full_name("team/app:1") == "docker.io/team/app:1");
  CHECK(runtime::full_name("registry:5000/app:1") == "registry:5000/app:1");
  CHECK(runtime::full_name("reg.example/team/app:1") == "reg.example/team/app:1");
  CHECK(runtime::full_name("localhost/app:1") == "localhost/app:1");
  CHECK(runtime::familiar_name("docker.io/library/app:1") == "app:1");
  CHECK(runtime::familiar_name("docker.io/team/app:1") == "team/app:1");
  CHECK(runtime::familiar_name("registry:5000/app:1") == "registry:5000/app:1");
  CHECK(runtime::podman_names({"localhost/app:1", "quay.io/x/y:2"}) ==
        std::vector<std::string>{"localhost/app:1", "app:1", "quay.io/x/y:2"});
  CHECK_FALSE(runtime::node_arch().empty());
}

TEST_CASE("containerd: images found by config digest, whole ones only, with the names people typed") {
  RecordedCtr ctr;
  runtime::CtrImages images("/run/containerd/containerd.sock", "k8s.io", "amd64");
  wire::ProbeReply reply;
  const std::string absent = "sha256:" + std::string(64, '5');
  images.probe({kConfig1, kConfig2, absent}, true, reply);
  // app:1 is the manifest, multi:1 an index whose amd64 entry is that
  // manifest; broken:1 points there too but is incomplete: not a tag.
  CHECK(reply.images[kConfig1].present);
  CHECK(reply.images[kConfig1].tags == std::vector<std::string>{"app:1", "multi:1"});
  // Only a digest name (import-…@sha256:…) and the CRI plugin's ID name: here, untagged.
  CHECK(reply.images[kConfig2].present);
  CHECK(reply.images[kConfig2].tags.empty());
  CHECK_FALSE(reply.images[absent].present);
  // Layers an OCI archive may leave out: only as far as the uncompressed
  // blobs are in the content store (image 1's second is not).
  CHECK(reply.layers == std::vector<std::vector<std::string>>{{kLayer1}, {kLayer1, kLayer2b}});

  runtime::CtrImages arm("/run/containerd/containerd.sock", "k8s.io", "arm64");
  wire::ProbeReply on_arm;
  arm.probe({kConfig1}, false, on_arm);  // multi:1 names an arm64 manifest the store does not hold
  CHECK(on_arm.images[kConfig1].present);
  CHECK(on_arm.images[kConfig1].tags == std::vector<std::string>{"app:1"});
}

TEST_CASE("containerd: a load counts only if the manifest the relay wrote is there and whole") {
  RecordedCtr ctr;
  runtime::CtrImages images("/run/containerd/containerd.sock", "k8s.io", "amd64");
  CHECK(images.loaded({image1()}) == std::vector<std::string>{kConfig1});
  wire::PlanImage other = image1();
  other.layer_sizes[1] = 10241;  // another manifest: not what the store holds
  CHECK(images.loaded({other}).empty());
  CHECK(images.find(kConfig1).name == "docker.io/library/app:1");  // a typed name beats a digest name
  CHECK(images.find(kConfig2).name.find('@') != std::string::npos);
  CHECK_THROWS_WITH(images.find("sha256:" + std::string(64, '5')), Catch::Contains("no whole image"));
  images.remove_digest_names({"sha256:419b8d6220021ea6c451567ebe27f28393d45a654e2705cecede6fe7ea03e160"});
  CHECK(ctr.removed() == "import-2026-11-30@sha256:419b8d6220021ea6c451567ebe27f28393d45a654e2705cecede6fe7ea03e160\n");
}
