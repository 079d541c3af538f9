// The data of the date-translation example: a date as people write it in, the ISO
// 8601 date out, character by character.
//
//   source "Thursday, May 3, 1979"    target "1979-05-03"
//   source "1979년 5월 3일 목요일"      target "1979-05-03"
//   source "03/05/79"                 target "1979-05-03"
//
// Dates run from 1950-01-01 to 2049-12-31 (36,525 days), in the proleptic Gregorian
// calendar; weekday names are computed, never drawn. The formats:
//
//   DateFormat                pattern                    3 May 1979
//   kDayMonthYear             D Month YYYY               3 May 1979
//   kPaddedDayMonthYear       DD Month YYYY              03 May 1979
//   kOrdinalDayMonthYear      Dth Month YYYY             3rd May 1979
//   kMonthDayYear             Month D, YYYY              May 3, 1979
//   kShortMonthDayYear        Mon D, YYYY                May 3, 1979 (Sep 27, 2012)
//   kWeekdayMonthDayYear      Weekday, Month D, YYYY     Thursday, May 3, 1979
//   kWeekdayDayMonthYear      Weekday D Month YYYY       Thursday 3 May 1979
//   kShortWeekdayDayMonYear   Wkd, D Mon YYYY            Thu, 3 May 1979 (RFC 5322's date)
//   kUpperDayMonYear          D MON YYYY                 3 MAY 1979
//   kLowerMonthDayYear        month D YYYY               may 3 1979
//   kSlashDayMonthShortYear   DD/MM/YY                   03/05/79
//   kSlashDayMonthYear        DD/MM/YYYY                 03/05/1979
//   kDotShortYearMonthDay     YY.MM.DD                   79.05.03
//   kKoreanDots               YYYY. M. D.                1979. 5. 3.
//   kKorean                   YYYY년 M월 D일             1979년 5월 3일
//   kKoreanWeekday            YYYY년 M월 D일 W요일       1979년 5월 3일 목요일
//   kKoreanShortYear          YY년 M월 D일               79년 5월 3일
//
// Month and Mon are English (September, Sep), Weekday and Wkd too (Thursday, Thu);
// W요일 is the Korean weekday, 월화수목금토일 for Monday to Sunday.
//
// One convention per separator, so that no text names two dates: a slash is always
// day/month/year (as in Britain and most of the world, never the American
// month/day/year), a dotted two-digit date is always year.month.day (as in Korea),
// and a two-digit year YY is 19YY for 50–99 and 20YY for 00–49. "YYYY-MM-DD" itself
// is never a source: it is the target.
//
// Tokens are characters: a UTF-8 code point is one symbol, so "목" is one token, not
// three bytes. The source vocabulary is <pad> and every character the formats can
// write; the target vocabulary is <pad>, <start>, <end>, the ten digits and '-'.
//
// The held-out set is 1,000 dates picked by a hash of the date, fixed whatever the
// seed; training pairs are drawn from the other 35,525 dates only, so held-out
// accuracy measures dates the model never saw (in any format).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "examples/common/utf8.h"
#include "minigrad/tensor/random.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::examples {

// ---- dates -----------------------------------------------------------------------------------

struct Date {
  int year = 1950;
  int month = 1;  // 1 = January
  int day = 1;    // 1..31
  bool operator==(const Date&) const = default;
};

constexpr int kFirstYear = 1950, kLastYear = 2049;
/// 36,525: the days from 1950-01-01 to 2049-12-31.
int64_t date_count();
/// The date `index` days after 1950-01-01. Throws std::out_of_range outside [0, date_count()).
Date date_at(int64_t index);
/// The inverse of date_at. Throws std::invalid_argument for a date that does not exist
/// (2023-02-29, month 13) or lies outside 1950–2049.
int64_t date_index(const Date& date);
/// 0 = Monday ... 6 = Sunday (ISO 8601's order). Throws as date_index.
int weekday(const Date& date);
/// "1979-05-03". Throws as date_index.
std::string iso_date(const Date& date);
/// The inverse of iso_date; throws std::invalid_argument, naming the text, for anything
/// but a "YYYY-MM-DD" of a date in range.
Date parse_iso_date(const std::string& text);

// ---- formats ---------------------------------------------------------------------------------

/// The formats of the table above, in its order.
enum class DateFormat {
  kDayMonthYear,
  kPaddedDayMonthYear,
  kOrdinalDayMonthYear,
  kMonthDayYear,
  kShortMonthDayYear,
  kWeekdayMonthDayYear,
  kWeekdayDayMonthYear,
  kShortWeekdayDayMonYear,
  kUpperDayMonYear,
  kLowerMonthDayYear,
  kSlashDayMonthShortYear,
  kSlashDayMonthYear,
  kDotShortYearMonthDay,
  kKoreanDots,
  kKorean,
  kKoreanWeekday,
  kKoreanShortYear,
};
constexpr int kDateFormatCount = 17;
/// Every format, in the table's order.
const std::array<DateFormat, kDateFormatCount>& all_date_formats();
/// The table's pattern: "D Month YYYY", "YYYY년 M월 D일", ...
const char* date_format_pattern(DateFormat format);
/// The date written in `format`. Throws as date_index for a bad date, and
/// std::invalid_argument for a value outside the enum.
std::string format_date(const Date& date, DateFormat format);

// ---- characters and vocabularies ------------------------------------------------------------

/// A text's characters are utf8_symbols (examples/common/utf8.h): "3일" → {"3", "일"}.

/// Symbols ↔ ids: the special symbols first (ids 0, 1, ...), then the others in the
/// order given.
class CharVocabulary {
 public:
  /// Throws std::invalid_argument for a symbol given twice or an empty one.
  CharVocabulary(std::vector<std::string> specials, std::vector<std::string> symbols);
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  bool contains(const std::string& symbol) const { return ids_.count(symbol) != 0; }
  /// Throws std::invalid_argument naming the symbol when it is not in the vocabulary.
  int64_t id(const std::string& symbol) const;
  /// Throws std::out_of_range for an id outside [0, size()).
  const std::string& symbol(int64_t id) const;
  /// Every symbol, by id.
  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  std::vector<std::string> symbols_;
  std::map<std::string, int64_t> ids_;
};

/// The special ids: <pad> is 0 in both vocabularies, <start> and <end> are the target's.
constexpr int64_t kPad = 0, kStart = 1, kEnd = 2;
/// <pad>, then every character format_date can write, in code point order.
const CharVocabulary& source_vocabulary();
/// <pad>, <start>, <end>, '0'..'9', '-'.
const CharVocabulary& target_vocabulary();

/// The longest source any format writes, in symbols ("Wednesday, September 27, 1979").
constexpr int64_t kSourceLength = 29;
/// <start>, the ten symbols of "YYYY-MM-DD", <end>.
constexpr int64_t kTargetLength = 12;

/// int64 [N, length]: each text's symbol ids, then <pad>. Throws std::invalid_argument
/// naming the text for a character outside the source vocabulary or a text longer
/// than `length` (≥ 1).
Tensor encode_sources(const std::vector<std::string>& texts, int64_t length = kSourceLength);
/// int64 [N, kTargetLength]: <start>, the ids of "YYYY-MM-DD", <end>. Throws
/// std::invalid_argument naming the text for anything but an ISO date (parse_iso_date).
Tensor encode_targets(const std::vector<std::string>& isos);
/// One row back to text: the symbols before the first <pad>. Throws std::invalid_argument
/// for a tensor that is not int64 [L], std::out_of_range for an id outside the vocabulary.
std::string decode_source(const Tensor& row);
/// One row (an encoded target, or a model's prediction) back to text: a leading
/// <start> is skipped, and the text ends at the first <end> or <pad>. A <start>
/// anywhere else is an error (std::invalid_argument); ids as decode_source.
std::string decode_target(const Tensor& row);

// ---- the data set ------------------------------------------------------------------------

struct DatePair {
  Date date;
  DateFormat format = DateFormat::kDayMonthYear;
  std::string source;  // format_date(date, format)
  std::string target;  // iso_date(date)
};

struct DateBatch {
  Tensor source;                // int64 [B, kSourceLength]
  Tensor target;                // int64 [B, kTargetLength]: <start> YYYY-MM-DD <end>
  std::vector<DatePair> pairs;  // what the rows encode
};

/// The split and the draws. The held-out dates are the `heldout_size` dates whose hash
/// (splitmix64 of the date's index) is smallest: spread over the whole century, the
/// same in every run. Held-out pair k writes its date in format k mod 17, so every
/// format is held out alike.
class DateData {
 public:
  static constexpr int64_t kHeldOutSize = 1000;

  /// Throws std::invalid_argument unless 1 ≤ heldout_size ≤ date_count() / 2 (the
  /// training dates must stay the larger part).
  explicit DateData(int64_t heldout_size = kHeldOutSize);

  bool is_heldout(const Date& date) const;
  /// B training pairs from `gen`: a date drawn uniformly from the training dates, then a
  /// format drawn uniformly. The same generator state gives the same pairs. Throws
  /// std::invalid_argument for batch_size < 1.
  std::vector<DatePair> sample_pairs(int64_t batch_size, Generator& gen) const;
  /// sample_pairs, encoded.
  DateBatch sample(int64_t batch_size, Generator& gen) const;
  /// The held-out pairs, in date order, encoded.
  const DateBatch& heldout() const { return heldout_; }
  /// The training dates' indices (date_at), in date order.
  const std::vector<int64_t>& train_indices() const { return train_; }

 private:
  std::vector<int64_t> train_;
  std::vector<bool> heldout_mask_;  // by date index
  DateBatch heldout_;
};

}  // namespace minigrad::examples
