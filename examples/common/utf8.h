// Text as characters, not bytes: the date example's tokens are UTF-8 code points
// ("목" is one symbol of three bytes), and a terminal picture lines its labels up by
// the columns a character takes (two for Hangul, one for a Latin letter).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace minigrad::examples {

/// The UTF-8 code points of `text`, each as its bytes: "3일" → {"3", "일"}.
/// \throws std::invalid_argument naming the byte offset for text that is not UTF-8
std::vector<std::string> utf8_symbols(const std::string& text);

/// The terminal columns `text` takes, as wcwidth counts them: two for each wide
/// character (Hangul, CJK ideographs, full-width forms and emoji, the "W" and "F"
/// classes of Unicode's East Asian Width), one for every other code point.
/// \throws std::invalid_argument as utf8_symbols for text that is not UTF-8
int64_t display_width(const std::string& text);

}  // namespace minigrad::examples
