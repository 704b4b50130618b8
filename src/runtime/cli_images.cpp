#include "src/runtime/cli_images.h"

#include <set>
#include <sstream>
#include <stdexcept>

#include "src/runtime/runtime.h"
#include "src/runtime/subprocess.h"

namespace runtime {
namespace {

bool no_such_image(const ProcessResult& r) {
  return r.err.find("No such image") != std::string::npos || r.err.find("image not known") != std::string::npos;
}

}  // namespace

std::map<std::string, wire::ImageState> cli_image_states(const RuntimeCli& cli, const std::string& binary,
                                                        const std::vector<std::string>& ids) {
  std::map<std::string, wire::ImageState> out;
  for (const auto& id : ids) {
    check_config_digest(id);
    ProcessResult r = cli.run({binary, "image", "inspect", "--format", "{{json .RepoTags}}", id});
    wire::ImageState state{r.ok(), {}};
    if (r.ok()) {
      wire::Json tags = wire::Json::parse(r.out, nullptr, false);
      if (tags.is_array())
        for (const auto& t : tags)
          if (t.is_string()) state.tags.push_back(t.get<std::string>());
    } else if (!no_such_image(r)) {
      throw std::runtime_error(binary + " image inspect failed: " + r.last_line());
    }
    out[id] = state;
  }
  return out;
}

std::vector<std::vector<std::string>> cli_local_layers(const RuntimeCli& cli, const std::string& binary) {
  ProcessResult ls = cli.run({binary, "image", "ls", "--all", "--quiet", "--no-trunc"});
  if (!ls.ok()) throw std::runtime_error(binary + " image ls failed: " + ls.last_line());
  std::vector<std::string> argv = {binary, "image", "inspect", "--format", "{{json .RootFS.Layers}}"};
  const std::size_t fixed = argv.size();
  std::istringstream ids(ls.out);
  std::set<std::string> seen;  // an image with several tags is listed once per tag
  for (std::string id; ids >> id;) {
    id = image_id_of(id);
    if (is_image_id(id) && seen.insert(id).second) argv.push_back(id);
  }
  std::vector<std::vector<std::string>> out;
  if (argv.size() == fixed) return out;
  ProcessResult r = cli.run(argv);
  if (!r.ok()) throw std::runtime_error(binary + " image inspect failed: " + r.last_line());
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    wire::Json layers = wire::Json::parse(line, nullptr, false);
    if (!layers.is_array()) continue;
    out.emplace_back();
    for (const auto& d : layers)
      if (d.is_string()) out.back().push_back(d.get<std::string>());
  }
  return out;
}

}  // namespace runtime
