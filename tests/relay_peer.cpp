// The real parent, for tests/relay_listener_test.py: streams a file to a
// relay's data port with wire::Sender (the sender the source and every relay
// use) holding the edge key, so the test drives the relay with the same
// handshake and the same XXH3-checked chunks a real tree does.
//
//   relay_peer ADDRESS PORT KEY FILE
//
// Exits 0 once the relay proved it holds the key and confirmed the whole
// stream; 1 with the sender's error otherwise.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "src/wire/sender.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: relay_peer ADDRESS PORT KEY FILE\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);  // a relay that hangs up is an error, not a kill
  std::ifstream in(argv[4], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "relay_peer: cannot read %s\n", argv[4]);
    return 2;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto reader = [&bytes](std::uint64_t offset, char* buf, std::size_t n) -> std::size_t {
    if (offset >= bytes.size()) return 0;
    std::size_t k = std::min<std::size_t>(n, bytes.size() - offset);
    std::memcpy(buf, bytes.data() + offset, k);
    return k;
  };
  wire::Sender sender(wire::Target{"relay", argv[1], std::atoi(argv[2])}, argv[3], bytes.size(), reader);
  sender.start();
  sender.join();
  if (!sender.ok()) {
    std::fprintf(stderr, "relay_peer: %s\n", sender.error().c_str());
    return 1;
  }
  std::printf("relay_peer: sent %llu bytes\n", static_cast<unsigned long long>(sender.sent()));
  return 0;
}
