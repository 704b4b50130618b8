#include "src/ssh/numeric_address.h"

#include <netdb.h>
#include <sys/socket.h>

#include "src/errors.h"

namespace treesync {

std::string numeric_address(const std::string& host, const std::string& step) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) throw NodeError(step, "cannot resolve " + host + ": " + gai_strerror(rc));
  char text[NI_MAXHOST];
  rc = getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  freeaddrinfo(found);
  if (rc != 0) throw NodeError(step, "cannot resolve " + host + ": " + gai_strerror(rc));
  return text;
}

}  // namespace treesync
