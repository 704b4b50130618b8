// Docker's classic image store read in place, so that an update needs no
// `docker save` of the whole image: a config is a file of its image store,
// and a layer's exact tar is regenerated from the layer's files and the
// tar-split metadata Docker kept when it applied the layer, as Docker's own
// push and save do (moby: layer/layer_store.go, getTarStream and
// assembleTarTo; image/fs.go for configs). Docker 20.10 to 26 with the
// overlay2 driver:
//   ROOT/image/overlay2/imagedb/content/sha256/<config hex>     the config
//   ROOT/image/overlay2/layerdb/sha256/<chain hex>/diff          its diff ID
//                                                  /cache-id      its folder
//                                                  /tar-split.json.gz
//   ROOT/overlay2/<cache-id>/diff/                  the layer's files
// Nothing here is trusted: the config must hash to its ID, and the layer
// cache keeps a layer only if its SHA-256 is the diff ID. Whatever is not as
// expected throws StoreMiss, and the caller saves instead.
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

namespace treesync {

// Why the store could not give what was asked (one line); not an error of
// the run: `docker save` still can.
struct StoreMiss : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using ByteSink = std::function<void(const char* data, std::size_t n)>;

class DockerStore {
 public:
  // From `docker info`: DockerRootDir and Driver. Throws StoreMiss unless
  // the driver is overlay2 and this process can read the store (root can;
  // a member of the docker group cannot).
  DockerStore(std::string root, std::string driver);

  // The bytes of the config of image `id` ("sha256:…"), checked against it.
  std::string config(const std::string& id) const;
  // The tar of the layer whose chain ID is `chain` and diff ID `diff`, to
  // `out`, unchecked (the caller hashes it). Exceptions `out` throws pass.
  void layer(const std::string& chain, const std::string& diff, const ByteSink& out) const;

 private:
  std::string root_, driver_;
};

// tar-split's reassembly (github.com/vbatts/tar-split, tar/asm/assemble.go,
// WriteOutputTarStream): `tar_split_gz` is gzip of JSON entries, one a line,
// in the order of the tar (tar/storage/entry.go, packer.go):
//   {"type":2,"payload":"<base64>","position":N}   raw bytes of the tar as
//       they were: headers, padding, the end blocks; emitted as they are
//   {"type":1,"name":"etc/passwd","size":1234,"payload":"<crc64>","position":N}
//       a file's content: `size` bytes of the file of that name (relative)
//       under `files_dir`; none when the size is 0 (directories, links,
//       hardlinks); a name that is not UTF-8 is base64 in "name_raw"
// Stricter than tar-split, which opens filepath.Join(root, name) and copies
// the whole file: every component is opened without following a symlink
// and ".." is refused (so nothing outside `files_dir` is read), the file
// must be a regular file of exactly `size` bytes, a name may appear once
// (tar-split's ErrDuplicatePath), and the crc64 is not checked (the caller
// checks the whole tar's SHA-256). Throws StoreMiss on anything else.
void assemble_tar_split(const std::string& tar_split_gz, const std::string& files_dir, const ByteSink& out);

}  // namespace treesync
