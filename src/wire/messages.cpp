#include "src/wire/messages.h"

namespace wire {

std::string type_of(const Json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool converts_back(const Json& sent, const Json& decoded) {
  if (decoded.is_object()) {
    if (!sent.is_object()) return false;
    for (const auto& item : decoded.items()) {
      auto it = sent.find(item.key());
      if (it == sent.end() || !converts_back(*it, item.value())) return false;
    }
    return true;
  }
  if (decoded.is_array()) {
    if (!sent.is_array() || sent.size() != decoded.size()) return false;
    for (std::size_t i = 0; i < sent.size(); ++i)
      if (!converts_back(sent[i], decoded[i])) return false;
    return true;
  }
  // Numbers as text: 1 and 1.0, or -1 and 2^64-1, compare equal as JSON.
  return decoded.is_string() ? sent == decoded : sent.dump() == decoded.dump();
}

}  // namespace wire
