#include <catch2/catch.hpp>

#include "src/runtime/docker.h"
#include "src/wire/protocol.h"

using wire::FrameReader;

TEST_CASE("a message frame round-trips byte by byte") {
  std::string bytes = wire::encode_message({{"type", "probe"}, {"images", {"sha256:aa"}}});
  FrameReader r;
  for (char c : bytes) {
    REQUIRE_FALSE(r.next().has_value());
    r.feed(&c, 1);
  }
  auto f = r.next();
  REQUIRE(f);
  CHECK(f->kind == wire::Kind::Message);
  CHECK(f->json()["type"] == "probe");
  CHECK(r.empty());
}

TEST_CASE("data frames carry offset and an XXH3 that catches a flipped bit") {
  std::string payload(3000, 'x');
  payload[1234] = 'y';
  std::string bytes = wire::encode_data_header(1 << 20, payload) + payload;
  bytes += wire::encode_message({{"type", "next"}});
  FrameReader r;
  r.feed(bytes.data(), bytes.size());
  auto d = r.next();
  REQUIRE(d);
  CHECK(d->kind == wire::Kind::Data);
  CHECK(d->offset == (1u << 20));
  CHECK(d->body == payload);
  CHECK(d->intact());
  d->body[7] ^= 1;
  CHECK_FALSE(d->intact());
  auto m = r.next();
  REQUIRE(m);
  CHECK(m->json()["type"] == "next");
}

TEST_CASE("malformed streams are rejected") {
  FrameReader r;
  SECTION("unknown kind") {
    std::string bad = "X\0\0\0\0";
    r.feed(bad.data(), 5);
    CHECK_THROWS_AS(r.next(), wire::Error);
  }
  SECTION("oversized frame") {
    std::string bad = "M\x7f\xff\xff\xff";
    r.feed(bad.data(), 5);
    CHECK_THROWS_AS(r.next(), wire::Error);
  }
  SECTION("data frame shorter than its prefix") {
    std::string bad("D\0\0\0\x04zzzz", 9);
    r.feed(bad.data(), bad.size());
    CHECK_THROWS_AS(r.next(), wire::Error);
  }
  SECTION("message that is not a JSON object") {
    std::string bytes = wire::encode_message(wire::Json::array());
    r.feed(bytes.data(), bytes.size());
    auto f = r.next();
    REQUIRE(f);
    CHECK_THROWS_AS(f->json(), wire::Error);
  }
}

TEST_CASE("many frames fed in odd pieces come out whole and in order") {
  std::string stream;
  std::vector<std::string> payloads;
  for (int i = 0; i < 50; ++i) {
    payloads.emplace_back(static_cast<std::size_t>(i * 977 % 5000), static_cast<char>('a' + i % 26));
    stream += wire::encode_data_header(static_cast<std::uint64_t>(i), payloads.back()) + payloads.back();
  }
  FrameReader r;
  std::size_t at = 0, piece = 1, seen = 0;
  while (at < stream.size()) {
    std::size_t n = std::min(piece, stream.size() - at);
    r.feed(stream.data() + at, n);
    at += n;
    piece = piece * 3 % 7919 + 1;
    while (auto f = r.next()) {
      REQUIRE(f->offset == seen);
      REQUIRE(f->body == payloads[seen]);
      REQUIRE(f->intact());
      ++seen;
    }
  }
  CHECK(seen == payloads.size());
}

TEST_CASE("relay-side checks of IDs and references") {
  CHECK(runtime::is_image_id("sha256:" + std::string(64, 'a')));
  CHECK_FALSE(runtime::is_image_id("sha256:" + std::string(63, 'a')));
  CHECK_FALSE(runtime::is_image_id("sha256:" + std::string(64, 'A')));
  CHECK(runtime::is_plain_ref("registry:5000/team/app:1.2"));
  CHECK_FALSE(runtime::is_plain_ref("-rf"));
  CHECK_FALSE(runtime::is_plain_ref("app:1;reboot"));
  CHECK_FALSE(runtime::is_plain_ref("app $(id)"));
}

TEST_CASE("docker load output and image store detection") {
  auto ids = runtime::parse_loaded_ids("Loaded image ID: sha256:abc\nLoaded image: x:1\nLoaded image ID: sha256:def\n");
  CHECK(ids == std::vector<std::string>{"sha256:abc", "sha256:def"});
  auto classic = wire::Json::parse(R"({"DriverStatus": [["Backing Filesystem", "extfs"]]})");
  auto containerd = wire::Json::parse(R"({"DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]})");
  CHECK(runtime::image_store(classic) == "classic");
  CHECK(runtime::image_store(containerd) == "containerd");
  CHECK(runtime::image_store({{"DriverStatus", nullptr}}) == "classic");
}
