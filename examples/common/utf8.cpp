#include "examples/common/utf8.h"

#include <utility>

#include "minigrad/tensor/check.h"

namespace minigrad::examples {

namespace {

// The bytes of a code point after its lead byte: 0 (ASCII), 1, 2 or 3; -1 for a byte
// that cannot start one (a continuation byte, 0xf8 and above).
int continuation_bytes(unsigned char lead) {
  if (lead < 0x80) return 0;
  if ((lead >> 5) == 0x6) return 1;
  if ((lead >> 4) == 0xe) return 2;
  if ((lead >> 3) == 0x1e) return 3;
  return -1;
}

// The code point of one symbol of utf8_symbols: the lead byte's low bits, then six
// bits from each continuation byte.
char32_t code_point(const std::string& symbol) {
  const auto lead = static_cast<unsigned char>(symbol[0]);
  constexpr unsigned char kLeadBits[] = {0x7f, 0x1f, 0x0f, 0x07};
  char32_t c = lead & kLeadBits[symbol.size() - 1];
  for (size_t k = 1; k < symbol.size(); ++k)
    c = (c << 6) | (static_cast<unsigned char>(symbol[k]) & 0x3f);
  return c;
}

// The wide ("W") and full-width ("F") blocks of East Asian Width, as glibc's wcwidth
// has them, coarsened to whole blocks.
constexpr std::pair<char32_t, char32_t> kWide[] = {
    {0x1100, 0x115f},    // Hangul Jamo, leading consonants
    {0x2e80, 0x303e},    // CJK radicals, punctuation
    {0x3041, 0x33ff},    // kana, Hangul compatibility Jamo, CJK symbols
    {0x3400, 0x4dbf},    // CJK extension A
    {0x4e00, 0x9fff},    // CJK unified ideographs
    {0xa000, 0xa4cf},    // Yi
    {0xac00, 0xd7a3},    // Hangul syllables: 년 월 일 요 and the weekdays
    {0xf900, 0xfaff},    // CJK compatibility ideographs
    {0xfe30, 0xfe4f},    // CJK compatibility forms
    {0xff00, 0xff60},    // full-width forms
    {0xffe0, 0xffe6},    // full-width signs
    {0x1f300, 0x1f64f},  // pictographs, emoticons
    {0x1f900, 0x1f9ff},  // supplemental pictographs
    {0x20000, 0x3fffd},  // CJK extensions B and later
};

bool is_wide(char32_t c) {
  for (const auto& [first, last] : kWide) {
    if (c >= first && c <= last) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> utf8_symbols(const std::string& text) {
  std::vector<std::string> symbols;
  for (size_t i = 0; i < text.size();) {
    const int more = continuation_bytes(static_cast<unsigned char>(text[i]));
    const auto n = static_cast<size_t>(more + 1);
    bool ok = more >= 0 && i + n <= text.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    MINIGRAD_CHECK(ok) << "utf8_symbols: byte " << i << " of \"" << text
                       << "\" does not start a UTF-8 character";
    symbols.push_back(text.substr(i, n));
    i += n;
  }
  return symbols;
}

int64_t display_width(const std::string& text) {
  int64_t width = 0;
  for (const std::string& symbol : utf8_symbols(text)) width += is_wide(code_point(symbol)) ? 2 : 1;
  return width;
}

}  // namespace minigrad::examples
