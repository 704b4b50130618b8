// How the relay decides to run the node's runtime through sudo: the fixed
// argv prefix, and the choice open_with_access makes from what opening the
// runtime as the user and through sudo say (the lab's nonroot e2e test does
// the same against real sudo, docker, ctr and podman).
#include <catch2/catch.hpp>

#include <stdexcept>

#include "src/runtime/runtime.h"
#include "src/runtime/runtime_cli.h"

namespace {

using runtime::Access;
using runtime::RuntimeCli;

// A runtime that answers nothing: open_with_access only hands it back.
struct Opened : runtime::Runtime {
  explicit Opened(bool sudo) : sudo_(sudo) {}
  wire::ProbeReply probe(const std::vector<std::string>&, bool) override { return {}; }
  runtime::ArchiveFormat format() const override { return runtime::ArchiveFormat::Oci; }
  std::vector<std::string> load_command() const override { return {}; }
  bool sudo() const override { return sudo_; }
  void begin_load() override {}
  std::vector<std::string> loaded(const std::string&, const std::vector<wire::PlanImage>&) override { return {}; }
  void discard_failed_load(const std::vector<wire::PlanImage>&) override {}
  void tag(const std::string&, const std::vector<std::string>&, bool) override {}
  void untag(const std::string&, const std::vector<std::string>&) override {}
  bool sudo_;
};

// Opening as the user fails with `as_user` (or works if empty); through
// sudo with `with_sudo`. Records which ways were tried.
struct Node {
  explicit Node(std::string as_user_fails = "", std::string sudo_fails = "")
      : as_user(std::move(as_user_fails)), with_sudo(std::move(sudo_fails)) {}
  std::string as_user, with_sudo;
  std::vector<bool> tried;
  runtime::Opener opener() {
    return [this](const RuntimeCli& cli) -> std::unique_ptr<runtime::Runtime> {
      tried.push_back(cli.sudo());
      const std::string& fails = cli.sudo() ? with_sudo : as_user;
      if (!fails.empty()) throw std::runtime_error(fails);
      return std::make_unique<Opened>(cli.sudo());
    };
  }
};

const char* kDenied =
    "Docker daemon not reachable: permission denied while trying to connect to the Docker daemon socket at "
    "unix:///var/run/docker.sock";
const char* kNoSudo = "sudo: a password is required";

std::string error_of(Node& n, const std::string& program, const Access& a) {
  try {
    runtime::open_with_access(n.opener(), program, a);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("sudo is a fixed argv prefix, and messages name the program behind it") {
  CHECK(RuntimeCli(false).argv({"docker", "load"}) == std::vector<std::string>{"docker", "load"});
  CHECK(RuntimeCli(true).argv({"docker", "load"}) == std::vector<std::string>{"sudo", "-n", "--", "docker", "load"});
  CHECK(runtime::program_of(RuntimeCli(true).argv({"ctr", "images", "import"})) == "ctr");
  CHECK(runtime::program_of({"docker", "load"}) == "docker");
}

TEST_CASE("a user of the docker group uses docker as it is, and never tries sudo") {
  Node n;
  auto rt = runtime::open_with_access(n.opener(), "docker", {"", false, "ops"});
  CHECK_FALSE(rt->sudo());
  CHECK(n.tried == std::vector<bool>{false});
}

TEST_CASE("permission denied as the user: sudo -n is detected and used") {
  Node n(kDenied, "");
  CHECK(runtime::open_with_access(n.opener(), "docker", {"", false, "ops"})->sudo());
  CHECK(n.tried == std::vector<bool>{false, true});
}

TEST_CASE("a runtime that is down is reported as down, not retried through sudo") {
  Node n("Docker daemon not reachable: Cannot connect to the Docker daemon. Is the docker daemon running?", "");
  CHECK(error_of(n, "docker", {"", false, "ops"}).find("Is the docker daemon running") != std::string::npos);
  CHECK(n.tried == std::vector<bool>{false});
}

TEST_CASE("a user with neither the group nor sudo gets one line naming both fixes") {
  Node n(kDenied, kNoSudo);
  CHECK(error_of(n, "docker", {"", false, "guest"}) ==
        "user guest cannot use docker: add guest to the docker group, or allow `sudo -n docker` (NOPASSWD, that "
        "command only) and set sudo: true");
  Node c("connect: permission denied", kNoSudo);
  CHECK(error_of(c, "ctr", {"", false, "guest"}).find("give guest containerd's socket") != std::string::npos);
}

TEST_CASE("sudo: true goes straight to sudo; sudo: false never uses it") {
  Node yes;
  CHECK(runtime::open_with_access(yes.opener(), "docker", {"yes", false, "ops"})->sudo());
  CHECK(yes.tried == std::vector<bool>{true});
  Node denied_yes("", kNoSudo);
  const std::string why = error_of(denied_yes, "docker", {"yes", false, "ops"});
  CHECK(why.find("`sudo -n docker` fails (sudo: a password is required)") != std::string::npos);
  Node no(kDenied, "");
  CHECK(error_of(no, "docker", {"no", false, "ops"}).rfind("user ops cannot use docker: add ops", 0) == 0);
  CHECK(no.tried == std::vector<bool>{false});
}

TEST_CASE("podman as a non-root user goes through sudo: its rootless store is not the node's images") {
  Node n;
  CHECK(runtime::open_with_access(n.opener(), "podman", {"", false, "ops"})->sudo());
  CHECK(n.tried == std::vector<bool>{true});
  Node none("", kNoSudo);
  CHECK(error_of(none, "podman", {"", false, "ops"}).find("rootless podman") != std::string::npos);
}

TEST_CASE("root runs the runtime as itself, whatever sudo says") {
  Node n;
  CHECK_FALSE(runtime::open_with_access(n.opener(), "docker", {"yes", true, "root"})->sudo());
  CHECK(n.tried == std::vector<bool>{false});
}
