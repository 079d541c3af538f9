#include "examples/date_translation/dates.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <utility>

#include "minigrad/tensor/check.h"

namespace minigrad::examples {

namespace {

namespace chr = std::chrono;

constexpr std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};
constexpr std::array<const char*, 12> kShortMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<const char*, 7> kWeekdays = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                  "Friday", "Saturday", "Sunday"};
constexpr std::array<const char*, 7> kShortWeekdays = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
// 월요일 (Monday) ... 일요일 (Sunday): the day's syllable, then 요일.
constexpr std::array<const char*, 7> kKoreanWeekdays = {"월요일", "화요일", "수요일", "목요일",
                                                        "금요일", "토요일", "일요일"};

constexpr std::array<const char*, kDateFormatCount> kPatterns = {"D Month YYYY",
                                                                 "DD Month YYYY",
                                                                 "Dth Month YYYY",
                                                                 "Month D, YYYY",
                                                                 "Mon D, YYYY",
                                                                 "Weekday, Month D, YYYY",
                                                                 "Weekday D Month YYYY",
                                                                 "Wkd, D Mon YYYY",
                                                                 "D MON YYYY",
                                                                 "month D YYYY",
                                                                 "DD/MM/YY",
                                                                 "DD/MM/YYYY",
                                                                 "YY.MM.DD",
                                                                 "YYYY. M. D.",
                                                                 "YYYY년 M월 D일",
                                                                 "YYYY년 M월 D일 W요일",
                                                                 "YY년 M월 D일"};

const chr::sys_days kFirstDay = chr::sys_days{chr::year{kFirstYear} / chr::January / 1};

std::string date_text(const Date& d) {
  return std::to_string(d.year) + "-" + std::to_string(d.month) + "-" + std::to_string(d.day);
}

std::string two_digits(int v) {
  char buffer[4];
  std::snprintf(buffer, sizeof buffer, "%02d", v % 100);
  return buffer;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return s;
}

// 1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd 23rd ... 31st
std::string ordinal(int day) {
  const int tens = day / 10 % 10, ones = day % 10;
  const char* suffix = tens == 1 || ones > 3 || ones == 0 ? "th"
                       : ones == 1                        ? "st"
                       : ones == 2                        ? "nd"
                                                          : "rd";
  return std::to_string(day) + suffix;
}

// splitmix64's finaliser: the hash that picks the held-out dates.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

std::vector<DatePair> pairs_of(const std::vector<std::pair<int64_t, DateFormat>>& picks) {
  std::vector<DatePair> pairs;
  pairs.reserve(picks.size());
  for (const auto& [index, format] : picks) {
    const Date d = date_at(index);
    pairs.push_back({d, format, format_date(d, format), iso_date(d)});
  }
  return pairs;
}

DateBatch encode(std::vector<DatePair> pairs) {
  std::vector<std::string> sources, targets;
  for (const DatePair& p : pairs) sources.push_back(p.source), targets.push_back(p.target);
  return {encode_sources(sources), encode_targets(targets), std::move(pairs)};
}

// The ids of a row, after checking it is int64 [L].
std::vector<int64_t> row_ids(const Tensor& row, const char* op) {
  MINIGRAD_CHECK(row.dtype() == DType::Int64 && row.dim() == 1)
      << op << ": expected an int64 row [L], got " << dtype_name(row.dtype()) << row.shape();
  return row.contiguous().to_vector<int64_t>();
}

}  // namespace

// ---- dates -------------------------------------------------------------------------------------

int64_t date_count() {
  static const int64_t count =
      (chr::sys_days{chr::year{kLastYear + 1} / chr::January / 1} - kFirstDay).count();
  return count;
}

Date date_at(int64_t index) {
  MINIGRAD_CHECK_INDEX(index >= 0 && index < date_count())
      << "date_at: index " << index << " is outside [0, " << date_count() << ")";
  const chr::year_month_day ymd{kFirstDay + chr::days{index}};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

int64_t date_index(const Date& d) {
  const bool fits = d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31;
  const chr::year_month_day ymd{chr::year{d.year},
                                chr::month{static_cast<unsigned>(fits ? d.month : 1)},
                                chr::day{static_cast<unsigned>(fits ? d.day : 1)}};
  MINIGRAD_CHECK(fits && ymd.ok()) << "date " << date_text(d) << " does not exist";
  MINIGRAD_CHECK(d.year >= kFirstYear && d.year <= kLastYear)
      << "date " << date_text(d) << " is outside " << kFirstYear << "–" << kLastYear;
  return (chr::sys_days{ymd} - kFirstDay).count();
}

int weekday(const Date& d) {
  const int64_t index = date_index(d);
  return static_cast<int>(chr::weekday{kFirstDay + chr::days{index}}.iso_encoding()) - 1;
}

std::string iso_date(const Date& d) {
  date_index(d);  // checks it
  return std::to_string(d.year) + "-" + two_digits(d.month) + "-" + two_digits(d.day);
}

Date parse_iso_date(const std::string& text) {
  const bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                     std::all_of(text.begin(), text.end(),
                                 [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
  MINIGRAD_CHECK(shape) << "parse_iso_date: \"" << text << "\" is not YYYY-MM-DD";
  const Date d{std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2)),
               std::stoi(text.substr(8, 2))};
  try {
    date_index(d);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("parse_iso_date: \"" + text + "\": " + e.what());
  }
  return d;
}

// ---- formats -----------------------------------------------------------------------------------

const std::array<DateFormat, kDateFormatCount>& all_date_formats() {
  static const std::array<DateFormat, kDateFormatCount> formats = [] {
    std::array<DateFormat, kDateFormatCount> all{};
    for (int i = 0; i < kDateFormatCount; ++i) all[static_cast<size_t>(i)] = DateFormat(i);
    return all;
  }();
  return formats;
}

const char* date_format_pattern(DateFormat format) {
  const int i = static_cast<int>(format);
  MINIGRAD_CHECK(i >= 0 && i < kDateFormatCount) << "date_format_pattern: no format " << i;
  return kPatterns[static_cast<size_t>(i)];
}

std::string format_date(const Date& d, DateFormat format) {
  const int w = weekday(d);  // checks the date
  const std::string day = std::to_string(d.day), year = std::to_string(d.year);
  const std::string month = kMonths[static_cast<size_t>(d.month - 1)];
  const std::string mon = kShortMonths[static_cast<size_t>(d.month - 1)];
  const std::string korean = year + "년 " + std::to_string(d.month) + "월 " + day + "일";
  switch (format) {
    case DateFormat::kDayMonthYear:
      return day + " " + month + " " + year;
    case DateFormat::kPaddedDayMonthYear:
      return two_digits(d.day) + " " + month + " " + year;
    case DateFormat::kOrdinalDayMonthYear:
      return ordinal(d.day) + " " + month + " " + year;
    case DateFormat::kMonthDayYear:
      return month + " " + day + ", " + year;
    case DateFormat::kShortMonthDayYear:
      return mon + " " + day + ", " + year;
    case DateFormat::kWeekdayMonthDayYear:
      return std::string(kWeekdays[static_cast<size_t>(w)]) + ", " + month + " " + day + ", " +
             year;
    case DateFormat::kWeekdayDayMonthYear:
      return std::string(kWeekdays[static_cast<size_t>(w)]) + " " + day + " " + month + " " + year;
    case DateFormat::kShortWeekdayDayMonYear:
      return std::string(kShortWeekdays[static_cast<size_t>(w)]) + ", " + day + " " + mon + " " +
             year;
    case DateFormat::kUpperDayMonYear:
      return day + " " + upper(mon) + " " + year;
    case DateFormat::kLowerMonthDayYear:
      return lower(month) + " " + day + " " + year;
    case DateFormat::kSlashDayMonthShortYear:
      return two_digits(d.day) + "/" + two_digits(d.month) + "/" + two_digits(d.year);
    case DateFormat::kSlashDayMonthYear:
      return two_digits(d.day) + "/" + two_digits(d.month) + "/" + year;
    case DateFormat::kDotShortYearMonthDay:
      return two_digits(d.year) + "." + two_digits(d.month) + "." + two_digits(d.day);
    case DateFormat::kKoreanDots:
      return year + ". " + std::to_string(d.month) + ". " + day + ".";
    case DateFormat::kKorean:
      return korean;
    case DateFormat::kKoreanWeekday:
      return korean + " " + kKoreanWeekdays[static_cast<size_t>(w)];
    case DateFormat::kKoreanShortYear:
      return two_digits(d.year) + "년 " + std::to_string(d.month) + "월 " + day + "일";
  }
  MINIGRAD_CHECK(false) << "format_date: no format " << static_cast<int>(format);
  return {};
}

// ---- characters and vocabularies ---------------------------------------------------------------

CharVocabulary::CharVocabulary(std::vector<std::string> specials, std::vector<std::string> symbols)
    : symbols_(std::move(specials)) {
  symbols_.insert(symbols_.end(), symbols.begin(), symbols.end());
  for (size_t i = 0; i < symbols_.size(); ++i) {
    MINIGRAD_CHECK(!symbols_[i].empty()) << "CharVocabulary: symbol " << i << " is empty";
    MINIGRAD_CHECK(ids_.emplace(symbols_[i], static_cast<int64_t>(i)).second)
        << "CharVocabulary: \"" << symbols_[i] << "\" is given twice";
  }
}

int64_t CharVocabulary::id(const std::string& symbol) const {
  const auto it = ids_.find(symbol);
  MINIGRAD_CHECK(it != ids_.end())
      << "CharVocabulary: \"" << symbol << "\" is not in the vocabulary";
  return it->second;
}

const std::string& CharVocabulary::symbol(int64_t id) const {
  MINIGRAD_CHECK_INDEX(id >= 0 && id < size())
      << "CharVocabulary: id " << id << " is outside [0, " << size() << ")";
  return symbols_[static_cast<size_t>(id)];
}

const CharVocabulary& source_vocabulary() {
  static const CharVocabulary vocabulary = [] {
    // Every piece of text format_date puts together: names, digits, separators.
    std::string pieces = "0123456789 ,./년월일요st nd rd th";
    for (const char* m : kMonths) pieces += m + lower(m);
    for (const char* m : kShortMonths) pieces += m + upper(m);
    for (const char* w : kWeekdays) pieces += w;
    for (const char* w : kShortWeekdays) pieces += w;
    for (const char* w : kKoreanWeekdays) pieces += w;
    const std::vector<std::string> all = utf8_symbols(pieces);
    const std::set<std::string> symbols(all.begin(), all.end());  // byte order = code point order
    return CharVocabulary({"<pad>"}, {symbols.begin(), symbols.end()});
  }();
  return vocabulary;
}

const CharVocabulary& target_vocabulary() {
  static const CharVocabulary vocabulary({"<pad>", "<start>", "<end>"},
                                         {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "-"});
  return vocabulary;
}

Tensor encode_sources(const std::vector<std::string>& texts, int64_t length) {
  MINIGRAD_CHECK(length >= 1) << "encode_sources: length must be ≥ 1, got " << length;
  const CharVocabulary& vocabulary = source_vocabulary();
  std::vector<int64_t> ids(texts.size() * static_cast<size_t>(length), kPad);
  for (size_t n = 0; n < texts.size(); ++n) {
    const std::vector<std::string> symbols = utf8_symbols(texts[n]);
    MINIGRAD_CHECK(static_cast<int64_t>(symbols.size()) <= length)
        << "encode_sources: \"" << texts[n] << "\" has " << symbols.size()
        << " characters, more than the length " << length;
    for (size_t i = 0; i < symbols.size(); ++i) {
      MINIGRAD_CHECK(vocabulary.contains(symbols[i]))
          << "encode_sources: \"" << texts[n] << "\": '" << symbols[i]
          << "' is not in the source vocabulary";
      ids[n * static_cast<size_t>(length) + i] = vocabulary.id(symbols[i]);
    }
  }
  return Tensor::from_vector<int64_t>(ids, {static_cast<int64_t>(texts.size()), length});
}

Tensor encode_targets(const std::vector<std::string>& isos) {
  const CharVocabulary& vocabulary = target_vocabulary();
  std::vector<int64_t> ids;
  ids.reserve(isos.size() * kTargetLength);
  for (const std::string& iso : isos) {
    parse_iso_date(iso);  // checks it
    ids.push_back(kStart);
    for (const char c : iso) ids.push_back(vocabulary.id(std::string(1, c)));
    ids.push_back(kEnd);
  }
  return Tensor::from_vector<int64_t>(ids, {static_cast<int64_t>(isos.size()), kTargetLength});
}

std::string decode_source(const Tensor& row) {
  std::string text;
  for (const int64_t id : row_ids(row, "decode_source")) {
    if (id == kPad) break;
    text += source_vocabulary().symbol(id);
  }
  return text;
}

std::string decode_target(const Tensor& row) {
  const std::vector<int64_t> ids = row_ids(row, "decode_target");
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kStart && i == 0) continue;
    if (ids[i] == kEnd || ids[i] == kPad) break;
    MINIGRAD_CHECK(ids[i] != kStart) << "decode_target: <start> at position " << i;
    text += target_vocabulary().symbol(ids[i]);
  }
  return text;
}

// ---- the data set ------------------------------------------------------------------------------

DateData::DateData(int64_t heldout_size) {
  MINIGRAD_CHECK(heldout_size >= 1 && heldout_size <= date_count() / 2)
      << "DateData: heldout_size " << heldout_size << " is outside [1, " << date_count() / 2 << "]";
  std::vector<int64_t> by_hash(static_cast<size_t>(date_count()));
  for (size_t i = 0; i < by_hash.size(); ++i) by_hash[i] = static_cast<int64_t>(i);
  std::nth_element(by_hash.begin(), by_hash.begin() + heldout_size, by_hash.end(),
                   [](int64_t a, int64_t b) {
                     return mix(static_cast<uint64_t>(a)) < mix(static_cast<uint64_t>(b));
                   });
  heldout_mask_.assign(by_hash.size(), false);
  for (int64_t k = 0; k < heldout_size; ++k) heldout_mask_[static_cast<size_t>(by_hash[k])] = true;
  std::vector<std::pair<int64_t, DateFormat>> heldout;
  for (int64_t i = 0; i < date_count(); ++i) {
    if (!heldout_mask_[static_cast<size_t>(i)]) {
      train_.push_back(i);
    } else {
      const auto k = static_cast<int>(heldout.size());
      heldout.emplace_back(i, DateFormat(k % kDateFormatCount));
    }
  }
  heldout_ = encode(pairs_of(heldout));
}

bool DateData::is_heldout(const Date& date) const {
  return heldout_mask_[static_cast<size_t>(date_index(date))];
}

std::vector<DatePair> DateData::sample_pairs(int64_t batch_size, Generator& gen) const {
  MINIGRAD_CHECK(batch_size >= 1) << "DateData::sample: batch_size must be ≥ 1, got " << batch_size;
  std::vector<std::pair<int64_t, DateFormat>> picks;
  picks.reserve(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    const int64_t index =
        train_[static_cast<size_t>(gen.randint(0, static_cast<int64_t>(train_.size())))];
    picks.emplace_back(index, DateFormat(gen.randint(0, kDateFormatCount)));
  }
  return pairs_of(picks);
}

DateBatch DateData::sample(int64_t batch_size, Generator& gen) const {
  return encode(sample_pairs(batch_size, gen));
}

}  // namespace minigrad::examples
