// Stage, then activate: the staged names, the commands' flags, what each
// node is told to do, and the runtimes' tag and untag as each runtime's CLI
// is called (a fake docker, podman and ctr on PATH log every call; ctr
// answers from containerd 1.6.20's recorded output in tests/data/ctr).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/delivery/activate.h"
#include "src/delivery/node_action.h"
#include "src/delivery/staged_ref.h"
#include "src/errors.h"
#include "src/input/image_ref.h"
#include "src/runtime/containerd.h"
#include "src/runtime/docker.h"
#include "src/runtime/podman.h"
#include "src/runtime/runtime.h"
#include "tests/temp_dir.h"
#include "tests/slurp.h"

using namespace treesync;

namespace {

const std::string A = "sha256:" + std::string(64, 'a');
const std::string B = "sha256:" + std::string(64, 'b');
const std::string kStagedApp = "treesync.invalid/docker.io/library/app/treesync-staged:1";
const std::vector<WantedImage> kWanted = {{A, {"app:1"}}, {B, {"web:2"}}};

ParsedCommand parse(std::vector<const char*> args) {
  args.insert(args.begin(), "treesync");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("staged names: treesync's own domain, the full name, a port spelled so it stays a path") {
  CHECK(staged_ref("app:1") == kStagedApp);
  CHECK(staged_ref("team/app:v2.0") == "treesync.invalid/docker.io/team/app/treesync-staged:v2.0");
  CHECK(staged_ref("192.168.100.10:5000/iarnet:latest") == "treesync.invalid/192.168.100.10_5000/iarnet/treesync-staged:latest");
  CHECK(staged_ref("Reg.Example.com/x/y:T_1") == "treesync.invalid/reg.example.com/x/y/treesync-staged:T_1");
  CHECK(staged_ref("localhost/app:1") == "treesync.invalid/localhost/app/treesync-staged:1");
  // Different references never share a staged name, and none is a user's tag.
  CHECK(staged_ref("registry_5000/app:1") != staged_ref("registry:5000/app:1"));
  CHECK(staged_ref("library/app:1") == kStagedApp);  // one image name in Docker, one staged name
  for (const char* ref : {"app:1", "reg:5000/a/b:c", "x.io/y:z"}) {
    INFO(ref);
    // podman finds a short name `b:c` in any local name ending in /b:c.
    const std::string name = ref, last = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
    const std::string staged = staged_ref(ref);
    CHECK(staged.substr(staged.size() - last.size() - 1) != "/" + last);
    CHECK(runtime::is_plain_ref(staged_ref(ref)));
    CHECK(normalize_image_ref(staged_ref(ref)) == staged_ref(ref));  // Docker's grammar takes it as is
  }
  CHECK_NOTHROW(check_stageable({"app:1"}));
  CHECK_THROWS_AS(check_stageable({std::string(240, 'a') + ":1"}), UsageError);
}

TEST_CASE("stage and activate are commands with the usual flags") {
  ParsedCommand s = parse({"stage", "--images", "app:1", "web:2", "--nodes", "0-3", "--fanout", "2"});
  CHECK(s.command == "stage");
  CHECK(s.options.tagging == Tagging::Staged);
  CHECK(s.options.images == std::vector<std::string>{"app:1", "web:2"});
  CHECK(s.options.fanout == 2);
  ParsedCommand a = parse({"--image", "app:1", "--json", "-", "activate"});
  CHECK(a.command == "activate");
  CHECK(a.options.tagging == Tagging::Activate);
  CHECK(parse({"--image", "app:1"}).options.tagging == Tagging::Operator);
  CHECK_THROWS_WITH(parse({"activate", "--image", "app:1", "--force"}), Catch::Contains("treesync stage --force"));
  CHECK_THROWS_AS(parse({"activate"}), UsageError);
  const std::string help = parse({"--help"}).output;
  CHECK(help.find("treesync stage") != std::string::npos);
  CHECK(help.find("treesync activate") != std::string::npos);
}

TEST_CASE("stage: loads and names by the staged reference only, pinned; an image present either way is left") {
  Decision fresh = decide(kWanted, {}, false, Tagging::Staged);
  CHECK(fresh.action == Action::Load);
  CHECK(fresh.pin);
  CHECK(fresh.tags[A] == std::vector<std::string>{kStagedApp});
  CHECK(fresh.tags[B] == std::vector<std::string>{staged_ref("web:2")});
  // Staged already, or active already (the operator's tag): nothing to send or name.
  std::map<std::string, NodeImage> staged = {{A, {true, {kStagedApp}}}, {B, {true, {"web:2"}}}};
  CHECK(decide(kWanted, staged, false, Tagging::Staged).action == Action::Skip);
  // Present by ID under another name: only the staged name, no bytes.
  std::map<std::string, NodeImage> other = {{A, {true, {"old:9"}}}, {B, {true, {"web:2"}}}};
  Decision tag = decide(kWanted, other, false, Tagging::Staged);
  CHECK(tag.action == Action::Tag);
  CHECK(tag.tags == std::map<std::string, std::vector<std::string>>{{A, {kStagedApp}}});
  CHECK(decide(kWanted, staged, true, Tagging::Staged).action == Action::Load);
}

TEST_CASE("activate: the operator's tags where every image is staged, nothing where any is not") {
  std::map<std::string, NodeImage> staged = {{A, {true, {kStagedApp}}}, {B, {true, {staged_ref("web:2")}}}};
  Decision d = decide(kWanted, staged, false, Tagging::Activate);
  CHECK(d.action == Action::Tag);
  CHECK(d.tags[A] == std::vector<std::string>{"app:1"});
  CHECK(d.untag[A] == std::vector<std::string>{kStagedApp});  // held by the operator's tag from then on
  CHECK_FALSE(d.pin);  // --no-pin decides for the operator's tags
  // One image not staged (absent, or present under another name only): the node is left as it was.
  for (const auto& node : {std::map<std::string, NodeImage>{{A, {true, {kStagedApp}}}},
                           std::map<std::string, NodeImage>{{A, {true, {kStagedApp}}}, {B, {true, {"old:1"}}}}}) {
    Decision u = decide(kWanted, node, false, Tagging::Activate);
    CHECK(u.action == Action::Unstaged);
    CHECK(u.unstaged == std::vector<std::string>{"web:2"});
    CHECK(u.tags.empty());
    CHECK(u.untag.empty());
  }
  // Active already: skipped; with a staged name left over, only that goes.
  std::map<std::string, NodeImage> active = {{A, {true, {"app:1"}}}, {B, {true, {"web:2"}}}};
  CHECK(decide(kWanted, active, false, Tagging::Activate).action == Action::Skip);
  active[A].tags.push_back(kStagedApp);
  Decision left = decide(kWanted, active, false, Tagging::Activate);
  CHECK(left.action == Action::Tag);
  CHECK(left.tags.empty());
  CHECK(left.untag[A] == std::vector<std::string>{kStagedApp});
  // A plain sync over a staged node tags it and drops the staged name too.
  Decision sync = decide(kWanted, staged, false);
  CHECK(sync.action == Action::Tag);
  CHECK(sync.untag[A] == std::vector<std::string>{kStagedApp});
}

TEST_CASE("activation spread: first to last tag reply over the nodes that tagged") {
  std::vector<NodeRun> runs(4);
  const Clock::time_point t = Clock::now();
  runs[0].tagged_at = t + std::chrono::milliseconds(30);
  runs[1].tagged_at = t;
  runs[2].tagged_at = t + std::chrono::milliseconds(250);
  runs[2].result.outcome = Outcome::Failed;  // its verify failed: not activated
  ActivationSpread s = activation_spread(runs);
  CHECK(s.nodes == 2);
  CHECK(s.seconds == Approx(0.030));
  CHECK(activation_spread({}).nodes == 0);
  std::ostringstream none;
  print_activation_spread(none, activation_spread({}));
  CHECK(none.str().empty());
}

TEST_CASE("untag never takes an image's last name, nor a name the image does not have") {
  auto same = [](const std::string& r) { return r; };
  CHECK(runtime::removable_names({"app:1", kStagedApp}, {kStagedApp}, same) == std::vector<std::string>{kStagedApp});
  CHECK(runtime::removable_names({kStagedApp}, {kStagedApp}, same).empty());
  CHECK(runtime::removable_names({"app:1"}, {kStagedApp}, same).empty());
  CHECK(runtime::removable_names({"docker.io/library/app:1", kStagedApp}, {"app:1"}, runtime::full_name) ==
        std::vector<std::string>{"app:1"});
}

namespace {

// docker (classic store), podman and ctr on PATH for as long as it lives:
// every call is logged; the image holds app:1 and its staged name.
class FakeClis {
 public:
  FakeClis() : dir_("stage-clis") {
    const std::string data = std::string(TREESYNC_SOURCE_DIR) + "/tests/data/ctr";
    const std::string log = calls_path();
    write("docker", "echo \"docker $*\" >>'" + log + "'\n"
                    "case \"$1\" in\n"
                    "  info) echo '{\"ServerVersion\":\"20.10.24\",\"DriverStatus\":[[\"Backing Filesystem\",\"extfs\"]]}' ;;\n"
                    "  image) echo '[\"app:1\",\"" + kStagedApp + "\"]' ;;\n"
                    "esac\n");
    write("podman", "echo \"podman $*\" >>'" + log + "'\n"
                    "case \"$1\" in\n"
                    "  info) echo '{\"store\":{\"graphDriverName\":\"overlay\"},\"version\":{\"Version\":\"4.3.1\"}}' ;;\n"
                    "  image) echo '[\"localhost/app:1\",\"" + kStagedApp + "\"]' ;;\n"
                    "esac\n");
    // The recorded node: app:1 (and, staged, the same manifest) point at config 1.
    const std::string check = slurp(data + "/images-check.txt");
    std::ofstream(dir_.path / "images-check.txt")
        << check << kStagedApp
        << " application/vnd.oci.image.manifest.v1+json "
           "sha256:7c733b9e075ac6cada92e5fe9b5f81499a261d8448db1886800cee55e77c7adc complete (3/3) 20.2 KiB/20.2 KiB "
           "true\n";
    write("ctr", "shift 4  # --address S --namespace N\n"
                 "echo \"ctr $*\" >>'" + log + "'\n"
                 "case \"$1 $2\" in\n"
                 "  'version ') printf 'Server:\\n  Version:  1.6.20\\n' ;;\n"
                 "  'images check') cat '" + (dir_.path / "images-check.txt").string() + "' ;;\n"
                 "  'content get') exec /bin/cat '" + data + "/'\"${3#sha256:}\" ;;\n"
                 "esac\n");
    old_path_ = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (dir_.path.string() + ":" + old_path_).c_str(), 1);
  }
  ~FakeClis() { ::setenv("PATH", old_path_.c_str(), 1); }
  std::string calls() const { return slurp(calls_path()); }
  void clear() const { std::ofstream(calls_path(), std::ios::trunc); }

 private:
  std::string calls_path() const { return dir_.path.string() + "/calls"; }
  void write(const std::string& name, const std::string& body) {
    const std::string path = dir_.path.string() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0700);
  }
  TempDir dir_;
  std::string old_path_;
};

const std::string kConfig1 = "sha256:f0775b35a0fef0bdb7eb7ce1ab06c9d7c5ab01afd0e13087f8bc3057306c52c3";

}  // namespace

TEST_CASE("each runtime stages pinned where it collects garbage, and untags without deleting") {
  FakeClis clis;
  SECTION("Docker, classic store: docker tag, then docker rmi of the staged name only") {
    auto docker = runtime::open_docker();
    clis.clear();
    docker->tag(A, {kStagedApp}, true);
    CHECK(clis.calls() == "docker tag " + A + " " + kStagedApp + "\n");
    clis.clear();
    docker->untag(A, {kStagedApp, "never:1"});
    CHECK(clis.calls().find("docker rmi " + kStagedApp + "\n") != std::string::npos);
    CHECK(clis.calls().find("never:1") == std::string::npos);
  }
  SECTION("podman: podman tag, then podman untag") {
    auto podman = runtime::open_podman();
    clis.clear();
    podman->tag(A, {kStagedApp}, true);
    CHECK(clis.calls() == "podman tag " + A + " " + kStagedApp + "\n");
    clis.clear();
    podman->untag(A, {kStagedApp});
    CHECK(clis.calls().find("podman untag " + A + " " + kStagedApp + "\n") != std::string::npos);
  }
  SECTION("containerd: ctr images tag and the pinned label on the staged name, then ctr images rm") {
    auto ctr = runtime::open_containerd("/run/containerd/containerd.sock", "k8s.io");
    clis.clear();
    ctr->tag(kConfig1, {kStagedApp}, true);
    const std::string calls = clis.calls();
    CHECK(calls.find("ctr images tag --force docker.io/library/app:1 " + kStagedApp + "\n") != std::string::npos);
    CHECK(calls.find("ctr images label " + kStagedApp + " io.cri-containerd.pinned=pinned\n") != std::string::npos);
    clis.clear();
    ctr->untag(kConfig1, {kStagedApp});
    CHECK(clis.calls().find("ctr images rm " + kStagedApp + "\n") != std::string::npos);
  }
}
