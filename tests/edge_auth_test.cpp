// SHA-256 and HMAC-SHA256 against published vectors, and the edge
// handshake's MACs (src/wire/digest.h, src/wire/edge_auth.h).
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "src/wire/digest.h"
#include "src/wire/edge_auth.h"

namespace {

std::string repeat(unsigned char byte, std::size_t n) { return std::string(n, static_cast<char>(byte)); }

bool is_lower_hex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

}  // namespace

TEST_CASE("HMAC-SHA256 matches the RFC 4231 test vectors") {
  struct Vector {
    int rfc_case;
    std::string key, data, mac;
  };
  std::string key4;
  for (int i = 1; i <= 25; ++i) key4.push_back(static_cast<char>(i));
  const std::vector<Vector> vectors = {
      {1, repeat(0x0b, 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2, "Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, repeat(0xaa, 20), repeat(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, key4, repeat(0xcd, 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Keys longer than SHA-256's 64-byte block are hashed first.
      {6, repeat(0xaa, 131), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, repeat(0xaa, 131),
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& v : vectors) {
    INFO("RFC 4231 case " << v.rfc_case);
    CHECK(wire::hmac_sha256_hex(v.key, v.data) == v.mac);
  }
  // Case 5 publishes only the first 128 bits.
  CHECK(wire::hmac_sha256_hex(repeat(0x0c, 20), "Test With Truncation").substr(0, 32) ==
        "a3b6167473100ee06e0c796c2955552b");
}

TEST_CASE("HMAC-SHA256 keys: zero-padded up to the block, hashed beyond it") {
  const std::string msg = "treesync";
  // The raw 32 bytes of SHA-256(key).
  auto hashed = [](const std::string& key) {
    std::string hex = wire::sha256_digest(key).substr(7), raw;
    for (std::size_t i = 0; i < hex.size(); i += 2)
      raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return raw;
  };
  // RFC 2104: a short key is padded with zeros, so trailing zeros change nothing;
  CHECK(wire::hmac_sha256_hex("key", msg) == wire::hmac_sha256_hex(std::string("key\0\0\0", 6), msg));
  // a key of exactly one block is used as it is;
  const std::string block = repeat('k', 64);
  CHECK(wire::hmac_sha256_hex(block, msg) != wire::hmac_sha256_hex(hashed(block), msg));
  // one byte more and it is hashed to 32 bytes first.
  const std::string longer = repeat('k', 65);
  CHECK(wire::hmac_sha256_hex(longer, msg) == wire::hmac_sha256_hex(hashed(longer), msg));
}

TEST_CASE("SHA-256 of known inputs, in Docker's sha256:<hex> form") {
  CHECK(wire::sha256_digest("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(wire::sha256_digest("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Two blocks (FIPS 180-2, appendix B.2).
  CHECK(wire::sha256_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("SHA-256 fed in random pieces equals SHA-256 in one go") {
  std::mt19937 rng(4231);
  std::string data(300000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string whole = wire::sha256_digest(data);
  for (int round = 0; round < 20; ++round) {
    wire::Sha256 h;
    std::size_t at = 0;
    while (at < data.size()) {
      // Pieces from empty to a few blocks, so splits fall inside and across blocks.
      std::size_t n = std::min<std::size_t>(rng() % (round < 10 ? 200 : 70000), data.size() - at);
      h.update(data.data() + at, n);
      at += n;
    }
    INFO("round " << round);
    CHECK(h.digest() == whole);
  }
  wire::Sha256 empty;
  empty.update(data.data(), 0);
  CHECK(empty.digest() == wire::sha256_digest(""));
}

TEST_CASE("the edge MACs are HMACs of labelled, separated inputs") {
  const std::string key = repeat('K', 64), r = "r0", s = "s0";
  // Pinned, because both programs and docs/protocol.md must agree on them.
  CHECK(wire::answer_mac(key, r, s) == wire::hmac_sha256_hex(key, "treesync edge answer\nr0\ns0"));
  CHECK(wire::accept_mac(key, r, s, 42) == wire::hmac_sha256_hex(key, "treesync edge accept\nr0\ns0\n42"));
}

TEST_CASE("the edge MACs depend on every input, and an answer never passes as an accept") {
  const std::string key = wire::new_edge_key(), other = wire::new_edge_key();
  const std::string r = wire::new_nonce(), s = wire::new_nonce();
  const std::string answer = wire::answer_mac(key, r, s);
  const std::string accept = wire::accept_mac(key, r, s, 1000);
  CHECK(answer.size() == 64);
  CHECK(is_lower_hex(answer));
  CHECK(answer == wire::answer_mac(key, r, s));  // deterministic: the other end computes the same

  CHECK(wire::answer_mac(key, s, r) != answer);  // swapped nonces
  CHECK(wire::accept_mac(key, s, r, 1000) != accept);
  CHECK(wire::answer_mac(other, r, s) != answer);  // another key
  CHECK(wire::accept_mac(other, r, s, 1000) != accept);
  CHECK(wire::accept_mac(key, r, s, 1001) != accept);  // another offset
  CHECK(wire::accept_mac(key, r, s, 0) != accept);
  // A field's end cannot slide into the next.
  CHECK(wire::answer_mac(key, "ab", "c") != wire::answer_mac(key, "a", "bc"));
  CHECK(wire::accept_mac(key, "r", "s1", 0) != wire::accept_mac(key, "r", "s", 10));

  for (std::uint64_t offset : {0ull, 1ull, 1ull << 40}) CHECK(wire::accept_mac(key, r, s, offset) != answer);
}

TEST_CASE("same_secret compares whole secrets") {
  const std::string key = wire::new_edge_key();
  CHECK(wire::same_secret(key, std::string(key)));
  CHECK(wire::same_secret("", ""));
  std::string last = key, first = key;
  last.back() = last.back() == '0' ? '1' : '0';
  first.front() = first.front() == '0' ? '1' : '0';
  CHECK_FALSE(wire::same_secret(key, last));
  CHECK_FALSE(wire::same_secret(key, first));
  CHECK_FALSE(wire::same_secret(key, key.substr(0, 63)));  // a prefix is not the secret
  CHECK_FALSE(wire::same_secret(key.substr(0, 63), key));
  CHECK_FALSE(wire::same_secret(key, ""));
}

TEST_CASE("random_hex: 2n lowercase hex digits, fresh each call") {
  CHECK(wire::random_hex(0).empty());
  for (std::size_t n : {1u, 16u, 32u, 1000u}) {
    std::string a = wire::random_hex(n), b = wire::random_hex(n);
    CHECK(a.size() == 2 * n);
    CHECK(is_lower_hex(a));
    if (n >= 16) CHECK(a != b);  // 2^-128 to collide
  }
  CHECK(wire::new_nonce().size() == 2 * wire::kNonceBytes);
  CHECK(wire::new_edge_key().size() == 2 * wire::kEdgeKeyBytes);
  std::set<std::string> nonces;
  for (int i = 0; i < 100; ++i) nonces.insert(wire::new_nonce());
  CHECK(nonces.size() == 100);
}
