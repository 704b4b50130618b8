// Base64 (RFC 4648, with padding) as Go's encoding/json writes []byte and
// OpenSSH writes hashed host names. Its own file: the relay links none of it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wire {

// The bytes `text` encodes, or nullopt if it is not padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace wire
