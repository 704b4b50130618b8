#include "src/wire/tar.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "src/wire/protocol.h"

namespace wire {
namespace {

void put_octal(char* field, std::size_t width, std::uint64_t value) {
  // width - 1 digits and a NUL, as ustar asks.
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

std::uint64_t parse_number(const char* field, std::size_t width) {
  if (static_cast<unsigned char>(field[0]) & 0x80) {  // base-256
    std::uint64_t v = 0;
    for (std::size_t i = 1; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(field[i]);
    return v;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width && field[i]; ++i) {
    if (field[i] == ' ') continue;
    if (field[i] < '0' || field[i] > '7') throw Error("tar: bad number in header");
    v = v * 8 + static_cast<std::uint64_t>(field[i] - '0');
  }
  return v;
}

std::string field(const char* p, std::size_t width) { return std::string(p, strnlen(p, width)); }

// PAX extended headers: "<len> key=value\n" records.
std::map<std::string, std::string> parse_pax(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t space = text.find(' ', at);
    if (space == std::string::npos) break;
    std::size_t len = std::stoul(text.substr(at, space - at));
    if (len == 0 || at + len > text.size()) throw Error("tar: bad PAX record");
    std::string record = text.substr(space + 1, at + len - space - 2);
    std::size_t eq = record.find('=');
    if (eq != std::string::npos) out[record.substr(0, eq)] = record.substr(eq + 1);
    at += len;
  }
  return out;
}

}  // namespace

std::string tar_header(const std::string& name, std::uint64_t size, bool directory) {
  if (name.size() >= 100) throw Error("tar: name too long: " + name);
  char h[kTarBlock] = {};
  std::memcpy(h, name.data(), name.size());
  put_octal(h + 100, 8, directory ? 0755 : 0644);
  put_octal(h + 108, 8, 0);
  put_octal(h + 116, 8, 0);
  if (size < (std::uint64_t{1} << 33)) {
    put_octal(h + 124, 12, size);
  } else {
    h[124] = static_cast<char>(0x80);
    for (int i = 11; i >= 1; --i, size >>= 8) h[124 + i] = static_cast<char>(size & 0xff);
  }
  put_octal(h + 136, 12, 0);
  h[156] = directory ? '5' : '0';
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, kTarBlock);
}

std::size_t tar_padding(std::uint64_t size) { return static_cast<std::size_t>((kTarBlock - size % kTarBlock) % kTarBlock); }

std::string tar_trailer() { return std::string(2 * kTarBlock, '\0'); }

void TarParser::take_header() {
  const char* h = block_.data();
  if (std::all_of(block_.begin(), block_.end(), [](char c) { return c == 0; })) {
    state_ = State::Done;
    return;
  }
  unsigned sum = 0;
  for (std::size_t i = 0; i < kTarBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  if (sum != parse_number(h + 148, 8)) throw Error("tar: header checksum mismatch");
  TarEntry e;
  e.type = h[156] ? h[156] : '0';
  e.size = parse_number(h + 124, 12);
  std::string prefix = field(h + 345, 155);
  e.name = (prefix.empty() ? "" : prefix + "/") + field(h, 100);
  left_ = e.size;
  padding_ = tar_padding(e.size);
  if (e.type == 'x' || e.type == 'L' || e.type == 'g') {
    extended_.clear();
    extended_type_ = e.type;
    state_ = State::Extended;
    return;
  }
  if (pax_.count("path")) e.name = pax_["path"];
  if (pax_.count("size")) left_ = e.size = std::stoull(pax_["size"]), padding_ = tar_padding(e.size);
  pax_.clear();
  handler_.begin(e);
  state_ = State::Data;
}

void TarParser::feed(const char* data, std::size_t n) {
  while (n > 0 && state_ != State::Done) {
    if (state_ == State::Header) {
      std::size_t take = std::min(n, kTarBlock - block_.size());
      block_.append(data, take);
      data += take, n -= take;
      if (block_.size() == kTarBlock) {
        take_header();
        block_.clear();
      }
    }
    if (state_ == State::Data || state_ == State::Extended) {
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, left_));
      if (state_ == State::Data)
        handler_.data(data, take);
      else
        extended_.append(data, take);
      data += take, n -= take, left_ -= take;
      if (left_ > 0) continue;
      if (state_ == State::Data)
        handler_.end();
      else if (extended_type_ == 'x')
        pax_ = parse_pax(extended_);
      else if (extended_type_ == 'L')
        pax_["path"] = extended_.c_str();
      state_ = State::Padding;
    }
    if (state_ == State::Padding) {
      std::size_t take = std::min(n, padding_);
      data += take, n -= take, padding_ -= take;
      if (padding_ == 0) state_ = State::Header;
    }
  }
}

}  // namespace wire
