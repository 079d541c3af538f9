// The data of the GPT example (examples/gpt/data.h): the fortunes split on folders
// made here and, when Debian's fortunes are installed, on the corpus itself (its
// counts, its vocabulary, its n-gram baselines); any text with --data; the
// vocabulary in and out of a checkpoint; the batches; the baselines by hand.
#include "examples/gpt/data.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "examples/common/utf8.h"
#include "minigrad/tensor/safetensors.h"
#include "testing.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;
using minigrad::testing::throws_with;
namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::vector<int32_t> ids_of(const Tensor& t) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < t.numel(); ++i) ids.push_back(static_cast<int32_t>(t.data<int64_t>()[i]));
  return ids;
}

// The skip message names the install command, so whoever sees it knows the fix.
#define SKIP_WITHOUT_FORTUNES()                                                        \
  if (!fs::is_directory(kFortunesDir))                                                 \
  GTEST_SKIP() << "the fortunes corpus is not installed: apt-get install -y fortunes " \
                  "fortunes-min"

// ---- the vocabulary ------------------------------------------------------------------------

TEST(GptData, PrintableAsciiHasTabNewlineThe95PrintablesAndOneUnknown) {
  const TextVocabulary v = TextVocabulary::printable_ascii();
  EXPECT_EQ(v.size(), 98);
  EXPECT_EQ(v.id(U'\t'), 0);
  EXPECT_EQ(v.id(U'\n'), 1);
  EXPECT_EQ(v.id(U' '), 2);
  EXPECT_EQ(v.id(U'~'), 96);
  EXPECT_EQ(v.unknown_id(), 97);
  EXPECT_EQ(v.symbol(97), TextVocabulary::kUnknownSymbol);
  for (int32_t id = 0; id < v.size(); ++id) EXPECT_EQ(v.id(v.symbol(id)), id);
}

TEST(GptData, UnknownCharactersAllMapToTheOneUnknownSymbol) {
  const TextVocabulary v = TextVocabulary::printable_ascii();
  // é, a bell, a backspace, a carriage return, a Hangul syllable, an emoji, U+FFFD itself
  const std::vector<int32_t> ids = v.encode(std::string("é\a\b\r일😀\xef\xbf\xbd"));
  EXPECT_EQ(ids, std::vector<int32_t>(7, 97));
  EXPECT_EQ(v.encode(std::string("a\té")), (std::vector<int32_t>{v.id(U'a'), 0, 97}));
  EXPECT_EQ(v.decode(v.encode(std::string("café\n"))), "caf\xef\xbf\xbd\n");
}

TEST(GptData, VocabularyRoundTripsTextOfItsCharacters) {
  const std::string text = "The 1st \"fortune\"\n\t-- anon\n%\n";
  const TextVocabulary ascii = TextVocabulary::printable_ascii();
  EXPECT_EQ(ascii.decode(ascii.encode(text)), text);

  const std::u32string korean = U"1979년 5월 3일 목요일, é😀";
  const TextVocabulary own = TextVocabulary::of_text(korean);
  EXPECT_EQ(own.size(),
            static_cast<int64_t>(std::set<char32_t>(korean.begin(), korean.end()).size()));
  EXPECT_FALSE(own.unknown_id().has_value());
  EXPECT_TRUE(std::is_sorted(own.symbols().begin(), own.symbols().end()));
  EXPECT_EQ(own.decode_characters(own.encode(korean)), korean);
  EXPECT_EQ(own.decode(own.encode(encode_utf8(korean))), encode_utf8(korean));
  // the tensor form, as a sampler returns ids
  const std::vector<int32_t> ids = own.encode(korean);
  std::vector<int64_t> wide(ids.begin(), ids.end());
  EXPECT_EQ(own.decode(Tensor::from_vector(wide, {1, static_cast<int64_t>(wide.size())})),
            encode_utf8(korean));
}

TEST(GptData, VocabularyRefusesWhatItCannotMean) {
  using E = std::invalid_argument;
  const TextVocabulary abc = TextVocabulary::of_text(U"cab");
  EXPECT_EQ(abc.symbols(), U"abc");
  EXPECT_TRUE(throws_with<E>([&] { abc.id(U'z'); }, {"TextVocabulary::id", "'z'", "no unknown"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { abc.symbol(3); }, {"id 3", "[0, 3)"}));
  EXPECT_TRUE(
      throws_with<std::out_of_range>([&] { abc.decode(std::vector<int32_t>{-1}); }, {"id -1"}));
  EXPECT_TRUE(throws_with<E>([] { TextVocabulary(U"ba"); }, {"TextVocabulary", "sorted"}));
  EXPECT_TRUE(throws_with<E>([] { TextVocabulary(U"aa"); }, {"distinct"}));
  EXPECT_TRUE(throws_with<E>([] { TextVocabulary(U""); }, {"no symbols"}));
  EXPECT_TRUE(throws_with<E>([] { TextVocabulary(U"ab", U'c'); }, {"unknown symbol 'c'"}));
  EXPECT_TRUE(
      throws_with<E>([] { TextVocabulary(std::u32string(1, char32_t{0xd800})); }, {"U+D800"}));
  EXPECT_TRUE(throws_with<E>([] { TextVocabulary::of_text(U""); }, {"empty"}));
  EXPECT_TRUE(throws_with<E>([&] { abc.encode(std::string("a\xff")); }, {"byte 1"}));
  EXPECT_TRUE(throws_with<E>([&] { abc.decode(Tensor::zeros({2})); }, {"float32", "int64"}));
}

// ---- UTF-8, strictly ----------------------------------------------------------------------

TEST(GptData, Utf8DecodingIsStrict) {
  using E = std::invalid_argument;
  EXPECT_EQ(decode_utf8("a\xc3\xa9\xea\xb0\x80\xf0\x9f\x98\x80"), U"aé가😀");
  EXPECT_EQ(encode_utf8(U"aé가😀\U0010FFFF"),
            "a\xc3\xa9\xea\xb0\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
  struct Bad {
    std::string bytes;
    const char* byte;
    const char* why;
  };
  for (const Bad& b :
       {Bad{"ab\x80", "byte 2", "continuation"},
        Bad{"a\xc0\xaf", "byte 1", "never uses"},       // overlong '/'
        Bad{"\xe0\x80\xaf", "byte 0", "overlong"},      // overlong '/'
        Bad{"\xf0\x80\x80\xaf", "byte 0", "overlong"},  // overlong '/'
        Bad{"x\xed\xa0\x80", "byte 1", "surrogate"},    // U+D800
        Bad{"\xf4\x90\x80\x80", "byte 0", "past U+10FFFF"},
        Bad{"\xf5\x80\x80\x80", "byte 0", "never uses"}, Bad{"ok\xe2\x82", "byte 2", "ends inside"},
        Bad{"\xe2\x28\xa1", "byte 0", "cut short"}}) {
    EXPECT_TRUE(throws_with<E>([&] { decode_utf8(b.bytes, "f.txt"); }, {"f.txt: ", b.byte, b.why}))
        << b.why;
    EXPECT_TRUE(throws_with<E>([&] { utf8_symbols(b.bytes); }, {"utf8_symbols", b.byte}));
  }
  EXPECT_TRUE(throws_with<E>([] { encode_utf8(std::u32string(1, char32_t{0x110000})); },
                             {"encode_utf8", "character 0"}));
}

// ---- fortunes, in a folder made here --------------------------------------------------------

class GptDataFiles : public minigrad::testing::TestWithDir {};

TEST_F(GptDataFiles, FortunesAreTrimmedEndedAndSplitOneInTen) {
  // b: a fortune with trailing spaces, a blank first line, and blank lines after
  write(path("b"), "%\n\nB1  \t\n  indented \n\n\n%\n%\nB2\n%\nB3");
  // a: three fortunes; the file ends without "%"
  write(path("a"), "A1 line one\nline two\n%\nA2\n%\nA3\n");
  write(path("c"), "C1\n%\nC2\n%\nC3\n%\nC4\n%\nC5\n%\n");
  // skipped: an index, a symlink, the pictures, a folder
  write(path("a.dat"), std::string("\0\0\0\2", 4));
  fs::create_symlink(path("a"), path("a.u8"));
  fs::create_symlink(path("a"), path("link"));
  write(path("ascii-art"), "  /\\_/\\\n ( o.o )\n%\n");
  fs::create_directory(path("sub"));

  EXPECT_EQ(fortune_files(dir_), (std::vector<std::string>{"a", "b", "c"}));
  const std::vector<Fortune> fortunes = read_fortunes(dir_);
  std::vector<std::u32string> texts;
  for (const Fortune& f : fortunes) texts.push_back(f.text);
  EXPECT_EQ(texts,
            (std::vector<std::u32string>{U"A1 line one\nline two\n%\n", U"A2\n%\n", U"A3\n%\n",
                                         U"B1\n  indented\n%\n", U"B2\n%\n", U"B3\n%\n", U"C1\n%\n",
                                         U"C2\n%\n", U"C3\n%\n", U"C4\n%\n", U"C5\n%\n"}));
  EXPECT_EQ(fortunes[3].file, "b");

  // Fortune 9 (C4) is the only one held out.
  const TextSplit split = load_fortunes(dir_);
  EXPECT_EQ(split.vocabulary, TextVocabulary::printable_ascii());
  EXPECT_EQ(split.vocabulary.decode(split.validation), "C4\n%\n");
  std::string train;
  for (size_t i = 0; i < texts.size(); ++i)
    if (i != 9) train += encode_utf8(texts[i]);
  EXPECT_EQ(split.vocabulary.decode(split.train), train);
}

TEST_F(GptDataFiles, AMissingCorpusOrABadFortuneFileIsAClearError) {
  using E = std::runtime_error;
  EXPECT_TRUE(throws_with<E>([&] { load_fortunes(path("nowhere")); },
                             {"nowhere", "apt-get install fortunes"}));
  EXPECT_TRUE(throws_with<E>([&] { load_fortunes(dir_); }, {"no fortune files", "apt-get"}));
  write(path("good"), "fine\n%\n");
  write(path("latin1"), "caf\xe9\n%\n");
  EXPECT_TRUE(throws_with<E>([&] { load_fortunes(dir_); }, {"latin1", "byte 3", "not UTF-8"}));
}

// ---- --data FILE ---------------------------------------------------------------------------

TEST_F(GptDataFiles, AnyTextSplitsNinetyTen) {
  const std::string text = "abcdefghij klmnopqrs éé";  // 23 characters, 25 bytes
  write(path("t.txt"), text);
  const TextSplit split = load_text(path("t.txt"));
  EXPECT_EQ(split.vocabulary.symbols(), U" abcdefghijklmnopqrsé");
  EXPECT_FALSE(split.vocabulary.unknown_id().has_value());
  EXPECT_EQ(split.train.size(), 20u);  // ⌊0.9 · 23⌋
  EXPECT_EQ(split.vocabulary.decode(split.train), "abcdefghij klmnopqrs");
  EXPECT_EQ(split.vocabulary.decode(split.validation), " éé");
}

TEST_F(GptDataFiles, EmptyInvalidOrBinaryTextIsRefusedNamingTheFileAndTheByte) {
  using E = std::runtime_error;
  write(path("empty.txt"), "");
  EXPECT_TRUE(throws_with<E>([&] { load_text(path("empty.txt")); }, {"empty.txt", "empty"}));
  write(path("latin1.txt"), "na\xefve text");
  EXPECT_TRUE(throws_with<E>([&] { load_text(path("latin1.txt")); },
                             {"latin1.txt", "byte 2", "not UTF-8"}));
  write(path("binary.bin"), std::string("\x7f"
                                        "ELF\x02\x01\x01\0\0",
                                        9));
  EXPECT_TRUE(throws_with<E>([&] { load_text(path("binary.bin")); },
                             {"binary.bin", "byte 7", "NUL", "binary"}));
  EXPECT_TRUE(
      throws_with<E>([&] { load_text(path("missing.txt")); }, {"missing.txt", "No such file"}));
  EXPECT_TRUE(throws_with<E>([&] { load_text(dir_); }, {"not a regular file"}));
}

// ---- the vocabulary in a checkpoint ----------------------------------------------------------

TEST_F(GptDataFiles, VocabularyGoesIntoACheckpointAndComesBack) {
  const std::string ckpt = path("model.safetensors");
  const Tensor w = Tensor::arange(0, 6, 1, DType::Float32).reshape({2, 3});
  const Tensor step = Tensor::from_vector(std::vector<int64_t>{7}, {1});
  write_safetensors(ckpt, {{"w", w}, {"training/step", step}}, {{"optimizer", "AdamW"}});
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { load_vocabulary(ckpt); },
                                              {"model.safetensors", "no vocabulary"}));

  for (const TextVocabulary& v :
       {TextVocabulary::printable_ascii(), TextVocabulary::of_text(U"\t\n\"\\ 가😀é")}) {
    save_vocabulary(ckpt, v);
    EXPECT_EQ(load_vocabulary(ckpt), v);
    check_vocabulary(ckpt, v);
    // the rest of the checkpoint is as it was
    const SafetensorsFile file = read_safetensors(ckpt);
    ASSERT_EQ(file.tensors.size(), 2u);
    EXPECT_EQ(file.at("w").to_vector<float>(), w.to_vector<float>());
    EXPECT_EQ(file.at("training/step").to_vector<int64_t>(), std::vector<int64_t>{7});
    EXPECT_EQ(file.metadata.at("optimizer"), "AdamW");
    EXPECT_EQ(file.metadata.count("vocabulary_unknown"), v.unknown_id() ? 1u : 0u);
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);  // no temp
}

TEST_F(GptDataFiles, ACheckpointOfAnotherVocabularyIsRefused) {
  using E = std::runtime_error;
  const std::string ckpt = path("model.safetensors");
  write_safetensors(ckpt, {{"w", Tensor::zeros({1})}});
  save_vocabulary(ckpt, TextVocabulary::of_text(U"abcd"));
  EXPECT_TRUE(throws_with<E>(
      [&] { check_vocabulary(ckpt, TextVocabulary::of_text(U"abde")); },
      {"model.safetensors", "differs", "id 2 is 'c' in the checkpoint", "'d' in the data"}));
  EXPECT_TRUE(throws_with<E>([&] { check_vocabulary(ckpt, TextVocabulary::of_text(U"abcde")); },
                             {"(4 symbols)", "(5 symbols)"}));
  EXPECT_TRUE(throws_with<E>([&] { check_vocabulary(ckpt, TextVocabulary(U"abcd", U'd')); },
                             {"unknown symbol is none in the checkpoint and 'd' in the data"}));
  // a vocabulary that is not one (written by hand) is refused, naming the file
  write_safetensors(ckpt, {{"w", Tensor::zeros({1})}}, {{"vocabulary", "ba"}});
  EXPECT_TRUE(throws_with<E>([&] { load_vocabulary(ckpt); }, {"model.safetensors", "sorted"}));
  EXPECT_TRUE(
      throws_with<E>([&] { save_vocabulary(path("none"), TextVocabulary(U"a")); }, {"none"}));
}

// ---- batches ---------------------------------------------------------------------------------

std::vector<int32_t> counting(int32_t n) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i;
  return ids;
}

TEST(GptData, SampledBatchesAreWindowsAndTheirTargetsTheNextCharacters) {
  const std::vector<int32_t> ids = counting(50);
  Generator gen(3);
  std::set<int64_t> offsets;
  for (int rep = 0; rep < 200; ++rep) {
    const Batch b = sample_batch(ids, 4, 8, gen);
    ASSERT_EQ(b.source.shape(), (Shape{4, 8}));
    ASSERT_EQ(b.target.shape(), (Shape{4, 8}));
    ASSERT_EQ(b.source.dtype(), DType::Int64);
    ASSERT_EQ(b.target.dtype(), DType::Int64);
    for (int64_t r = 0; r < 4; ++r) {
      const auto o = static_cast<int64_t>(b.source.at({r, 0}));
      offsets.insert(o);
      for (int64_t t = 0; t < 8; ++t) {
        ASSERT_EQ(b.source.at({r, t}), o + t);      // a window of the text
        ASSERT_EQ(b.target.at({r, t}), o + t + 1);  // shifted by one
      }
    }
  }
  // 800 draws over the 42 offsets [0, 50 − 8): every one, none past the end
  EXPECT_EQ(offsets.size(), 42u);
  EXPECT_EQ(*offsets.rbegin(), 41);

  // the smallest text that holds one window
  Generator g2(1);
  EXPECT_EQ(ids_of(sample_batch(counting(9), 1, 8, g2).target),
            (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { sample_batch(counting(8), 1, 8, g2); },
                                                 {"sample_batch", "8 ids", "block 8"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { sample_batch(ids, 0, 8, g2); },
                                                 {"sample_batch", "batch 0"}));
}

TEST(GptData, FixedBatchesAreTheSameAtEveryCallAndDependOnTheSeed) {
  const std::vector<int32_t> ids = counting(1000);
  const std::vector<Batch> a = fixed_batches(ids, 5, 3, 16, 42);
  const std::vector<Batch> b = fixed_batches(ids, 5, 3, 16, 42);
  const std::vector<Batch> c = fixed_batches(ids, 5, 3, 16, 43);
  ASSERT_EQ(a.size(), 5u);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(ids_of(a[i].source), ids_of(b[i].source));
    EXPECT_EQ(ids_of(a[i].target), ids_of(b[i].target));
    differs |= ids_of(a[i].source) != ids_of(c[i].source);
  }
  EXPECT_TRUE(differs);
  // They are sample_batch's draws from a generator of the seed: nothing else moves it.
  Generator gen(42);
  for (const Batch& batch : a)
    EXPECT_EQ(ids_of(batch.source), ids_of(sample_batch(ids, 3, 16, gen).source));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { fixed_batches(ids, 0, 3, 16, 1); },
                                                 {"fixed_batches", "count 0"}));
}

TEST(GptData, NonOverlappingWindowsPredictEveryTargetOnce) {
  // 262,032 ids at block 64: the fortunes' validation split
  const NonOverlappingWindows split(std::vector<int32_t>(262032, 0), 12, 64);
  EXPECT_EQ(split.size(), 4094);
  EXPECT_EQ(split.targets(), 262016);
  EXPECT_EQ(split.batches(), 342);  // 341 of 12 and one of 2
  EXPECT_EQ(split.batch(341).source.shape(), (Shape{2, 64}));

  // 23 ids, block 5: windows at 0, 5, 10, 15 predict ids 1..20
  const NonOverlappingWindows w(counting(23), 3, 5);
  EXPECT_EQ(w.size(), 4);
  EXPECT_EQ(w.targets(), 20);
  std::vector<int32_t> targets, sources;
  int64_t batches = 0;
  for (const Batch& b : w) {
    ++batches;
    const std::vector<int32_t> t = ids_of(b.target), s = ids_of(b.source);
    targets.insert(targets.end(), t.begin(), t.end());
    sources.insert(sources.end(), s.begin(), s.end());
  }
  EXPECT_EQ(batches, 2);
  std::vector<int32_t> want = counting(21);
  EXPECT_EQ(sources, std::vector<int32_t>(want.begin(), want.end() - 1));
  EXPECT_EQ(targets, std::vector<int32_t>(want.begin() + 1, want.end()));
  // exactly block + 1 ids make one window
  EXPECT_EQ(NonOverlappingWindows(counting(6), 3, 5).size(), 1);
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { w.batch(2); }, {"NonOverlappingWindows", "2"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { NonOverlappingWindows(counting(5), 3, 5); },
                                                 {"NonOverlappingWindows", "5 ids"}));
}

// ---- n-gram baselines -------------------------------------------------------------------------

TEST(GptData, NgramBaselinesOfATinyTextByHand) {
  // train "abab" (a=0, b=1), V = 3, k = 1; validation "abab"
  //   unigram: N(a) = N(b) = 2, N(c) = 0, N = 4:  p(a) = p(b) = 3/7
  //   bigram:  N(ab) = 2, N(ba) = 1, N(a·) = 2, N(b·) = 1:
  //            p(b|a) = 3/5, p(a|b) = 2/4
  //   trigram: N(aba) = N(bab) = 1, N(ab·) = N(ba·) = 1:  p(a|ab) = p(b|ba) = 2/4
  const std::vector<int32_t> train{0, 1, 0, 1}, val{0, 1, 0, 1};
  const NgramBaselines b = ngram_baselines(train, val, 3, 1.0);
  EXPECT_DOUBLE_EQ(b.uniform, std::log(3.0));
  EXPECT_DOUBLE_EQ(b.unigram, -std::log(3.0 / 7));
  // the first character is scored by the unigram, the second by the bigram
  const double first = std::log(3.0 / 7), second = std::log(3.0 / 5);
  EXPECT_NEAR(b.bigram, -(first + second + std::log(2.0 / 4) + std::log(3.0 / 5)) / 4, 1e-15);
  EXPECT_NEAR(b.trigram, -(first + second + std::log(2.0 / 4) + std::log(2.0 / 4)) / 4, 1e-15);
  // an unseen context gets the uniform k / kV
  const NgramBaselines unseen = ngram_baselines(train, {2, 2}, 3, 1.0);
  EXPECT_NEAR(unseen.bigram, -(std::log(1.0 / 7) + std::log(1.0 / 3)) / 2, 1e-15);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { ngram_baselines(train, {3}, 3); },
                                                 {"ngram_baselines", "validation id 3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { ngram_baselines({}, val, 3); },
                                                 {"ngram_baselines", "non-empty"}));
}

// ---- the corpus itself, when installed ---------------------------------------------------------

TEST(GptDataCorpus, FortunesSplitHasTheReferenceCountsAndCoversEveryFile) {
  SKIP_WITHOUT_FORTUNES();
  const std::vector<std::string> files = fortune_files();
  EXPECT_EQ(files.size(), 42u);
  EXPECT_EQ(std::count(files.begin(), files.end(), "ascii-art"), 0);
  EXPECT_EQ(std::count(files.begin(), files.end(), "art"), 1);

  const TextSplit split = load_fortunes();
  EXPECT_EQ(split.train.size(), 2308695u);
  EXPECT_EQ(split.validation.size(), 262032u);
  EXPECT_EQ(split.vocabulary.size(), 98);
  const auto unknowns = [](const std::vector<int32_t>& ids) {
    return std::count(ids.begin(), ids.end(), 97);
  };
  EXPECT_EQ(unknowns(split.train), 405);
  EXPECT_EQ(unknowns(split.validation), 7);
  // each split starts with a fortune and ends with its separator
  EXPECT_EQ(split.vocabulary.decode(
                std::vector<int32_t>(split.validation.end() - 3, split.validation.end())),
            "\n%\n");

  // Every file with ten fortunes or more has some in each part: ten consecutive
  // indices hold one i % 10 == 9. (pratchett, the one shorter file, has one fortune.)
  const std::vector<Fortune> fortunes = read_fortunes();
  EXPECT_EQ(fortunes.size(), 15207u);
  std::map<std::string, std::set<bool>> parts;
  std::map<std::string, int64_t> count;
  for (size_t i = 0; i < fortunes.size(); ++i) {
    parts[fortunes[i].file].insert(i % 10 == 9);
    ++count[fortunes[i].file];
  }
  EXPECT_EQ(parts.size(), files.size());
  for (const auto& [file, n] : count) {
    if (n >= 10) EXPECT_EQ(parts[file].size(), 2u) << file;
    if (n < 10) EXPECT_EQ(file, "pratchett");
  }
  const NonOverlappingWindows windows(split.validation, 12, 64);
  EXPECT_EQ(windows.size(), 4094);
  EXPECT_EQ(windows.targets(), 262016);
}

TEST(GptDataCorpus, NgramBaselinesAreTheReferenceFigures) {
  SKIP_WITHOUT_FORTUNES();
  const TextSplit split = load_fortunes();
  const NgramBaselines b = ngram_baselines(split.train, split.validation, split.vocabulary.size());
  // the reference figures of the PyTorch split
  EXPECT_NEAR(b.uniform, 4.585, 0.0005);
  EXPECT_NEAR(b.unigram, 3.31, 0.005);
  EXPECT_NEAR(b.bigram, 2.595, 0.002);
  EXPECT_NEAR(b.trigram, 2.133, 0.002);
  // and tools/gpt_fortunes.py's, to its four decimals
  EXPECT_NEAR(b.unigram, 3.3120, 5e-5);
  EXPECT_NEAR(b.bigram, 2.5948, 5e-5);
  EXPECT_NEAR(b.trigram, 2.1325, 5e-5);
}

}  // namespace
