#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "src/input/byte_size.h"
#include "src/input/cli.h"
#include "src/errors.h"
#include "src/input/image_ref.h"
#include "src/input/node_spec.h"
#include "src/input/rate.h"
#include "tests/usage_error.h"

using namespace treesync;

TEST_CASE("image references are normalized the way Docker shows tags") {
  CHECK(normalize_image_ref("iarnet") == "iarnet:latest");
  CHECK(normalize_image_ref("iarnet:latest") == "iarnet:latest");
  CHECK(normalize_image_ref("192.168.100.10:5000/iarnet:latest") == "192.168.100.10:5000/iarnet:latest");
  CHECK(normalize_image_ref("192.168.100.10:5000/iarnet") == "192.168.100.10:5000/iarnet:latest");
  CHECK(normalize_image_ref("docker.io/library/busybox:1.36") == "busybox:1.36");
  CHECK(normalize_image_ref("docker.io/team/app:v1") == "team/app:v1");
  CHECK(normalize_image_ref("a/b_c/d-e.f__g:V1.0_rc-2") == "a/b_c/d-e.f__g:V1.0_rc-2");
}

TEST_CASE("image references that are not Docker references are refused") {
  for (const char* bad : {"", "Upper:1", "app:1;rm -rf /", "app $(id)", "app`id`", "app'1", "app\"1", "app\n1",
                          "app:1 ", " app", "-app", "app:", "app::1", "app:-1", "/app", "app//b"}) {
    INFO(bad);
    CHECK_THROWS_AS(normalize_image_ref(bad), UsageError);
  }
  CHECK_THROWS_WITH(normalize_image_ref("app@sha256:" + std::string(64, 'a')), Catch::Contains("name:tag"));
}

TEST_CASE("--nodes specs: indexes, ranges, names") {
  auto items = parse_node_spec("0-10,12,node3");
  REQUIRE(items.size() == 3);
  CHECK(items[0].first == 0);
  CHECK(items[0].last == 10);
  CHECK(items[1].first == 12);
  CHECK(items[1].last == 12);
  CHECK(items[2].is_name);
  CHECK(items[2].name == "node3");
  CHECK(parse_node_spec("0,1,2,5").size() == 4);
  // Addresses name a host list's nodes.
  CHECK((parse_node_spec("10.0.0.12")[0].is_name && parse_node_spec("fe80::1")[0].name == "fe80::1"));
}

TEST_CASE("malformed --nodes specs say what is wrong") {
  CHECK_THROWS_WITH(parse_node_spec("5-2"), Catch::Contains("reversed"));
  CHECK_THROWS_WITH(parse_node_spec("1,,2"), Catch::Contains("empty item"));
  CHECK_THROWS_WITH(parse_node_spec("1,"), Catch::Contains("empty item"));
  CHECK_THROWS_AS(parse_node_spec(""), UsageError);
  CHECK_THROWS_AS(parse_node_spec("1-"), UsageError);
  CHECK_THROWS_AS(parse_node_spec("-1"), UsageError);
  CHECK_THROWS_AS(parse_node_spec("a;b"), UsageError);
}

namespace {
Options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "treesync");
  return parse_command_line(static_cast<int>(args.size()), args.data()).options;
}
}  // namespace

TEST_CASE("the seed's flags parse as the seed script took them") {
  Options o = parse({"--images", "a:1", "b", "c:2", "--node-type", "iarnet", "--nodes", "0-10", "--force",
                     "--max-workers", "5", "--inventory", "inv.yaml"});
  CHECK(o.images == std::vector<std::string>{"a:1", "b:latest", "c:2"});
  CHECK(o.node_type == "iarnet");
  CHECK(o.nodes == "0-10");
  CHECK(o.force);
  CHECK(o.max_workers == 5);
  CHECK(o.inventory == "inv.yaml");
  Options d = parse({"--image", "iarnet:latest"});
  CHECK(d.max_workers == 10);
  CHECK(d.node_type == "docker");
  CHECK(d.fanout == 4);
  CHECK(d.mode == ModeOption::Auto);
  CHECK(d.compress == Compress::Auto);
  CHECK_FALSE(d.force);
}

TEST_CASE("the ssh config: -F FILE, as ssh -F") {
  CHECK(parse({"--image", "a", "-F", "/dev/null"}).ssh_config == "/dev/null");
  CHECK(parse({"--image", "a", "--ssh-config", "none"}).ssh_config.empty());
}

TEST_CASE("--probe-timeout is its own clock, apart from --stall-timeout") {
  Options d = parse({"--image", "a"});
  CHECK(d.probe_timeout == 60);
  CHECK(d.stall_timeout == 120);
  Options o = parse({"--image", "a", "--probe-timeout", "5", "--stall-timeout", "20"});
  CHECK(o.probe_timeout == 5);
  CHECK(o.stall_timeout == 20);
  CHECK(usage_error_of([] { parse({"--image", "a", "--probe-timeout", "0"}); }) ==
        "--probe-timeout must be at least 1 second");
}

TEST_CASE("the status command may stand anywhere among the options") {
  for (std::vector<const char*> args : {std::vector<const char*>{"treesync", "status", "--image", "a"},
                                         std::vector<const char*>{"treesync", "--inventory", "i.yaml", "status", "--image", "a"}}) {
    ParsedCommand c = parse_command_line(static_cast<int>(args.size()), args.data());
    CHECK(c.command == "status");
    CHECK(c.options.images == std::vector<std::string>{"a:latest"});
  }
  const char* plain[] = {"treesync", "--image", "a"};
  CHECK(parse_command_line(3, plain).command == "sync");
}

TEST_CASE("--image and --images combine without repeats") {
  Options o = parse({"--image", "a:1", "--images", "a", "a:1", "b:2"});
  CHECK(o.images == std::vector<std::string>{"a:1", "a:latest", "b:2"});
}

TEST_CASE("bad command lines are usage errors") {
  CHECK_THROWS_WITH(parse({}), Catch::Contains("no image given"));
  CHECK_THROWS_WITH(parse({"--image", "a", "--fanout", "0"}), Catch::Contains("--fanout"));
  CHECK_THROWS_WITH(parse({"--image", "a", "--max-workers", "0"}), Catch::Contains("--max-workers"));
  CHECK_THROWS_WITH(parse({"--image", "a", "--mode", "star"}), Catch::Contains("--mode"));
  CHECK_THROWS_AS(parse({"--image", "a", "--bogus"}), UsageError);
  CHECK_THROWS_AS(parse({"--image", "a", "stray"}), UsageError);
  CHECK_THROWS_AS(parse({"--image", "a b"}), UsageError);
}

TEST_CASE("--help lists every flag with examples") {
  const char* argv[] = {"treesync", "--help"};
  ParsedCommand c = parse_command_line(2, argv);
  REQUIRE(c.exit_now);
  for (const char* flag : {"--image", "--images", "--node-type", "--nodes", "--force", "--max-workers", "--inventory",
                           "--mode", "--fanout", "--dry-run", "--known-hosts", "--accept-new-host-keys",
                           "--connect-timeout", "--stall-timeout", "--relay", "--cache-dir", "--verbose", "Examples:"}) {
    INFO(flag);
    CHECK(c.output.find(flag) != std::string::npos);
  }
}

TEST_CASE("user text in messages stays on one line") {
  CHECK(printable("a\nb\tc\x1b[2J") == "a\\nb\\tc\\x1b[2J");
  CHECK_THROWS_WITH(normalize_image_ref("app\n1"), Catch::Contains("'app\\n1'") && !Catch::Contains("\n"));
}

TEST_CASE("every flag in --help is in the English user guide") {
  const char* argv[] = {"treesync", "--help"};
  std::string help = parse_command_line(2, argv).output;
  std::ifstream in(std::string(TREESYNC_SOURCE_DIR) + "/docs/guide.en.md");
  REQUIRE(in);
  std::stringstream guide;
  guide << in.rdbuf();
  std::regex flag("--[a-z][a-z-]+");
  std::size_t flags = 0;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), flag); it != std::sregex_iterator(); ++it, ++flags) {
    INFO(it->str());
    CHECK(guide.str().find("`" + it->str()) != std::string::npos);
  }
  CHECK(flags >= 20);
}

TEST_CASE("--source-runtime and --source-namespace") {
  CHECK(parse({"--image", "a:1"}).source_runtime.empty());
  CHECK(parse({"--image", "a:1", "--source-runtime", "podman"}).source_runtime == "podman");
  Options o = parse({"--image", "a:1", "--source-namespace", "default"});
  CHECK(o.source_runtime == "containerd");
  CHECK(o.source_namespace == "default");
  CHECK_THROWS_WITH(parse({"--image", "a:1", "--source-runtime", "crio"}),
                    "--source-runtime 'crio' is not one of docker, podman, containerd");
  CHECK_THROWS_WITH(parse({"--image", "a:1", "--source-runtime", "docker", "--source-namespace", "k8s.io"}),
                    Catch::Contains("needs --source-runtime containerd"));
  CHECK_THROWS_AS(parse({"--image", "a:1", "--source-namespace", "a b"}), UsageError);
}

TEST_CASE("rates: a bare K/M/G means bits per second; bytes say so") {
  CHECK(parse_rate("50M") == 50000000u);
  CHECK(parse_rate("50m") == 50000000u);
  CHECK(parse_rate("1G") == 1000000000u);
  CHECK(parse_rate("800K") == 800000u);
  CHECK(parse_rate("1.5G") == 1500000000u);
  CHECK(parse_rate("50Mbit") == 50000000u);
  CHECK(parse_rate("50Mbit/s") == 50000000u);
  CHECK(parse_rate("50Mbps") == 50000000u);
  CHECK(parse_rate("6MB/s") == 48000000u);
  CHECK(parse_rate("6MiB/s") == 6u * 1048576 * 8);
  CHECK(parse_rate("1GiB/s") == 1073741824ull * 8);
  for (const char* bad : {"", "50", "0M", "M", "50X", "50 M bit", "50Mb/s", "50mb/s", "-5M", "50MB", "50Mibit", "2000G",
                          "1e3M", "50M "}) {
    INFO(bad);
    CHECK_FALSE(parse_rate(bad).has_value());
  }
  CHECK(rate_text(50000000) == "50 Mbit/s");
  CHECK(rate_text(1500000000) == "1.5 Gbit/s");
  CHECK(rate_text(800000) == "800 kbit/s");
}

TEST_CASE("--limit-rate and --source-limit take rates; anything else is a one-line error with an example") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), {"treesync", "--image", "app:1"});
    return parse_command_line(static_cast<int>(args.size()), args.data()).options;
  };
  CHECK(parse({}).limit_rate == 0);
  CHECK(parse({}).source_limit == 0);
  Options o = parse({"--limit-rate", "50M", "--source-limit", "6MiB/s"});
  CHECK(o.limit_rate == 50000000u);
  CHECK(o.source_limit == 6u * 1048576 * 8);
  CHECK_THROWS_WITH(parse({"--limit-rate", "50"}), Catch::StartsWith("--limit-rate '50' is not a rate: use e.g. 50M"));
  CHECK_THROWS_AS(parse({"--source-limit", "fast"}), UsageError);
  CHECK_THROWS_WITH(parse({"--source-limit", "fast"}), Catch::Contains("--source-limit") && !Catch::Contains("\n"));
}

TEST_CASE("--pace: auto by default, or off; anything else is a one-line error") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), {"treesync", "--image", "app:1"});
    return parse_command_line(static_cast<int>(args.size()), args.data()).options;
  };
  CHECK(parse({}).pace);
  CHECK(parse({"--pace", "auto"}).pace);
  CHECK_FALSE(parse({"--pace", "off"}).pace);
  CHECK_THROWS_AS(parse({"--pace", "fast"}), UsageError);
  CHECK_THROWS_WITH(parse({"--pace", "fast"}), "--pace 'fast' is not one of auto, off");
}

TEST_CASE("sizes: bytes with binary suffixes; anything else is refused") {
  using treesync::parse_byte_size;
  CHECK(parse_byte_size("0") == 0u);
  CHECK(parse_byte_size("1048576") == 1048576u);
  CHECK(parse_byte_size("512M") == 512ull << 20);
  CHECK(parse_byte_size("512m") == 512ull << 20);
  CHECK(parse_byte_size("2G") == 2ull << 30);
  CHECK(parse_byte_size("64MiB") == 64ull << 20);
  CHECK(parse_byte_size("64MB") == 64ull << 20);
  CHECK(parse_byte_size("3k") == 3072u);
  CHECK(parse_byte_size("1T") == 1ull << 40);
  CHECK(parse_byte_size("7B") == 7u);
  for (const char* bad : {"", "M", "-1", "1.5G", "12X", "5 M", "5MiBs", "99999999999999999999", "17179869184G"})
    CHECK_FALSE(parse_byte_size(bad));
}

TEST_CASE("--spool-window: 512M by default, 0 for the whole stream, at least 16M") {
  auto window = [](std::vector<const char*> extra) {
    std::vector<const char*> argv{"treesync", "--image", "a:1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return treesync::parse_command_line(static_cast<int>(argv.size()), argv.data()).options.spool_window;
  };
  CHECK(window({}) == 512ull << 20);
  CHECK(window({"--spool-window", "2G"}) == 2ull << 30);
  CHECK(window({"--spool-window", "0"}) == 0u);
  CHECK_THROWS_WITH(window({"--spool-window", "1M"}), Catch::Contains("16M or more"));
  CHECK_THROWS_WITH(window({"--spool-window", "lots"}), Catch::Contains("--spool-window 'lots'"));
}
