// The stream format's pure pieces: tar headers and parsing, part views,
// part lists from the wire, zstd decoding checks.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <random>

#include <zstd.h>

#include "src/wire/bundle.h"
#include "src/wire/tar.h"
#include "src/wire/zstd_decoder.h"

namespace {

struct Parsed {
  std::vector<wire::TarEntry> entries;
  std::vector<std::string> data;
};

Parsed parse(const std::string& archive, std::size_t step) {
  Parsed p;
  wire::TarParser parser({[&](const wire::TarEntry& e) { p.entries.push_back(e), p.data.emplace_back(); },
                          [&](const char* d, std::size_t n) { p.data.back().append(d, n); }, [] {}});
  for (std::size_t at = 0; at < archive.size(); at += step)
    parser.feed(archive.data() + at, std::min(step, archive.size() - at));
  REQUIRE(parser.done());
  return p;
}

std::string member(const std::string& name, const std::string& body) {
  return wire::tar_header(name, body.size()) + body + std::string(wire::tar_padding(body.size()), '\0');
}

std::vector<wire::Part> parts_of_sizes(const std::vector<std::uint64_t>& sizes) {
  std::vector<wire::Part> parts;
  for (auto s : sizes) parts.push_back({wire::PartKind::Layer, "sha256:" + std::string(64, 'a'), wire::Codec::None, s, s});
  return parts;
}

}  // namespace

TEST_CASE("tar members written by tar_header parse back, whatever the read sizes") {
  std::string body(1000, 'x');
  body[999] = 'y';
  std::string archive = wire::tar_header("abc/", 0, true) + member("abc/layer.tar", body) + member("m.json", "{}") +
                        member("empty", "") + wire::tar_trailer();
  for (std::size_t step : {1u, 7u, 512u, 4096u}) {
    Parsed p = parse(archive, step);
    REQUIRE(p.entries.size() == 4);
    CHECK(p.entries[0].type == '5');
    CHECK(p.entries[1].name == "abc/layer.tar");
    CHECK(p.data[1] == body);
    CHECK(p.data[2] == "{}");
    CHECK(p.entries[3].size == 0);
  }
}

TEST_CASE("tar: sizes past 8 GiB use base-256, PAX and GNU long names apply to the next entry") {
  std::string big = wire::tar_header("big", std::uint64_t{9} << 30);
  CHECK(static_cast<unsigned char>(big[124]) == 0x80);
  std::uint64_t seen = 0;
  wire::TarParser parser({[&](const wire::TarEntry& e) { seen = e.size; }, [](const char*, std::size_t) {}, [] {}});
  parser.feed(big.data(), big.size());
  CHECK(seen == (std::uint64_t{9} << 30));

  std::string long_name(150, 'n');
  std::string pax_record = "path=" + long_name + "\n";
  std::string record = std::to_string(pax_record.size() + 4) + " " + pax_record;  // "NNN path=...\n"
  std::string pax = wire::tar_header("pax", record.size());
  pax[156] = 'x';
  // Recompute the checksum after changing the type.
  std::memset(&pax[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : pax.substr(0, 512)) sum += c;
  std::snprintf(&pax[148], 8, "%06o", sum);
  std::string archive = pax + record + std::string(wire::tar_padding(record.size()), '\0') + member("short", "data") +
                        wire::tar_trailer();
  Parsed p = parse(archive, 100);
  REQUIRE(p.entries.size() == 1);
  CHECK(p.entries[0].name == long_name);
  CHECK(p.data[0] == "data");
}

TEST_CASE("tar: a damaged header is refused") {
  std::string h = wire::tar_header("x", 3);
  h[0] = 'y';
  wire::TarParser parser({[](const wire::TarEntry&) {}, [](const char*, std::size_t) {}, [] {}});
  CHECK_THROWS_WITH(parser.feed(h.data(), h.size()), Catch::Contains("checksum"));
}

TEST_CASE("a part view maps every offset to the same byte of the whole stream") {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::uint64_t> sizes;
    std::size_t n = 1 + rng() % 8;
    for (std::size_t i = 0; i < n; ++i) sizes.push_back(rng() % 5);  // zero-size parts too
    auto parts = parts_of_sizes(sizes);
    std::vector<std::size_t> selected;
    for (std::size_t i = 0; i < n; ++i)
      if (rng() % 2) selected.push_back(i);
    // The naive answer: the whole stream's byte positions, concatenated.
    std::vector<std::uint64_t> expect;
    auto starts = wire::part_offsets(parts);
    for (std::size_t i : selected)
      for (std::uint64_t k = 0; k < sizes[i]; ++k) expect.push_back(starts[i] + k);
    wire::PartView view(parts, selected);
    REQUIRE(view.size() == expect.size());
    for (std::uint64_t off = 0; off < expect.size(); ++off) {
      auto [at, run] = view.locate(off);
      REQUIRE(at == expect[off]);
      REQUIRE(run >= 1);
      for (std::uint64_t k = 1; k < run; ++k) REQUIRE(expect[off + k] == at + k);  // contiguous as promised
    }
    CHECK(view.locate(expect.size()).second == 0);
  }
}

TEST_CASE("a view reader returns the selected parts' bytes in order") {
  auto parts = parts_of_sizes({3, 2, 4});
  std::string whole = "aaaBBcccc";
  auto read_whole = [&](std::uint64_t off, char* buf, std::size_t n) {
    n = std::min<std::size_t>(n, whole.size() - off);
    std::memcpy(buf, whole.data() + off, n);
    return n;
  };
  auto read = wire::view_reader(std::make_shared<const wire::PartView>(parts, std::vector<std::size_t>{0, 2}), read_whole);
  std::string got;
  char buf[2];
  for (std::uint64_t off = 0;;) {
    std::size_t n = read(off, buf, sizeof buf);
    if (n == 0) break;
    got.append(buf, n);
    off += n;
  }
  CHECK(got == "aaacccc");
}

TEST_CASE("parts from the wire: digests only, known kinds and codecs, consistent sizes") {
  std::string hex(64, 'a');
  wire::Json good = wire::Json::array(
      {{{"kind", "config"}, {"digest", "sha256:" + hex}, {"codec", "none"}, {"size", 5}, {"raw", 5}},
       {{"kind", "layer"}, {"digest", "sha256:" + hex}, {"codec", "zstd"}, {"size", 5}, {"raw", 50}}});
  auto parts = good.get<std::vector<wire::Part>>();
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].name() == hex + ".json");
  CHECK(parts[1].name() == hex + "/layer.tar");
  CHECK(parts[1].codec == wire::Codec::Zstd);
  CHECK(wire::Json(parts).get<std::vector<wire::Part>>().size() == 2);
  // A name is never taken from the wire: only a digest, whose form is fixed.
  const std::vector<std::string> bad_digests = {"../etc/passwd", "sha256:" + hex + "/../x", "sha256:" + hex.substr(1),
                                                "sha256:" + std::string(64, 'A'), "md5:" + hex, ""};
  for (const std::string& bad : bad_digests) {
    wire::Json j = good;
    j[0]["digest"] = bad;
    CHECK_THROWS_WITH(j.get<std::vector<wire::Part>>(), Catch::Contains("refusing part digest"));
  }
  wire::Json j = good;
  j[1]["codec"] = "gzip";
  CHECK_THROWS_WITH(j.get<std::vector<wire::Part>>(), Catch::Contains("unknown codec"));
  j = good;
  j[0]["kind"] = "manifest";
  CHECK_THROWS_WITH(j.get<std::vector<wire::Part>>(), Catch::Contains("unknown part kind"));
  j = good;
  j[0]["raw"] = 6;
  CHECK_THROWS_WITH(j.get<std::vector<wire::Part>>(), Catch::Contains("differ"));
  j = good;
  j[0]["size"] = "5";
  CHECK_THROWS(j.get<std::vector<wire::Part>>());
}

TEST_CASE("zstd: a frame decodes fed in any pieces; short, long and damaged frames are errors") {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i % 97) + "\n";
  // As the layer cache writes them: with the content checksum.
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  frame.resize(ZSTD_compress2(cctx.get(), frame.data(), frame.size(), text.data(), text.size()));
  REQUIRE(frame.size() < text.size() / 4);
  for (std::size_t step : {1u, 13u, 4096u, 1u << 20}) {
    wire::ZstdDecoder d("layer", text.size());
    std::string out;
    for (std::size_t at = 0; at < frame.size(); at += step)
      d.feed(frame.data() + at, std::min(step, frame.size() - at), [&](const char* p, std::size_t n) { out.append(p, n); });
    d.finish();
    CHECK(out == text);
  }
  auto sink = [](const char*, std::size_t) {};
  {
    wire::ZstdDecoder d("layer", text.size());
    d.feed(frame.data(), frame.size() - 10, sink);
    CHECK_THROWS_WITH(d.finish(), Catch::Contains("expected"));
  }
  {
    wire::ZstdDecoder d("layer", text.size() - 1);
    CHECK_THROWS_WITH(d.feed(frame.data(), frame.size(), sink), Catch::Contains("more than"));
  }
  {
    std::string damaged = frame;
    damaged[damaged.size() / 2] ^= 0x55;
    damaged[damaged.size() / 2 + 1] ^= 0x55;
    wire::ZstdDecoder d("layer", text.size());
    CHECK_THROWS([&] {
      d.feed(damaged.data(), damaged.size(), sink);
      d.finish();
    }());
  }
}
