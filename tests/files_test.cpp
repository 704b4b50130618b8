// The files payload's pure parts (paths from the wire, the manifest, which
// files a node lacks) and the relay's side of the trust boundary: a path
// that climbs out, a symlink planted in the destination, a part that lies
// about its digest.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "relay/dest_tree.h"
#include "relay/file_sink.h"
#include "relay/receiver.h"
#include "src/cache/file_manifest.h"
#include "src/errors.h"
#include "src/wire/digest.h"
#include "src/wire/rel_path.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace treesync;

namespace {

void write_file(const fs::path& p, const std::string& bytes, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
  ::chmod(p.c_str(), mode);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

wire::Part file_part(const std::string& path, const std::string& bytes, std::uint32_t mode = 0644) {
  wire::Part p;
  p.kind = wire::PartKind::File;
  p.digest = wire::sha256_digest(bytes);
  p.size = p.raw = bytes.size();
  p.path = path;
  p.mode = mode;
  p.mtime_ns = 1700000000123456789;
  return p;
}

}  // namespace

TEST_CASE("files: paths from the wire that could leave the destination are refused") {
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/", ".", "..", "a/.."})
    CHECK_THROWS_AS(wire::check_relative_path(bad), wire::Error);
  CHECK_THROWS_AS(wire::check_relative_path(std::string("a\0b", 3)), wire::Error);
  CHECK_NOTHROW(wire::check_relative_path("model/weights-00001.safetensors"));
  CHECK_NOTHROW(wire::check_relative_path("..hidden/.x"));
  // The same check guards a part decoded from a receive or probe.
  wire::Json j = file_part("ok", "x");
  j["path"] = "../../etc/cron.d/x";
  CHECK_THROWS_AS(j.get<wire::Part>(), wire::Error);
  j["path"] = "ok";
  j["mode"] = 0104755;  // not permission bits alone
  CHECK_THROWS_AS(j.get<wire::Part>(), wire::Error);
  j["mode"] = 0755;
  CHECK(j.get<wire::Part>().path == "ok");
}

TEST_CASE("files: the manifest holds each file with its digest, mode and mtime, under its PATH's name") {
  TempDir src("manifest");
  write_file(src.path / "model/a.bin", "weights");
  write_file(src.path / "model/sub/run.sh", "#!/bin/sh\n", 0755);
  write_file(src.path / "one.txt", "1");
  FileManifest m = build_manifest({(src.path / "model").string() + "/", (src.path / "one.txt").string()});
  REQUIRE(m.files.size() == 3);
  CHECK(m.files[0].path == "model/a.bin");
  CHECK(m.files[0].digest == wire::sha256_digest("weights"));
  CHECK(m.files[1].path == "model/sub/run.sh");
  CHECK(m.files[1].mode == 0755);
  CHECK(m.files[2].path == "one.txt");
  struct stat st;
  ::stat((src.path / "one.txt").c_str(), &st);
  CHECK(m.files[2].mtime_ns == static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<std::uint64_t>(st.st_mtim.tv_nsec));
  REQUIRE(m.dirs.size() == 2);
  CHECK(m.dirs[0].path == "model");
  CHECK(m.dirs[1].path == "model/sub");
  PreparedBundle b = files_bundle(m);
  CHECK(b.bundle.layers_in({0, 2}) == 2);
  CHECK(b.files[1] == (src.path / "model/sub/run.sh").string());
}

TEST_CASE("files: symlinks, missing paths and two PATHs of one name are one-line usage errors") {
  TempDir src("manifest-bad");
  write_file(src.path / "d/x", "x");
  fs::create_symlink("/etc", src.path / "d/link");
  CHECK_THROWS_WITH(build_manifest({(src.path / "d").string()}), Catch::Contains("is a symlink"));
  CHECK_THROWS_AS(build_manifest({(src.path / "nope").string()}), UsageError);
  write_file(src.path / "e/x", "x");
  CHECK_THROWS_WITH(build_manifest({(src.path / "d/x").string(), (src.path / "e/x").string()}),
                    Catch::Contains("two paths are named x"));
}

TEST_CASE("files: a node lacks the files its probe did not report, all of them with --force") {
  CHECK(lacking_files(4, {0, 2}, false) == PartList{1, 3});
  CHECK(lacking_files(3, {0, 1, 2}, false).empty());
  CHECK(lacking_files(2, {0, 1}, true) == PartList{0, 1});
}

TEST_CASE("files: the probe hashes what is at dest, and a link is never taken for a file") {
  TempDir dest("probe-dest"), outside("probe-outside");
  wire::Part a = file_part("m/a", "AAAA"), b = file_part("m/b", "BBBB"), c = file_part("m/c", "CCCC");
  relay::FileSink sink(wire::FilesProbe{dest.path.string(), {a}, {{"m", 0755}}, false});
  sink.begin(0, a);
  sink.write("AAAA", 4);
  sink.commit();
  sink.finish();
  write_file(dest.path / "m/b", "BBBX");  // same size, other contents
  write_file(outside.path / "c", "CCCC");
  ::chmod((outside.path / "c").c_str(), 0644);
  fs::create_symlink(outside.path / "c", dest.path / "m/c");
  wire::FilesProbed p = relay::probe_dest(wire::FilesProbe{dest.path.string(), {a, b, c}, {{"m", 0755}}, true}, "/tmp");
  CHECK(p.have == std::vector<std::size_t>{0});
  CHECK(p.fixes == 1);  // with mirror: the link at m/c goes (m/b travels: not a fix)
  // A dest that does not exist yet is probed, not created.
  wire::FilesProbed none = relay::probe_dest(wire::FilesProbe{(dest.path / "new/dir").string(), {a}, {{"m", 0755}}, true}, "/tmp");
  CHECK(none.have.empty());
  CHECK(none.fixes == 1);
  CHECK(none.dest_free > 0);
  CHECK_FALSE(fs::exists(dest.path / "new"));
}

TEST_CASE("files: a symlink planted in dest is not written through, and --delete removes it as a link") {
  TempDir dest("sink-dest"), outside("sink-outside");
  write_file(outside.path / "keep", "outside");
  fs::create_symlink(outside.path, dest.path / "m");  // dest/m -> outside
  wire::Part a = file_part("m/keep", "evil");
  relay::FileSink sink(wire::FilesProbe{dest.path.string(), {a}, {{"m", 0755}}, true});
  CHECK_THROWS_WITH(sink.begin(0, a), Catch::Contains("symlink"));
  CHECK(read_file(outside.path / "keep") == "outside");
  // Mirroring removes the link itself, never what it points to.
  relay::DestTree tree(dest.path.string(), false);
  CHECK(tree.extras({"m/keep"}, {"m"}, true) == 1);
  CHECK_FALSE(fs::exists(fs::symlink_status(dest.path / "m")));
  CHECK(read_file(outside.path / "keep") == "outside");
}

TEST_CASE("files: written to a temp name and renamed into place with mode and mtime; a leaf link is replaced") {
  TempDir dest("sink-write"), outside("sink-write-outside");
  write_file(outside.path / "target", "outside");
  fs::create_directories(dest.path / "bin");
  fs::create_symlink(outside.path / "target", dest.path / "bin/tool");
  wire::Part a = file_part("bin/tool", "#!/bin/sh\n", 0755);
  relay::FileSink sink(wire::FilesProbe{dest.path.string(), {a}, {{"bin", 0750}}, false});
  sink.begin(0, a);
  sink.write("#!/bin/sh\n", 10);
  CHECK_FALSE(fs::is_regular_file(fs::symlink_status(dest.path / "bin/tool")));  // not before the commit
  sink.commit();
  CHECK(sink.finish() == std::vector<std::string>{a.digest});
  struct stat st;
  REQUIRE(::lstat((dest.path / "bin/tool").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0755);
  CHECK(static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<std::uint64_t>(st.st_mtim.tv_nsec) == a.mtime_ns);
  CHECK(read_file(outside.path / "target") == "outside");
  ::stat((dest.path / "bin").c_str(), &st);
  CHECK((st.st_mode & 07777) == 0750);
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dest.path / "bin")) entries += e.path().filename() == "tool" ? 0 : 1;
  CHECK(entries == 0);  // no temp file left
}

TEST_CASE("files: a part that lies about its digest is never renamed into place, and leaves no temp file") {
  TempDir work("files-rx"), dest("files-rx-dest");
  const std::string good = "good bytes", lie = "evil bytes";
  wire::Part a = file_part("x/a", good), b = file_part("x/b", good);
  wire::ReceiveRequest plan;
  plan.parts = {a, b};
  plan.load = {0, 1};
  plan.listen = "127.0.0.1";
  plan.parents = {{"k", false}};
  std::mutex mu;
  std::condition_variable cv;
  int bad = 0;
  relay::Receiver rx(work.path.string(), plan, nullptr,
                     [&](std::size_t index, std::uint64_t) {
                       std::lock_guard<std::mutex> lock(mu);
                       CHECK(index == 1);
                       ++bad;
                       cv.notify_all();
                       return true;
                     },
                     std::make_unique<relay::FileSink>(wire::FilesProbe{dest.path.string(), plan.parts, {{"x", 0755}}, false}));
  const std::string bytes = good + lie;
  for (int round = 0; round < relay::kMaxBadParts; ++round) {
    const std::uint64_t from = round == 0 ? 0 : good.size();
    std::string body = bytes.substr(from);
    REQUIRE(rx.accept(0, wire::Frame{wire::Kind::Data, body, from, wire::chunk_hash(body)}));
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return bad == round + 1; }));
  }
  relay::LoadResult r = rx.finish();
  CHECK_FALSE(r.ok);
  CHECK(r.step == "verify");
  CHECK(read_file(dest.path / "x/a") == good);  // verified before the lie: in place
  CHECK_FALSE(fs::exists(dest.path / "x/b"));
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dest.path / "x")) entries += e.path().filename() == "a" ? 0 : 1;
  CHECK(entries == 0);
}
