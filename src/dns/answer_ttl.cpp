// answer_ttl: header, questions skipped, then each answer record's fixed fields.
#include "dns/answer_ttl.hpp"

#include <algorithm>

namespace backstop::dns {

namespace {

constexpr std::size_t header_size = 12;

std::uint16_t read16(std::span<const unsigned char> m, std::size_t at) {
  return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]);
}

std::uint32_t read32(std::span<const unsigned char> m, std::size_t at) {
  return (std::uint32_t{m[at]} << 24) | (std::uint32_t{m[at + 1]} << 16) |
         (std::uint32_t{m[at + 2]} << 8) | std::uint32_t{m[at + 3]};
}

// Moves pos past one (possibly compressed) name; false when it runs off the end.
bool skip_name(std::span<const unsigned char> m, std::size_t& pos) {
  while (pos < m.size()) {
    const unsigned char len = m[pos];
    if ((len & 0xC0) == 0xC0) {
      pos += 2; // a pointer ends the name
      return pos <= m.size();
    }
    if ((len & 0xC0) != 0) {
      return false; // 0x40/0x80: extended label types, never in answers we ask for
    }
    pos += 1 + len;
    if (len == 0) {
      return pos <= m.size();
    }
  }
  return false;
}

} // namespace

std::optional<std::uint32_t> min_answer_ttl(std::span<const unsigned char> m) {
  if (m.size() < header_size) {
    return std::nullopt;
  }
  const std::uint16_t questions = read16(m, 4);
  const std::uint16_t answers = read16(m, 6);
  std::size_t pos = header_size;
  for (std::uint16_t i = 0; i < questions; ++i) {
    if (!skip_name(m, pos) || pos + 4 > m.size()) {
      return std::nullopt;
    }
    pos += 4; // type, class
  }
  std::optional<std::uint32_t> smallest;
  for (std::uint16_t i = 0; i < answers; ++i) {
    if (!skip_name(m, pos) || pos + 10 > m.size()) {
      return std::nullopt;
    }
    std::uint32_t ttl = read32(m, pos + 4);
    if ((ttl & 0x80000000u) != 0) {
      ttl = 0;
    }
    const std::uint16_t rdlength = read16(m, pos + 8);
    pos += 10 + rdlength;
    if (pos > m.size()) {
      return std::nullopt;
    }
    smallest = std::min(smallest.value_or(ttl), ttl);
  }
  return smallest;
}

} // namespace backstop::dns
