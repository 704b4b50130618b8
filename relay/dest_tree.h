// The directory the files payload goes to on a node (--dest), as the relay
// touches it: every path below it is one the source's plan names, checked
// (src/wire/rel_path.h), and walked a component at a time with O_NOFOLLOW,
// so a symlink planted in the tree (to /etc, say) is never followed: the
// relay writes, hashes and removes nothing outside the destination. The
// destination itself is the operator's and is followed as given (it may
// well be a link to a bigger disk).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "src/wire/messages.h"

namespace relay {

// An open file descriptor, closed with its owner.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

class DestTree {
 public:
  // Opens `dest` (absolute); with `create` (to write), creates it and its
  // missing parents first. Without, a missing dest reads as empty: a probe
  // (a dry run's too) changes nothing on the node. Throws with the path and
  // errno text.
  DestTree(const std::string& dest, bool create);

  const std::string& path() const { return dest_; }
  // The directory that holds `path`; with `create` its missing directories
  // are made (0700 until finish sets their modes). Without, an absent
  // directory (or a symlink, or a file, where one should be) gives an empty
  // Fd. Throws where creating fails.
  Fd open_parent(const std::string& path, bool create) const;
  static std::string leaf(const std::string& path);
  // A regular file (not a link) at the part's path with its size, mode,
  // mtime and SHA-256: what need not travel.
  bool holds(const wire::Part& file) const;
  // Entries below dest that are neither `files` nor `dirs` (a directory
  // counts once, with all it holds); with `remove`, they are removed (a
  // link as a link). Returns how many.
  std::size_t extras(const std::set<std::string>& files, const std::set<std::string>& dirs, bool remove) const;
  // Directories to create or to give their mode.
  std::size_t dirs_to_fix(const std::vector<wire::DirEntry>& dirs) const;
  // Creates them and sets their modes (after the files went in: a 0555
  // directory would not take them).
  void fix_dirs(const std::vector<wire::DirEntry>& dirs) const;
  std::uint64_t free_bytes() const;  // at dest, or where it would be created

 private:
  std::size_t walk(int dirfd, const std::string& prefix, const std::set<std::string>& files,
                   const std::set<std::string>& dirs, bool remove) const;
  std::string dest_;
  Fd fd_;
};

// The probe's answer from what is at dest: which files are there already,
// what else --dest's tree needs (directories, and with mirror removals).
// `spool_dir` is where the relay spools streams.
wire::FilesProbed probe_dest(const wire::FilesProbe& req, const std::string& spool_dir);

}  // namespace relay
