// CRC-32 checksums (the IEEE 802.3 / zlib / PNG CRC: reflected, polynomial 0xEDB88320, initial
// and final XOR 0xFFFFFFFF), table-driven with slicing-by-8. Sarwate, CACM 31(8), 1988 (tables).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace continua::io {

namespace detail {

// Eight 256-entry tables: table[0] is Sarwate's byte table; table[k][b] is the CRC of byte b
// followed by k zero bytes, which lets the loop fold eight input bytes per iteration.
inline constexpr std::array<std::array<std::uint32_t, 256>, 8> crc32_tables = [] {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::uint32_t b = 0; b < 256; ++b)
      t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  return t;
}();

// Advances a raw (not yet inverted) CRC register over n bytes.
constexpr std::uint32_t crc32_raw(std::uint32_t c, const unsigned char* p, std::size_t n) {
  const auto& t = crc32_tables;
  while (n >= 8) {
    // Bytes are assembled explicitly (not loaded as a word) so the result is endian-independent.
    const std::uint32_t lo = c ^ (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                                  std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24);
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
        t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFFu];
  return c;
}

}  // namespace detail

// CRC-32 of n bytes, continuing from `previous` (the CRC of the bytes before them; 0 to start),
// so crc32(b, nb, crc32(a, na)) == crc32 of a followed by b, as in zlib's crc32().
inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t previous = 0) {
  return ~detail::crc32_raw(~previous, static_cast<const unsigned char*>(data), n);
}

// CRC-32 of a byte span, continuing from `previous` like the pointer form.
inline std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t previous = 0) {
  return crc32(bytes.data(), bytes.size(), previous);
}

// Compile-time capable form over characters, e.g. static_assert(crc32("123456789") == 0xCBF43926).
constexpr std::uint32_t crc32(std::string_view text, std::uint32_t previous = 0) {
  std::uint32_t c = ~previous;
  for (const char ch : text)
    c = (c >> 8) ^ detail::crc32_tables[0][(c ^ static_cast<unsigned char>(ch)) & 0xFFu];
  return ~c;
}

}  // namespace continua::io
