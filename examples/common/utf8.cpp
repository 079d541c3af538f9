#include "examples/common/utf8.h"

#include <stdexcept>
#include <utility>

#include "minigrad/tensor/check.h"

namespace minigrad::examples {

namespace {

// One character of `text` at byte `at`: its code point and its length in bytes, or
// (length 0) why it is not UTF-8. The lead byte gives the length and the first bits;
// the bounds of the second byte are RFC 3629's table, which rules out the overlong
// forms, the surrogates and the values past U+10FFFF in one comparison.
struct Decoded {
  char32_t code_point = 0;
  size_t length = 0;
  const char* error = nullptr;
};

Decoded decode_one(std::string_view text, size_t at) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[at + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1, nullptr};
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // below: overlong (< U+0800)
    if (lead == 0xed) high = 0x9f;  // above: surrogates U+D800..U+DFFF
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // below: overlong (< U+10000)
    if (lead == 0xf4) high = 0x8f;  // above: past U+10FFFF
  } else if (lead >= 0x80 && lead <= 0xbf) {
    return {0, 0, "a continuation byte where a character should start"};
  } else {
    return {0, 0, "a byte that UTF-8 never uses"};  // 0xc0, 0xc1: overlong; 0xf5..: too large
  }
  if (at + length > text.size()) return {0, 0, "the text ends inside a character"};
  constexpr unsigned char kLeadBits[] = {0, 0, 0x1f, 0x0f, 0x07};
  char32_t c = lead & kLeadBits[length];
  for (size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(k);
    const bool in_range = k == 1 ? (b >= low && b <= high) : (b >> 6) == 0x2;
    if (!in_range) {
      if ((b >> 6) != 0x2) return {0, 0, "a character cut short by the next byte"};
      return {0, 0, low > 0x80 ? "an overlong form" : "a surrogate or a value past U+10FFFF"};
    }
    c = (c << 6) | (b & 0x3f);
  }
  return {c, length, nullptr};
}

[[noreturn]] void not_utf8(std::string_view what, size_t at, const char* why) {
  throw std::invalid_argument(std::string(what) + ": byte " + std::to_string(at) +
                              " is not UTF-8: " + why);
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

std::u32string decode_utf8(std::string_view text, std::string_view what) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const Decoded d = decode_one(text, i);
    if (d.length == 0) not_utf8(what, i, d.error);
    out.push_back(d.code_point);
    i += d.length;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    MINIGRAD_CHECK(c <= 0x10ffff && (c < 0xd800 || c > 0xdfff))
        << "encode_utf8: character " << i << " is " << static_cast<uint32_t>(c)
        << ", a surrogate or past U+10FFFF, which UTF-8 cannot spell";
    const auto put = [&](uint32_t b) { out.push_back(static_cast<char>(b)); };
    if (c < 0x80) {
      put(c);
    } else if (c < 0x800) {
      put(0xc0 | (c >> 6)), put(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      put(0xe0 | (c >> 12)), put(0x80 | ((c >> 6) & 0x3f)), put(0x80 | (c & 0x3f));
    } else {
      put(0xf0 | (c >> 18)), put(0x80 | ((c >> 12) & 0x3f));
      put(0x80 | ((c >> 6) & 0x3f)), put(0x80 | (c & 0x3f));
    }
  }
  return out;
}

std::vector<std::string> utf8_symbols(const std::string& text) {
  std::vector<std::string> symbols;
  for (size_t i = 0; i < text.size();) {
    const Decoded d = decode_one(text, i);
    if (d.length == 0) not_utf8("utf8_symbols", i, d.error);
    symbols.push_back(text.substr(i, d.length));
    i += d.length;
  }
  return symbols;
}

int64_t display_width(const std::string& text) {
  int64_t width = 0;
  for (const char32_t c : decode_utf8(text, "display_width")) width += is_wide(c) ? 2 : 1;
  return width;
}

}  // namespace minigrad::examples
