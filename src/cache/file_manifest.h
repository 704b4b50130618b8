// The files payload on the source (--files PATH... --dest DIR): what each
// PATH holds, as parts of kind file (relative path under DEST, size, mode,
// mtime, SHA-256) and directories, and which of them a node lacks. A PATH
// lands at DEST/<its name>, as `cp -r PATH DEST` would put it. Symlinks are
// refused, not carried: a link's meaning depends on the node's tree, and
// following one would send what the operator may not have meant to.
#pragma once

#include <string>
#include <vector>

#include "src/cache/bundle_plan.h"
#include "src/cache/layer_cache.h"
#include "src/wire/messages.h"

namespace treesync {

struct FileManifest {
  std::vector<wire::Part> files;     // kind file, codec none, in path order
  std::vector<std::string> sources;  // per file: where the source reads it
  std::vector<wire::DirEntry> dirs;  // parents before children
};

// Walks and hashes every PATH. Throws UsageError (one line: the path and
// the fix) for a missing PATH, a symlink, a device or socket, or two PATHs
// with one name.
FileManifest build_manifest(const std::vector<std::string>& paths);
// The stream's parts and where the source reads them (no compression:
// weights and archives are rarely worth it, and files are read in place).
PreparedBundle files_bundle(const FileManifest& manifest);
// The positions of the files a node lacks, from its probe's `have`; with
// `force` every file.
PartList lacking_files(std::size_t count, const std::vector<std::size_t>& have, bool force);

}  // namespace treesync
