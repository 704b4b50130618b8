#include "src/cache/image_platform.h"

#include <fstream>
#include <sstream>

#include "src/wire/protocol.h"

namespace treesync {

std::map<std::string, std::string> image_architectures(const PreparedBundle& prepared) {
  std::map<std::string, std::string> out;
  const auto& parts = prepared.bundle.parts;
  for (std::size_t i = 0; i < parts.size() && i < prepared.files.size(); ++i) {
    if (parts[i].kind != wire::PartKind::Config) continue;
    std::ifstream in(prepared.files[i]);
    std::stringstream text;
    text << in.rdbuf();
    const wire::Json config = wire::Json::parse(text.str(), nullptr, false);
    out[parts[i].digest] = config.is_object() ? config.value("architecture", "") : "";
  }
  return out;
}

}  // namespace treesync
