// The one-line message of the UsageError a call throws, for tests of what
// users see.
#pragma once

#include <string>

#include "src/errors.h"

namespace treesync {

// f()'s UsageError message, or "no error".
template <typename F>
std::string usage_error_of(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace treesync
