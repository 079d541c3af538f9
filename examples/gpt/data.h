// The text of the GPT example, character by character, and the batches it trains on.
//
// The corpus is Debian's fortunes (packages fortunes and fortunes-min, in
// /usr/share/games/fortunes): every file without an extension, by name, except
// ascii-art, whose entries are pictures drawn with characters, not English (the
// file art holds jokes about art and stays). A file holds fortunes separated by
// lines holding only "%":
//
//   A celebrity is a person who is known for his well-knownness.
//   %
//   Chicken Little only has to be right once.
//   %
//
// Each fortune, with the trailing whitespace of every line and the blank lines at
// its start and end removed, is followed by "\n%\n", so that the model learns
// where a fortune ends. Fortune i, counted over the whole corpus in file order, is
// held out for validation when i % 10 == 9: one in ten of every file, so each file
// of ten fortunes or more (all but pratchett, which has one) is in both parts. That gives
// 2,308,695 training and 262,032 validation characters from 15,207 fortunes of 42
// files (tools/gpt_fortunes.py builds the same split in Python).
//
// The characters are code points (UTF-8, decoded strictly). The vocabulary keeps
// tab, newline and the 95 printable ASCII characters ' '..'~', and maps every
// other character (405 in training, 7 in validation: 'é', 'ü', '£', the
// backspaces and bells of old terminal tricks, and curly quotes that an earlier
// program decoded as Latin-1) to one unknown symbol, U+FFFD: 98 symbols in all.
//
// --data FILE trains on any UTF-8 text instead: its first 90 % of characters for
// training, the last 10 % for validation (nanoGPT's split), and a vocabulary of the
// characters the file holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "examples/common/task.h"
#include "minigrad/tensor/random.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::examples {

/// Where Debian's fortunes packages put their files.
inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

// ---- the vocabulary ---------------------------------------------------------------------

/// Characters ↔ ids: id i is the i-th symbol, the symbols sorted by code point.
/// A vocabulary may have an unknown symbol, which every character outside it
/// encodes to; one without refuses such characters.
class TextVocabulary {
 public:
  /// The symbol the fortunes' vocabulary maps unknown characters to, and decodes
  /// them as: U+FFFD REPLACEMENT CHARACTER ('�'), after all of ASCII, so last.
  static constexpr char32_t kUnknownSymbol = U'\uFFFD';

  /// \param symbols distinct code points in increasing order (id order)
  /// \param unknown the symbol unknown characters map to; one of `symbols`
  /// \throws std::invalid_argument for no symbols, symbols out of order or repeated,
  ///         a surrogate or a value past U+10FFFF, or an unknown symbol not among them
  explicit TextVocabulary(std::u32string symbols, std::optional<char32_t> unknown = std::nullopt);

  /// The fortunes' 98: tab, newline, ' '..'~' (ids 0, 1, 2..96) and kUnknownSymbol (97).
  static TextVocabulary printable_ascii();
  /// Every distinct character of `text`, sorted; no unknown symbol.
  /// \throws std::invalid_argument for an empty text
  static TextVocabulary of_text(std::u32string_view text);

  /// The number of symbols.
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  /// Every symbol, by id.
  const std::u32string& symbols() const { return symbols_; }
  /// The id of the unknown symbol, if the vocabulary has one.
  std::optional<int32_t> unknown_id() const { return unknown_id_; }
  /// Whether `c` is one of the symbols (the unknown symbol itself included).
  bool contains(char32_t c) const;

  /// The id of `c`; a character outside the vocabulary is the unknown id.
  /// \throws std::invalid_argument naming the character (U+XXXX) when it is outside
  ///         and the vocabulary has no unknown symbol
  int32_t id(char32_t c) const;
  /// The symbol of `id`. \throws std::out_of_range outside [0, size())
  char32_t symbol(int32_t id) const;

  /// The ids of the characters of `text`, as id() maps them.
  std::vector<int32_t> encode(std::u32string_view text) const;
  /// The ids of UTF-8 text. \throws std::invalid_argument for text that is not UTF-8
  std::vector<int32_t> encode(std::string_view utf8) const;
  /// The characters of `ids`. \throws std::out_of_range for an id outside [0, size())
  std::u32string decode_characters(const std::vector<int32_t>& ids) const;
  /// The characters of `ids` as UTF-8, what a terminal prints.
  std::string decode(const std::vector<int32_t>& ids) const;
  /// The same for an int64 tensor of ids of any shape, in row-major order (what a
  /// sampler returns). \throws std::invalid_argument for another dtype
  std::string decode(const Tensor& ids) const;

  /// Same symbols and same unknown symbol.
  bool operator==(const TextVocabulary& other) const = default;

 private:
  std::u32string symbols_;
  std::optional<int32_t> unknown_id_;
};

/// A character as an error message shows it: 'a', '\n', '\t', or U+00E9 for
/// anything outside printable ASCII.
std::string describe_character(char32_t c);

// ---- the corpus -------------------------------------------------------------------------

/// A text split for a character model: the vocabulary and the ids of each part.
struct TextSplit {
  TextVocabulary vocabulary;        ///< the symbols of both parts
  std::vector<int32_t> train;       ///< the training characters, as ids
  std::vector<int32_t> validation;  ///< the held-out characters, as ids
};

/// One fortune: the file it comes from and its text, "\n%\n" at its end included.
struct Fortune {
  std::string file;     ///< the file's name ("computers")
  std::u32string text;  ///< its lines, trimmed as the header says, then "\n%\n"
};

/// The names of the files load_fortunes reads from `dir`, sorted: every regular
/// file whose name has no '.' (so not the .dat and .u8 indexes, nor symlinks),
/// except ascii-art.
/// \throws std::runtime_error naming `dir` and `apt-get install fortunes` when the
///         folder does not exist or has no such file
std::vector<std::string> fortune_files(const std::string& dir = kFortunesDir);

/// Every fortune of fortune_files(dir), file by file, in file order; fortunes that
/// are empty after trimming (as between two "%" lines) are left out.
/// \throws std::runtime_error as fortune_files, and naming the file and the byte for
///         one that is not UTF-8 or holds a NUL byte
std::vector<Fortune> read_fortunes(const std::string& dir = kFortunesDir);

/// The fortunes split by fortune (index % 10 == 9 held out), encoded with
/// TextVocabulary::printable_ascii(). Throws as read_fortunes.
TextSplit load_fortunes(const std::string& dir = kFortunesDir);

/// Any UTF-8 text file: the first ⌊0.9·n⌋ of its n characters for training, the
/// rest for validation, the vocabulary of_text(the whole file).
/// \throws std::runtime_error naming `path` for a file that cannot be read, is empty,
///         holds a NUL byte (a binary file, not text: naming the byte) or is not UTF-8
///         (naming the byte where the bad character starts)
TextSplit load_text(const std::string& path);

// ---- checkpoints ------------------------------------------------------------------------

/// Adds `vocabulary` to the metadata of the safetensors checkpoint at `path`:
///
///     "vocabulary"          the symbols in id order, as UTF-8
///     "vocabulary_unknown"  the unknown symbol, as UTF-8 (absent without one)
///
/// The file is read whole and written again atomically (write_safetensors), its
/// tensors and other metadata kept; a failure leaves the old file.
/// \throws std::runtime_error naming `path` when it cannot be read or written
void save_vocabulary(const std::string& path, const TextVocabulary& vocabulary);

/// The vocabulary save_vocabulary put into the checkpoint at `path`.
/// \throws std::runtime_error naming `path` when the file cannot be read, holds no
///         vocabulary, or holds one that is not a vocabulary (not UTF-8, unsorted)
TextVocabulary load_vocabulary(const std::string& path);

/// Checks that the checkpoint at `path` was trained on `vocabulary`: a model whose
/// id 5 meant 'a' reads garbage when id 5 means 'b'.
/// \throws std::runtime_error naming `path`, both sizes and the first id whose
///         symbols differ; or as load_vocabulary
void check_vocabulary(const std::string& path, const TextVocabulary& vocabulary);

// ---- batches ----------------------------------------------------------------------------

/// nanoGPT's get_batch: `batch` windows of `block` + 1 consecutive ids, each at an
/// offset drawn from `gen` uniformly in [0, n − block), row by row:
///
///     source[b, t] = ids[o_b + t]      target[b, t] = ids[o_b + t + 1]
///
/// so target is source shifted by one: at every position the next character.
/// \return int64 [batch, block] tensors, what nn::Embedding and nn::cross_entropy take
/// \throws std::invalid_argument unless batch > 0, block > 0 and ids.size() > block
Batch sample_batch(const std::vector<int32_t>& ids, int64_t batch, int64_t block, Generator& gen);

/// `count` batches of sample_batch drawn from a generator of their own seeded with
/// `seed`: the same batches at every call, whatever the training has drawn, so the
/// losses on them are comparable from one evaluation to the next.
/// \throws std::invalid_argument as sample_batch, or for count < 1
std::vector<Batch> fixed_batches(const std::vector<int32_t>& ids, int64_t count, int64_t batch,
                                 int64_t block, uint64_t seed);

/// Every non-overlapping window of `block` + 1 ids, at offsets 0, block, 2·block, ...
/// (consecutive windows share their boundary id: one's last target is the next
/// one's first source), in batches of up to `batch` windows, the last batch the
/// remainder. All of them together predict the first block·⌊(n − 1)/block⌋ targets
/// of ids[1..] once each: summing the loss over every batch and dividing by
/// targets() gives the loss on the whole split. (262,032 validation characters at
/// block 64: 4,094 windows, 262,016 targets.)
///
///     for (const Batch& b : NonOverlappingWindows(split.validation, 12, 64)) ...
class NonOverlappingWindows {
 public:
  /// \throws std::invalid_argument unless batch > 0, block > 0 and ids.size() > block
  NonOverlappingWindows(std::vector<int32_t> ids, int64_t batch, int64_t block);

  /// The number of windows, ⌊(n − 1)/block⌋.
  int64_t size() const { return windows_; }
  /// The number of targets, size()·block.
  int64_t targets() const { return windows_ * block_; }
  /// The number of batches, ⌈size()/batch⌉.
  int64_t batches() const { return (windows_ + batch_ - 1) / batch_; }
  /// Batch `index`: windows index·batch .. (as int64 [rows, block] tensors).
  /// \throws std::out_of_range outside [0, batches())
  Batch batch(int64_t index) const;

  /// Walks the batches in order.
  class Iterator {
   public:
    /// The batch here.
    Batch operator*() const { return windows_->batch(index_); }
    /// The next batch.
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    /// Whether the two are at the same batch.
    bool operator==(const Iterator& other) const = default;

   private:
    friend class NonOverlappingWindows;
    Iterator(const NonOverlappingWindows* windows, int64_t index)
        : windows_(windows), index_(index) {}
    const NonOverlappingWindows* windows_;
    int64_t index_;
  };
  /// The first batch.
  Iterator begin() const { return Iterator(this, 0); }
  /// Past the last batch.
  Iterator end() const { return Iterator(this, batches()); }

 private:
  std::vector<int32_t> ids_;
  int64_t batch_, block_, windows_;
};

// ---- baselines --------------------------------------------------------------------------

/// What a model that knows no more than n − 1 characters of context scores: the
/// cross-entropy, in nats per character, of the validation text under add-k
/// smoothed n-gram models fit on the training text.
struct NgramBaselines {
  double uniform = 0.0;  ///< ln V: every symbol equally likely
  double unigram = 0.0;  ///< p(c) = (N(c) + k) / (N + kV)
  double bigram = 0.0;   ///< p(c | a) = (N(a c) + k) / (N(a ·) + kV)
  double trigram = 0.0;  ///< p(c | a b) = (N(a b c) + k) / (N(a b ·) + kV)
};

/// The baselines of NgramBaselines, with N(·) counted over `train` (N(a ·) the
/// bigrams that start with a) and the loss averaged over every character of
/// `validation`: the first, which has no predecessor, is scored by the unigram in
/// all three models, and the second by the bigram in the trigram model.
/// \throws std::invalid_argument for empty splits, vocab_size < 1, k ≤ 0 or an id
///         outside [0, vocab_size)
NgramBaselines ngram_baselines(const std::vector<int32_t>& train,
                               const std::vector<int32_t>& validation, int64_t vocab_size,
                               double k = 0.1);

}  // namespace minigrad::examples
