#include "src/cache/bundle_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace treesync {

BundleReader::BundleReader(const PreparedBundle& prepared)
    : prepared_(prepared), starts_(wire::part_offsets(prepared.bundle.parts)) {
  for (const auto& file : prepared.files) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::string why = std::strerror(errno);
      for (int f : fds_)
        if (f >= 0) ::close(f);
      throw std::runtime_error("cannot read " + file + " from the layer cache: " + why);
    }
    fds_.push_back(fd);
  }
}

BundleReader::~BundleReader() {
  for (int fd : fds_) ::close(fd);
}

std::size_t BundleReader::read(std::uint64_t offset, char* buf, std::size_t n) const {
  const auto& parts = prepared_.bundle.parts;
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  if (it == starts_.begin()) return 0;
  auto i = static_cast<std::size_t>(it - starts_.begin() - 1);
  std::uint64_t into = offset - starts_[i];
  if (into >= parts[i].size) return 0;
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, parts[i].size - into));
  for (;;) {
    ssize_t got = ::pread(fds_[i], buf, n, static_cast<off_t>(into));
    if (got > 0) return static_cast<std::size_t>(got);
    if (got == 0 || errno != EINTR)
      throw std::runtime_error("cannot read " + prepared_.files[i] + " from the layer cache (changed while sending?)");
  }
}

wire::Sender::Reader BundleReader::stream(const PartList& parts) const {
  return wire::view_reader(std::make_shared<const wire::PartView>(prepared_.bundle.parts, parts),
                           [this](std::uint64_t offset, char* buf, std::size_t n) { return read(offset, buf, n); });
}

}  // namespace treesync
