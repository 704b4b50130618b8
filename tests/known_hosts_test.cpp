#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <openssl/evp.h>

#include "src/ssh/known_hosts.h"

using namespace treesync;

namespace {

// Public keys made with ssh-keygen for these tests: four ed25519, one ECDSA.
const std::string A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKgaqWHI6DrS5BXeu8sYYpQ5psUBrmQuUv5dVR/l9Kdz";
const std::string B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIChMFuo5mjRAJDTHXXAPpYQ1g4phQ9EKbfgwOl2J2efE";
const std::string C = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAveVnwn1HkEw48xJW/GiTWhYPY4C7VIhs+2aRMkbJeX";
const std::string D = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgKWiqZhpH13BPnc4bQjFAvmWXUhnPkOxAJfWT4rxe5";
const std::string E =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFu4ZaYJa6PsdePPRwiapQuO38Q880ni0rsZg+"
    "IYkx5hbvvGeesXTfQ2l5ZCmianjaqONkds8TUFgm5Tk+rqEQ8=";

// What check_host_key says of `key` ("type base64", as a .pub holds it)
// offered by host:port, as "Verdict@line".
std::string type_of(const std::string& key) { return key.substr(0, key.find(' ')); }
std::string blob_of(const std::string& key) {
  std::string b64 = key.substr(key.find(' ') + 1);
  std::string blob(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(blob.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  blob.resize(static_cast<std::size_t>(n) - std::count(b64.end() - 2, b64.end(), '='));
  return blob;
}
std::string check(const std::string& text, const std::string& host, int port, const std::string& key) {
  HostKeyCheck c = check_host_key(text, host, port, type_of(key), blob_of(key));
  const char* names[] = {"Match", "Revoked", "Changed", "CertAuthority", "NotFound"};
  return std::string(names[static_cast<int>(c.verdict)]) + "@" + std::to_string(c.line);
}

}  // namespace

TEST_CASE("host fields match as OpenSSH matches them") {
  CHECK(host_field_matches("10.0.0.1,node1", "node1", 22));
  CHECK(host_field_matches("10.0.0.1,node1", "10.0.0.1", 22));
  CHECK_FALSE(host_field_matches("10.0.0.1,node1", "node2", 22));
  CHECK(host_field_matches("[node1]:2222", "node1", 2222));
  CHECK_FALSE(host_field_matches("node1", "node1", 2222));
  CHECK(host_field_matches("*.lan", "a.lan", 22));
  CHECK_FALSE(host_field_matches("*.lan,!bad.lan", "bad.lan", 22));
  CHECK(host_field_matches("*.LAN", "A.lan", 22));  // OpenSSH lowercases names
  // `ssh-keygen -H` of "node1" with this salt (HMAC-SHA1).
  CHECK(host_field_matches("|1|c1oRvwfX4CvR/CKb3PFJ8vbRNvs=|ypAUxdO8fCSCgk6PP110jHh8I1g=", "node1", 22));
  CHECK(host_field_matches("|1|c1oRvwfX4CvR/CKb3PFJ8vbRNvs=|ypAUxdO8fCSCgk6PP110jHh8I1g=", "NODE1", 22));
  CHECK_FALSE(host_field_matches("|1|c1oRvwfX4CvR/CKb3PFJ8vbRNvs=|ypAUxdO8fCSCgk6PP110jHh8I1g=", "node2", 22));
}

TEST_CASE("known key types for a host, in file order, skipping junk lines") {
  std::string path = "known_hosts_test.tmp";
  {
    std::ofstream f(path);
    f << "# comment\n"
      << "garbage\n"
      << "node1,10.0.0.1 " << A << "\n"
      << "@cert-authority * " << B << "\n"
      << "node2 " << E << "\n"
      << "10.0.0.1 " << E << "\n"
      << "10.0.0.1 ssh-rsa AAAAnot-a-key\n"
      << "node1 " << C << "\n";
  }
  CHECK(known_key_types({path}, "node1", 22) == std::vector<std::string>{"ssh-ed25519"});
  CHECK(known_key_types({path}, "10.0.0.1", 22) == std::vector<std::string>{"ssh-ed25519", "ecdsa-sha2-nistp256"});
  CHECK(known_key_types({path}, "node3", 22).empty());
  CHECK(known_key_types({"/nonexistent"}, "node1", 22).empty());
  std::remove(path.c_str());
}

// OpenSSH reads every UserKnownHostsFile and the global files as one: a key
// revoked in any of them is refused, a match in a later one counts, and the
// message names the file that decided.
TEST_CASE("several known_hosts files are judged as one, naming the deciding file") {
  const std::string first = "known_hosts_first.tmp", second = "known_hosts_second.tmp";
  std::ofstream(first) << "node1 " << A << "\nnode2 " << A;  // no final newline
  std::ofstream(second) << "# global\nnode3 " << E << "\n@revoked * " << A << "\nnode4 " << B << "\n";
  auto verdict = [&](const std::string& host, const std::string& key) {
    HostKeyCheck c = check_host_key_files({first, "/nonexistent", second}, host, 22, type_of(key), blob_of(key));
    const char* names[] = {"Match", "Revoked", "Changed", "CertAuthority", "NotFound"};
    return std::string(names[static_cast<int>(c.verdict)]) + "@" + c.file + ":" + std::to_string(c.line);
  };
  CHECK(verdict("node1", A) == "Revoked@" + second + ":3");  // revoked in the second file, known in the first
  CHECK(verdict("node3", E) == "Match@" + second + ":2");
  CHECK(verdict("node4", C) == "Changed@" + second + ":4");
  CHECK(verdict("node5", C) == "NotFound@:0");
  CHECK(known_key_types({first, second}, "node3", 22) == std::vector<std::string>{"ecdsa-sha2-nistp256"});
  std::remove(first.c_str());
  std::remove(second.c_str());
}

// The cases of OpenSSH's regress/keygen-knownhosts.sh (its kh.invalid file:
// comments, blank lines, a CA line, a revoked line, a wildcard, a host list,
// two keys for one host, and an unparsable last line), as ssh would decide
// on connecting (hostfile.c: check_hostkeys_by_key_or_type).
TEST_CASE("host keys: OpenSSH's keygen-knownhosts file") {
  const std::string kh = "# host-a\n" + ("host-a " + A) + "\n\n"                  // 2
                         "# host-b\n" + ("host-b " + B) + "\n\n"                  // 5
                         "# host-c\n" + ("@cert-authority host-c " + C) + "\n\n"  // 8
                         "# host-d\n" + ("@revoked host-d " + D) + "\n\n"         // 11
                         "# host-e\n" + ("host-e* " + E) + "\n\n"                 // 14
                         "# host-f\n" + ("host-f,host-g,host-h " + C) + "\n\n"    // 17
                         "# host-a2\n" + ("host-a " + B) + "\n\n"                 // 20
                         "host-i \n";
  CHECK(check(kh, "host-a", 22, A) == "Match@2");
  CHECK(check(kh, "host-a", 22, B) == "Match@20");  // either recorded key will do
  CHECK(check(kh, "host-a", 22, C) == "Changed@2");
  CHECK(check(kh, "host-b", 22, A) == "Changed@5");
  CHECK(check(kh, "host-c", 22, A) == "CertAuthority@8");
  CHECK(check(kh, "host-d", 22, D) == "Revoked@11");
  CHECK(check(kh, "host-e.somedomain", 22, E) == "Match@14");
  CHECK(check(kh, "host-e.somedomain", 22, A) == "NotFound@0");  // only an ECDSA key is known
  CHECK(check(kh, "host-h", 22, C) == "Match@17");
  CHECK(check(kh, "host-g", 22, A) == "Changed@17");
  CHECK(check(kh, "host-aa", 22, A) == "NotFound@0");
  CHECK(check(kh, "host-i", 22, A) == "NotFound@0");
  CHECK(check("", "host-a", 22, A) == "NotFound@0");
}

TEST_CASE("host keys: a wildcard entry decides for every host it names") {
  const std::string kh = "*.lan " + A + "\n";
  CHECK(check(kh, "node1.lan", 22, A) == "Match@1");
  CHECK(check(kh, "NODE1.LAN", 22, A) == "Match@1");
  // libssh2 read this as "not found", and --accept-new-host-keys recorded it.
  CHECK(check(kh, "node1.lan", 22, B) == "Changed@1");
  CHECK(check(kh, "node1.lan", 22, E) == "NotFound@0");  // no ECDSA key for it
  CHECK(check(kh, "lan", 22, A) == "NotFound@0");
  CHECK(check("10.0.0.1? " + A + "\n", "10.0.0.12", 22, B) == "Changed@1");
  CHECK(check("10.0.0.1? " + A + "\n", "10.0.0.123", 22, B) == "NotFound@0");
  // A non-matching wildcard line before the host's own line does not hide it.
  CHECK(check(kh + "node1.lan " + B + "\n", "node1.lan", 22, B) == "Match@2");
}

TEST_CASE("host keys: a negated pattern excludes the host") {
  const std::string kh = "*.lan,!bad.lan " + A + "\n";
  CHECK(check(kh, "good.lan", 22, A) == "Match@1");
  CHECK(check(kh, "bad.lan", 22, A) == "NotFound@0");
  CHECK(check(kh, "bad.lan", 22, B) == "NotFound@0");
  CHECK(check("!bad.lan,*.lan " + A + "\n", "bad.lan", 22, B) == "NotFound@0");  // wherever it stands
  CHECK(check("!bad.lan " + A + "\n", "good.lan", 22, A) == "NotFound@0");        // negation alone names no one
}

TEST_CASE("host keys: hashed names") {
  // `ssh-keygen -H` of "node1 A" and "[node1]:2222 A".
  const std::string kh = "|1|QTJzsawWOj/VfqRAAnrx4ohwEL8=|ta39DjPDfXK9PkXFtU+6Im5vK7k= " + A + "\n" +
                         "|1|+XuLySBpY32eKLsSotfBZfpV78s=|TQtqSWzdYrQghT6CCAg63wRLcbM= " + A + "\n";
  CHECK(check(kh, "node1", 22, A) == "Match@1");
  CHECK(check(kh, "node1", 22, B) == "Changed@1");
  CHECK(check(kh, "node1", 2222, A) == "Match@2");
  CHECK(check(kh, "node1", 2222, B) == "Changed@2");
  CHECK(check(kh, "node2", 22, A) == "NotFound@0");
  CHECK(check(kh, "node1", 2200, A) == "NotFound@0");
  CHECK(check("|1|bm90IGJhc2U2NA|x " + A + "\n", "node1", 22, A) == "NotFound@0");  // a broken hash names no one
}

TEST_CASE("host keys: [host]:port is not the plain name on port 22") {
  const std::string kh = "node1 " + A + "\n" + "[node1]:2222 " + B + "\n";
  CHECK(check(kh, "node1", 22, A) == "Match@1");
  CHECK(check(kh, "node1", 22, B) == "Changed@1");
  CHECK(check(kh, "node1", 2222, B) == "Match@2");
  CHECK(check(kh, "node1", 2222, A) == "Changed@2");
  CHECK(check(kh, "node1", 2200, A) == "NotFound@0");
  CHECK(check("[node1]:22 " + A + "\n", "node1", 22, A) == "NotFound@0");  // OpenSSH writes port 22 plain
  CHECK(check("[*.lan]:2222 " + A + "\n", "a.lan", 2222, A) == "Match@1");
  CHECK(check("[*.lan]:2222 " + A + "\n", "a.lan", 22, A) == "NotFound@0");
  CHECK(check("*.lan " + A + "\n", "a.lan", 2222, A) == "NotFound@0");
}

TEST_CASE("host keys: @revoked is refused whatever other lines say") {
  const std::string kh = "node1 " + A + "\n" + "@revoked * " + A + "\n";
  CHECK(check(kh, "node1", 22, A) == "Revoked@2");
  CHECK(check(kh, "other", 2222, A) == "Revoked@2");
  // A revoked key is refused whatever names its line gives.
  CHECK(check("node1 " + A + "\n@revoked node9 " + A + "\n", "node1", 22, A) == "Revoked@2");
  CHECK(check("@revoked node1 " + A + "\nnode1 " + A + "\n", "node1", 22, A) == "Revoked@1");
  // Another key's revocation changes nothing for this one.
  CHECK(check("@revoked node1 " + B + "\nnode1 " + A + "\n", "node1", 22, A) == "Match@2");
  CHECK(check("@revoked node1 " + B + "\n", "node1", 22, A) == "NotFound@0");
  // The revoked key itself, with no other line for the host.
  CHECK(check("@revoked node1 " + B + "\n", "node1", 22, B) == "Revoked@1");
}

TEST_CASE("host keys: @cert-authority lines are refused with their line") {
  const std::string kh = "# CA\n@cert-authority *.lan " + C + "\n";
  CHECK(check(kh, "a.lan", 22, A) == "CertAuthority@2");
  CHECK(check(kh, "a.lan", 22, C) == "CertAuthority@2");  // a CA key is no host key
  CHECK(check(kh, "a.com", 22, A) == "NotFound@0");
  CHECK(check(kh + "a.lan " + A + "\n", "a.lan", 22, A) == "Match@3");
  CHECK(check(kh + "a.lan " + B + "\n", "a.lan", 22, A) == "Changed@3");
}

TEST_CASE("host keys: unparsable lines are skipped, not the end of the file") {
  const std::string kh = "node1 " + B + "\n" +                         // 1: another key
                         "garbage\n" +                                 // 2
                         "node1 ssh-ed25519 !!not-base64!!\n" +        // 3
                         "node1 ssh-ed25519\n" +                       // 4: no key
                         "@bogus node1 " + A + "\n" +                  // 5: unknown marker
                         "node1 ssh-ed25519 " + E.substr(20) + "\n" +  // 6: an ECDSA blob named ed25519
                         "@revoked\n" +                                // 7
                         "   # indented comment\n" +                   // 8
                         "\t node1 " + A + " a comment\r\n" +          // 9: leading blanks, CRLF
                         "node2 " + A;                                 // 10: no newline at the end
  CHECK(check(kh, "node1", 22, A) == "Match@9");
  CHECK(check(kh, "node2", 22, A) == "Match@10");
  CHECK(check(kh, "node1", 22, C) == "Changed@1");
  CHECK(check(kh, "node1", 22, E) == "NotFound@0");
}
