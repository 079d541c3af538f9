// Text as characters, not bytes: the date example's tokens are UTF-8 code points
// ("목" is one symbol of three bytes), and a terminal picture lines its labels up by
// the columns a character takes (two for Hangul, one for a Latin letter).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace minigrad::examples {

/// The code points of `text`, decoded strictly as RFC 3629 defines UTF-8:
///
///     U+0000..U+007F      0xxxxxxx
///     U+0080..U+07FF      110xxxxx 10xxxxxx
///     U+0800..U+FFFF      1110xxxx 10xxxxxx 10xxxxxx         (not U+D800..U+DFFF)
///     U+10000..U+10FFFF   11110xxx 10xxxxxx 10xxxxxx 10xxxxxx
///
/// Anything else is refused: a stray continuation byte, a character cut short, an
/// overlong form (0xc0 0xaf for '/', which would let two byte strings mean one
/// text), a UTF-16 surrogate, a value past U+10FFFF, the bytes 0xc0, 0xc1, 0xf5..0xff.
/// \param what names the text in the error: an op or a file name
/// \throws std::invalid_argument "<what>: byte N is not UTF-8: <why>", N the offset
///         of the first byte of the character at fault
std::u32string decode_utf8(std::string_view text, std::string_view what = "decode_utf8");

/// The UTF-8 bytes of `text`, the inverse of decode_utf8.
/// \throws std::invalid_argument naming the position of a surrogate or a value past
///         U+10FFFF, which no UTF-8 spells
std::string encode_utf8(std::u32string_view text);

/// The UTF-8 code points of `text`, each as its bytes: "3일" → {"3", "일"}.
/// \throws std::invalid_argument as decode_utf8 (what = "utf8_symbols") for text that
///         is not UTF-8
std::vector<std::string> utf8_symbols(const std::string& text);

/// The terminal columns `text` takes, as wcwidth counts them: two for each wide
/// character (Hangul, CJK ideographs, full-width forms and emoji, the "W" and "F"
/// classes of Unicode's East Asian Width), one for every other code point.
/// \throws std::invalid_argument as decode_utf8 (what = "display_width") for text that
///         is not UTF-8
int64_t display_width(const std::string& text);

}  // namespace minigrad::examples
