// Where the files payload's parts go on a node, in place of a runtime's
// load (relay/receiver.h feeds it): each file is written to a fresh temp
// name beside its place (O_EXCL, 0600), and only once its SHA-256 matched
// the plan's is it synced, given its mode and mtime, and renamed into
// place, so a reader sees the old file or the new one, never half of one.
// A part that fails its digest leaves nothing behind. With --delete,
// whatever is under the destination besides the payload goes first (a link
// planted where the payload has a directory included, and the space it
// held); at the end the payload's directories get their modes.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "relay/dest_tree.h"
#include "src/wire/messages.h"

namespace relay {

class FileSink {
 public:
  explicit FileSink(wire::FilesProbe target);
  ~FileSink();  // removes a temp file still open

  // Before the first file: with mirror, the removals.
  void prepare();
  // Part `index` of the stream (a file) starts: its temp file is created.
  void begin(std::size_t index, const wire::Part& file);
  void write(const char* data, std::size_t n);
  // The bytes written matched the file's digest: into place.
  void commit();
  // The current file failed its digest (or the run stopped): its temp file goes.
  void discard();
  bool committed(std::size_t index) const { return committed_.count(index) > 0; }
  // After the last file: directories' modes. Returns the digests of the files written, in the order they were.
  std::vector<std::string> finish();

 private:
  wire::FilesProbe target_;
  DestTree tree_;
  Fd dir_, temp_;           // the current file's directory and temp file
  std::string temp_name_;
  wire::Part current_;
  std::size_t current_index_ = 0;
  std::set<std::size_t> committed_;
  std::vector<std::string> written_;
};

}  // namespace relay
