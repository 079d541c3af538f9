// The data of the date-translation example (examples/date_translation/dates.h): the
// calendar and its weekdays, every format, texts that name one date only, the
// character vocabularies (a Korean syllable is one symbol), encoding and decoding,
// the held-out split, draws that depend on the seed alone, and bad arguments.
#include "examples/date_translation/dates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "testing.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;
using minigrad::testing::throws_with;

// ---- the calendar ------------------------------------------------------------------------------

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Walks the century day by day with the rules of the Gregorian calendar: date_at,
// date_index, iso_date and parse_iso_date agree with it everywhere, and the weekday
// moves on by one each day.
TEST(Dates, EveryDayOfTheCenturyRoundTrips) {
  Date d{kFirstYear, 1, 1};
  int64_t days = 0;
  for (int y = kFirstYear; y <= kLastYear; ++y) days += leap(y) ? 366 : 365;
  ASSERT_EQ(date_count(), days);
  int previous = weekday(d) + 6;
  for (int64_t i = 0; i < date_count(); ++i) {
    ASSERT_EQ(date_at(i), d) << i;
    ASSERT_EQ(date_index(d), i);
    ASSERT_EQ(parse_iso_date(iso_date(d)), d);
    ASSERT_EQ(weekday(d), (previous + 1) % 7) << iso_date(d);
    previous = weekday(d);
    if (++d.day > days_in(d.year, d.month)) d.day = 1, ++d.month;  // the next day
    if (d.month > 12) d.month = 1, ++d.year;
  }
  EXPECT_EQ(d, (Date{kLastYear + 1, 1, 1}));
  EXPECT_EQ(iso_date({1979, 5, 3}), "1979-05-03");
}

TEST(Dates, WeekdaysAreThoseOfTheCalendar) {
  struct Known {
    Date date;
    int weekday;  // 0 = Monday
  };
  for (const Known& k : {Known{{1979, 5, 3}, 3},       // a Thursday
                         Known{{2000, 2, 29}, 1},      // a Tuesday
                         Known{{1950, 1, 1}, 6},       // a Sunday
                         Known{{1969, 7, 20}, 6},      // the Moon landing, a Sunday
                         Known{{2001, 9, 11}, 1},      // a Tuesday
                         Known{{2049, 12, 31}, 4}}) {  // a Friday
    EXPECT_EQ(weekday(k.date), k.weekday) << iso_date(k.date);
  }
  EXPECT_EQ(format_date({2000, 2, 29}, DateFormat::kWeekdayMonthDayYear),
            "Tuesday, February 29, 2000");
  EXPECT_EQ(format_date({2000, 2, 29}, DateFormat::kKoreanWeekday), "2000년 2월 29일 화요일");
  EXPECT_EQ(format_date({1950, 1, 1}, DateFormat::kShortWeekdayDayMonYear), "Sun, 1 Jan 1950");
  EXPECT_EQ(format_date({1950, 1, 1}, DateFormat::kKoreanWeekday), "1950년 1월 1일 일요일");
}

// ---- the formats -----------------------------------------------------------------------------

// The table of dates.h, row by row, and each format for a date with two-digit day and
// month and a long month name.
TEST(DateFormats, EachFormatWritesItsRowOfTheTable) {
  const std::vector<std::vector<std::string>> table = {
      {"D Month YYYY", "3 May 1979", "27 September 2012"},
      {"DD Month YYYY", "03 May 1979", "27 September 2012"},
      {"Dth Month YYYY", "3rd May 1979", "27th September 2012"},
      {"Month D, YYYY", "May 3, 1979", "September 27, 2012"},
      {"Mon D, YYYY", "May 3, 1979", "Sep 27, 2012"},
      {"Weekday, Month D, YYYY", "Thursday, May 3, 1979", "Thursday, September 27, 2012"},
      {"Weekday D Month YYYY", "Thursday 3 May 1979", "Thursday 27 September 2012"},
      {"Wkd, D Mon YYYY", "Thu, 3 May 1979", "Thu, 27 Sep 2012"},
      {"D MON YYYY", "3 MAY 1979", "27 SEP 2012"},
      {"month D YYYY", "may 3 1979", "september 27 2012"},
      {"DD/MM/YY", "03/05/79", "27/09/12"},
      {"DD/MM/YYYY", "03/05/1979", "27/09/2012"},
      {"YY.MM.DD", "79.05.03", "12.09.27"},
      {"YYYY. M. D.", "1979. 5. 3.", "2012. 9. 27."},
      {"YYYY년 M월 D일", "1979년 5월 3일", "2012년 9월 27일"},
      {"YYYY년 M월 D일 W요일", "1979년 5월 3일 목요일", "2012년 9월 27일 목요일"},
      {"YY년 M월 D일", "79년 5월 3일", "12년 9월 27일"},
  };
  ASSERT_EQ(table.size(), all_date_formats().size());
  for (size_t i = 0; i < table.size(); ++i) {
    const DateFormat f = all_date_formats()[i];
    EXPECT_EQ(static_cast<size_t>(f), i);
    EXPECT_EQ(date_format_pattern(f), table[i][0]);
    EXPECT_EQ(format_date({1979, 5, 3}, f), table[i][1]);
    EXPECT_EQ(format_date({2012, 9, 27}, f), table[i][2]);
  }
  // Ordinals: 1st 2nd 3rd 4th, 11th 12th 13th, 21st 22nd 23rd, 31st.
  std::string ordinals;
  for (int day : {1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31})
    ordinals += format_date({2000, 1, day}, DateFormat::kOrdinalDayMonthYear).substr(0, 4);
  EXPECT_EQ(ordinals, "1st 2nd 3rd 4th 11th12th13th21st22nd23rd31st");
}

// Every format of every date of the century: no text names two dates, none is the
// ISO target itself, the source vocabulary is exactly the characters written, and
// the longest text is kSourceLength symbols.
TEST(DateFormats, NoTextNamesTwoDatesAndTheVocabularyIsExactlyTheirCharacters) {
  std::unordered_map<std::string, int64_t> date_of;
  date_of.reserve(static_cast<size_t>(date_count()) * kDateFormatCount);
  std::set<std::string> written;
  size_t longest = 0;
  for (int64_t i = 0; i < date_count(); ++i) {
    const Date d = date_at(i);
    for (const DateFormat f : all_date_formats()) {
      const std::string text = format_date(d, f);
      const auto [it, fresh] = date_of.emplace(text, i);
      ASSERT_TRUE(fresh || it->second == i)
          << "\"" << text << "\" names " << iso_date(date_at(it->second)) << " and " << iso_date(d);
      ASSERT_NE(text, iso_date(d));
      if (!fresh) continue;
      const std::vector<std::string> symbols = utf8_symbols(text);
      written.insert(symbols.begin(), symbols.end());
      longest = std::max(longest, symbols.size());
    }
  }
  EXPECT_EQ(static_cast<int64_t>(longest), kSourceLength);
  const std::vector<std::string>& vocab = source_vocabulary().symbols();
  EXPECT_EQ(vocab.front(), "<pad>");
  EXPECT_EQ(std::set<std::string>(vocab.begin() + 1, vocab.end()), written);
  EXPECT_TRUE(std::is_sorted(vocab.begin() + 1, vocab.end()));  // code point order
}

// ---- characters, vocabularies, encoding --------------------------------------------------------

TEST(DateVocabulary, AKoreanCharacterIsOneSymbol) {
  const std::vector<std::string> symbols = utf8_symbols("1979년 5월 3일 목요일");
  EXPECT_EQ(symbols, (std::vector<std::string>{"1", "9", "7", "9", "년", " ", "5", "월", " ", "3",
                                               "일", " ", "목", "요", "일"}));
  const CharVocabulary& v = source_vocabulary();
  for (const std::string s : {"년", "월", "일", "요", "월", "화", "수", "목", "금", "토"}) {
    EXPECT_EQ(s.size(), 3u) << s;     // three UTF-8 bytes...
    EXPECT_EQ(v.symbol(v.id(s)), s);  // ...one symbol, one id
  }
  const Tensor ids = encode_sources({"1979년 5월 3일 목요일"});
  EXPECT_EQ(ids.shape(), (Shape{1, kSourceLength}));
  const std::vector<int64_t> row = ids.to_vector<int64_t>();
  EXPECT_EQ(row[4], v.id("년"));
  EXPECT_EQ(row[14], v.id("일"));
  EXPECT_EQ(row[15], kPad);
  EXPECT_EQ(decode_source(ids.select(0, 0)), "1979년 5월 3일 목요일");
  // Other scripts split by code point too: two bytes, four bytes.
  EXPECT_EQ(utf8_symbols("é😀a"), (std::vector<std::string>{"é", "😀", "a"}));
}

TEST(DateVocabulary, TargetsAreStartDigitsDashEnd) {
  const CharVocabulary& v = target_vocabulary();
  EXPECT_EQ(v.size(), 14);
  EXPECT_EQ(v.symbol(kPad), "<pad>");
  EXPECT_EQ(v.symbol(kStart), "<start>");
  EXPECT_EQ(v.symbol(kEnd), "<end>");
  const Tensor t = encode_targets({"1979-05-03", "2049-12-31"});
  EXPECT_EQ(t.shape(), (Shape{2, kTargetLength}));
  const std::vector<int64_t> row = t.select(0, 0).to_vector<int64_t>();
  EXPECT_EQ(row.front(), kStart);
  EXPECT_EQ(row.back(), kEnd);
  EXPECT_EQ(row[5], v.id("-"));
  EXPECT_EQ(decode_target(t.select(0, 1)), "2049-12-31");
  // A model's prediction has no <start>, and may stop early or run on after <end>.
  EXPECT_EQ(decode_target(t.select(0, 0).slice(0, 1, kTargetLength)), "1979-05-03");
  EXPECT_EQ(decode_target(Tensor::from_vector<int64_t>({v.id("1"), kEnd, v.id("2")}, {3})), "1");
  EXPECT_EQ(decode_target(Tensor::from_vector<int64_t>({kStart, v.id("7"), kPad}, {3})), "7");
}

TEST(DateData, BatchesDecodeToTheirPairs) {
  const DateData data;
  Generator gen(3);
  const DateBatch batch = data.sample(200, gen);
  ASSERT_EQ(batch.source.shape(), (Shape{200, kSourceLength}));
  ASSERT_EQ(batch.target.shape(), (Shape{200, kTargetLength}));
  ASSERT_EQ(batch.pairs.size(), 200u);
  for (int64_t b = 0; b < 200; ++b) {
    const DatePair& p = batch.pairs[static_cast<size_t>(b)];
    EXPECT_EQ(p.source, format_date(p.date, p.format));
    EXPECT_EQ(p.target, iso_date(p.date));
    EXPECT_EQ(decode_source(batch.source.select(0, b)), p.source);
    EXPECT_EQ(decode_target(batch.target.select(0, b)), p.target);
  }
  for (int64_t b = 0; b < data.heldout().source.size(0); b += 97) {
    const DatePair& p = data.heldout().pairs[static_cast<size_t>(b)];
    EXPECT_EQ(decode_source(data.heldout().source.select(0, b)), p.source);
    EXPECT_EQ(decode_target(data.heldout().target.select(0, b)), p.target);
  }
}

// ---- the split and the draws -------------------------------------------------------------

TEST(DateData, HeldOutDatesNeverReachTraining) {
  const DateData data;
  const std::vector<DatePair>& heldout = data.heldout().pairs;
  ASSERT_EQ(static_cast<int64_t>(heldout.size()), DateData::kHeldOutSize);
  std::set<int64_t> held;
  std::set<DateFormat> formats;
  for (const DatePair& p : heldout) {
    EXPECT_TRUE(data.is_heldout(p.date));
    held.insert(date_index(p.date));
    formats.insert(p.format);
  }
  EXPECT_EQ(held.size(), heldout.size());                         // 1,000 different dates
  EXPECT_EQ(static_cast<int>(formats.size()), kDateFormatCount);  // in every format
  EXPECT_LT(date_at(*held.begin()).year, kFirstYear + 5);         // spread over the century
  EXPECT_GT(date_at(*held.rbegin()).year, kLastYear - 5);
  // The training dates are all the others, none held out.
  const std::vector<int64_t>& train = data.train_indices();
  EXPECT_EQ(static_cast<int64_t>(train.size() + held.size()), date_count());
  for (const int64_t i : train) ASSERT_FALSE(held.count(i)) << iso_date(date_at(i));
  // 20,000 draws: none held out, every format drawn.
  Generator gen(11);
  std::set<DateFormat> drawn;
  for (const DatePair& p : data.sample_pairs(20000, gen)) {
    ASSERT_FALSE(data.is_heldout(p.date)) << p.source;
    drawn.insert(p.format);
  }
  EXPECT_EQ(static_cast<int>(drawn.size()), kDateFormatCount);
  // The split is fixed: another DateData holds out the same dates.
  EXPECT_EQ(DateData().heldout().pairs.front().source, heldout.front().source);
}

TEST(DateData, TheSameSeedDrawsTheSamePairs) {
  const DateData data;
  auto sources = [&](uint64_t seed) {
    Generator gen(seed);
    std::vector<std::string> out;
    for (const DatePair& p : data.sample_pairs(64, gen)) out.push_back(p.source);
    return out;
  };
  EXPECT_EQ(sources(7), sources(7));
  EXPECT_NE(sources(7), sources(8));
  Generator a(5), b(5);
  EXPECT_EQ(data.sample(16, a).source.to_vector<int64_t>(),
            data.sample(16, b).source.to_vector<int64_t>());
}

// ---- bad arguments ---------------------------------------------------------------------------

TEST(DateData, BadArgumentsThrowNamingTheValue) {
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<std::out_of_range>([] { date_at(-1); }, {"date_at", "-1"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([] { date_at(date_count()); }, {"date_at", "36525"}));
  EXPECT_TRUE(throws_with<E>([] { date_index({2023, 2, 29}); }, {"2023-2-29", "does not exist"}));
  EXPECT_TRUE(throws_with<E>([] { date_index({1979, 13, 1}); }, {"1979-13-1", "does not exist"}));
  EXPECT_TRUE(throws_with<E>([] { date_index({1979, 4, 0}); }, {"1979-4-0"}));
  EXPECT_TRUE(throws_with<E>([] { weekday({1949, 12, 31}); }, {"1949-12-31", "outside 1950"}));
  EXPECT_TRUE(throws_with<E>([] { format_date({2050, 1, 1}, DateFormat::kKorean); }, {"2050-1-1"}));
  EXPECT_TRUE(throws_with<E>(
      [] {
        format_date({1979, 5, 3}, DateFormat(17));
      },
      {"format_date", "no format 17"}));
  EXPECT_TRUE(throws_with<E>([] { date_format_pattern(DateFormat(-1)); }, {"no format -1"}));
  for (const char* text : {"1979-5-3", "1979/05/03", "79-05-03", "1979-02-30", "2050-01-01"})
    EXPECT_TRUE(throws_with<E>([&] { parse_iso_date(text); }, {"parse_iso_date", text})) << text;
  EXPECT_TRUE(throws_with<E>(
      [] {
        encode_targets({"1979-05-03", "3 May 1979"});
      },
      {"parse_iso_date", "3 May 1979"}));
  EXPECT_TRUE(throws_with<E>([] { encode_sources({"3 May 1979?"}); },
                             {"encode_sources", "'?'", "source vocabulary"}));
  EXPECT_TRUE(throws_with<E>([] { encode_sources({"3 May 1979"}, 9); },
                             {"encode_sources", "10 characters", "length 9"}));
  EXPECT_TRUE(throws_with<E>([] { encode_sources({"3"}, 0); }, {"encode_sources", "length"}));
  EXPECT_TRUE(throws_with<E>([] { utf8_symbols("ab\xff"); }, {"utf8_symbols", "byte 2"}));
  EXPECT_TRUE(throws_with<E>([] { utf8_symbols("\xeb\x85"); }, {"utf8_symbols", "byte 0"}));
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [] {
        decode_target(Tensor::from_vector<int64_t>({kStart, 99}, {2}));
      },
      {"id 99"}));
  EXPECT_TRUE(throws_with<E>(
      [] {
        decode_target(Tensor::from_vector<int64_t>({3, kStart, 4}, {3}));
      },
      {"decode_target", "<start> at position 1"}));
  EXPECT_TRUE(throws_with<E>(
      [] {
        decode_source(Tensor::zeros({2, 3}));
      },
      {"decode_source", "int64 row", "float32[2,3]"}));
  EXPECT_TRUE(throws_with<E>(
      [] {
        CharVocabulary({"<pad>"}, {"a", "b", "a"});
      },
      {"CharVocabulary", "\"a\" is given twice"}));
  EXPECT_TRUE(throws_with<E>([] { source_vocabulary().id("x"); }, {"\"x\"", "not in"}));
  EXPECT_TRUE(throws_with<E>([] { DateData(0); }, {"DateData", "heldout_size 0"}));
  EXPECT_TRUE(throws_with<E>([] { DateData(20000); }, {"DateData", "heldout_size 20000"}));
  const DateData data;
  Generator gen(1);
  EXPECT_TRUE(throws_with<E>([&] { data.sample(0, gen); }, {"batch_size", "0"}));
  EXPECT_TRUE(throws_with<E>([&] { data.sample_pairs(-3, gen); }, {"batch_size", "-3"}));
}

}  // namespace
