#include "examples/gpt/data.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "examples/common/utf8.h"
#include "minigrad/tensor/atomic_file.h"
#include "minigrad/tensor/check.h"
#include "minigrad/tensor/safetensors.h"

namespace minigrad::examples {

namespace {

constexpr const char* kInstallHint = "apt-get install fortunes fortunes-min";

// Pictures drawn with characters, not English: a model of them learns to draw
// lines of '|' and '_', and they would be the only fortunes without words.
const char* const kExcludedFortuneFiles[] = {"ascii-art"};

// The characters of a text file: no NUL byte (a binary file), strict UTF-8. Errors
// are the file's, so std::runtime_error naming it and the byte.
std::u32string read_text_file(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  const size_t nul = bytes.find('\0');
  if (nul != std::string::npos) {
    throw std::runtime_error(path + ": byte " + std::to_string(nul) +
                             " is NUL: a binary file, not text");
  }
  try {
    return decode_utf8(bytes, path);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
}

bool is_trailing_space(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\r' || c == U'\v' || c == U'\f';
}

// The fortunes of one file's text, trimmed and each followed by "\n%\n".
std::vector<std::u32string> split_fortunes(const std::u32string& text) {
  std::vector<std::u32string> fortunes;
  std::vector<std::u32string> lines;
  const auto finish = [&] {
    const auto blank = [](const std::u32string& line) { return line.empty(); };
    const auto first = std::find_if_not(lines.begin(), lines.end(), blank);
    const auto last = std::find_if_not(lines.rbegin(), lines.rend(), blank).base();
    if (first < last) {
      std::u32string fortune;
      for (auto line = first; line != last; ++line) fortune += *line + U"\n";
      fortunes.push_back(fortune + U"%\n");
    }
    lines.clear();
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(U'\n', start);
    if (end == std::u32string::npos) end = text.size();
    size_t stop = end;
    while (stop > start && is_trailing_space(text[stop - 1])) --stop;
    std::u32string line = text.substr(start, stop - start);
    if (line == U"%") {
      finish();
    } else {
      lines.push_back(std::move(line));
    }
    start = end + 1;
  }
  finish();
  return fortunes;
}

// The loss of one character: -ln p with add-k smoothing, `count` the times the
// n-gram was seen and `context` the times its context was.
double add_k_nll(int64_t count, int64_t context, double k, int64_t vocab) {
  return -std::log((static_cast<double>(count) + k) /
                   (static_cast<double>(context) + k * static_cast<double>(vocab)));
}

template <class Map>
int64_t count_of(const Map& map, uint64_t key) {
  const auto it = map.find(key);
  return it == map.end() ? 0 : it->second;
}

}  // namespace

// ---- the vocabulary ---------------------------------------------------------------------

TextVocabulary::TextVocabulary(std::u32string symbols, std::optional<char32_t> unknown)
    : symbols_(std::move(symbols)) {
  MINIGRAD_CHECK(!symbols_.empty()) << "TextVocabulary: no symbols";
  for (size_t i = 0; i < symbols_.size(); ++i) {
    const char32_t c = symbols_[i];
    MINIGRAD_CHECK(c <= 0x10ffff && (c < 0xd800 || c > 0xdfff))
        << "TextVocabulary: symbol " << i << " is " << describe_character(c)
        << ", not a Unicode character";
    MINIGRAD_CHECK(i == 0 || symbols_[i - 1] < c)
        << "TextVocabulary: symbol " << i << " (" << describe_character(c)
        << ") does not come after symbol " << i - 1 << " (" << describe_character(symbols_[i - 1])
        << "): the symbols must be distinct and sorted";
  }
  if (unknown) {
    MINIGRAD_CHECK(contains(*unknown)) << "TextVocabulary: the unknown symbol "
                                       << describe_character(*unknown) << " is not a symbol";
    unknown_id_ = id(*unknown);
  }
}

TextVocabulary TextVocabulary::printable_ascii() {
  std::u32string symbols = U"\t\n";
  for (char32_t c = U' '; c <= U'~'; ++c) symbols.push_back(c);
  symbols.push_back(kUnknownSymbol);
  return TextVocabulary(std::move(symbols), kUnknownSymbol);
}

TextVocabulary TextVocabulary::of_text(std::u32string_view text) {
  MINIGRAD_CHECK(!text.empty()) << "TextVocabulary::of_text: the text is empty";
  std::u32string symbols(text);
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  return TextVocabulary(std::move(symbols));
}

bool TextVocabulary::contains(char32_t c) const {
  return std::binary_search(symbols_.begin(), symbols_.end(), c);
}

int32_t TextVocabulary::id(char32_t c) const {
  const auto it = std::lower_bound(symbols_.begin(), symbols_.end(), c);
  if (it != symbols_.end() && *it == c) return static_cast<int32_t>(it - symbols_.begin());
  MINIGRAD_CHECK(unknown_id_.has_value())
      << "TextVocabulary::id: " << describe_character(c) << " is not one of the " << size()
      << " symbols, and the vocabulary has no unknown symbol";
  return *unknown_id_;
}

char32_t TextVocabulary::symbol(int32_t id) const {
  MINIGRAD_CHECK_INDEX(id >= 0 && id < size())
      << "TextVocabulary::symbol: id " << id << " is outside [0, " << size() << ")";
  return symbols_[static_cast<size_t>(id)];
}

std::vector<int32_t> TextVocabulary::encode(std::u32string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (const char32_t c : text) ids.push_back(id(c));
  return ids;
}

std::vector<int32_t> TextVocabulary::encode(std::string_view utf8) const {
  return encode(decode_utf8(utf8, "TextVocabulary::encode"));
}

std::u32string TextVocabulary::decode_characters(const std::vector<int32_t>& ids) const {
  std::u32string text;
  text.reserve(ids.size());
  for (const int32_t id : ids) text.push_back(symbol(id));
  return text;
}

std::string TextVocabulary::decode(const std::vector<int32_t>& ids) const {
  return encode_utf8(decode_characters(ids));
}

std::string TextVocabulary::decode(const Tensor& ids) const {
  MINIGRAD_CHECK(ids.dtype() == DType::Int64)
      << "TextVocabulary::decode: ids of " << dtype_name(ids.dtype()) << " " << ids.shape()
      << ", expected int64";
  const Tensor c = ids.contiguous();
  const int64_t* p = c.data<int64_t>();
  std::vector<int32_t> list;
  list.reserve(static_cast<size_t>(c.numel()));
  for (int64_t i = 0; i < c.numel(); ++i) {
    MINIGRAD_CHECK_INDEX(p[i] >= 0 && p[i] < size())
        << "TextVocabulary::decode: id " << p[i] << " is outside [0, " << size() << ")";
    list.push_back(static_cast<int32_t>(p[i]));
  }
  return decode(list);
}

std::string describe_character(char32_t c) {
  if (c == U'\n') return "'\\n'";
  if (c == U'\t') return "'\\t'";
  if (c >= U' ' && c <= U'~') return {'\'', static_cast<char>(c), '\''};
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  return code;
}

// ---- the corpus -------------------------------------------------------------------------

std::vector<std::string> fortune_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw std::runtime_error("load_fortunes: no folder " + dir +
                             ": the fortunes corpus is Debian's, install it with " + kInstallHint);
  }
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_symlink() || !entry.is_regular_file() || name.find('.') != std::string::npos)
      continue;
    if (std::find(std::begin(kExcludedFortuneFiles), std::end(kExcludedFortuneFiles), name) !=
        std::end(kExcludedFortuneFiles))
      continue;
    files.push_back(name);
  }
  if (files.empty()) {
    throw std::runtime_error("load_fortunes: " + dir +
                             " holds no fortune files: install them with " + kInstallHint);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Fortune> read_fortunes(const std::string& dir) {
  std::vector<Fortune> fortunes;
  for (const std::string& file : fortune_files(dir)) {
    for (std::u32string& text : split_fortunes(read_text_file(dir + "/" + file)))
      fortunes.push_back({file, std::move(text)});
  }
  return fortunes;
}

TextSplit load_fortunes(const std::string& dir) {
  TextSplit split{TextVocabulary::printable_ascii(), {}, {}};
  const std::vector<Fortune> fortunes = read_fortunes(dir);
  for (size_t i = 0; i < fortunes.size(); ++i) {
    std::vector<int32_t>& part = i % 10 == 9 ? split.validation : split.train;
    const std::vector<int32_t> ids = split.vocabulary.encode(fortunes[i].text);
    part.insert(part.end(), ids.begin(), ids.end());
  }
  return split;
}

TextSplit load_text(const std::string& path) {
  const std::u32string text = read_text_file(path);
  if (text.empty()) throw std::runtime_error(path + ": the file is empty");
  TextSplit split{TextVocabulary::of_text(text), {}, {}};
  const size_t cut = text.size() * 9 / 10;
  split.train = split.vocabulary.encode(std::u32string_view(text).substr(0, cut));
  split.validation = split.vocabulary.encode(std::u32string_view(text).substr(cut));
  return split;
}

// ---- checkpoints ------------------------------------------------------------------------

namespace {
constexpr const char* kVocabularyKey = "vocabulary";
constexpr const char* kUnknownKey = "vocabulary_unknown";
}  // namespace

void save_vocabulary(const std::string& path, const TextVocabulary& vocabulary) {
  SafetensorsFile file = read_safetensors(path);
  file.metadata[kVocabularyKey] = encode_utf8(vocabulary.symbols());
  file.metadata.erase(kUnknownKey);
  if (const auto unknown = vocabulary.unknown_id())
    file.metadata[kUnknownKey] = encode_utf8(std::u32string(1, vocabulary.symbol(*unknown)));
  write_safetensors(path, file.tensors, file.metadata);
}

TextVocabulary load_vocabulary(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  const auto symbols = file.metadata.find(kVocabularyKey);
  if (symbols == file.metadata.end()) {
    throw std::runtime_error(path + ": the checkpoint holds no vocabulary (no \"" + kVocabularyKey +
                             "\" in its metadata)");
  }
  try {
    std::optional<char32_t> unknown;
    const auto u = file.metadata.find(kUnknownKey);
    if (u != file.metadata.end()) {
      const std::u32string c = decode_utf8(u->second, kUnknownKey);
      MINIGRAD_CHECK(c.size() == 1) << kUnknownKey << " holds " << c.size() << " characters, not 1";
      unknown = c[0];
    }
    return TextVocabulary(decode_utf8(symbols->second, kVocabularyKey), unknown);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": the checkpoint's vocabulary is not one: " + e.what());
  }
}

void check_vocabulary(const std::string& path, const TextVocabulary& vocabulary) {
  const TextVocabulary saved = load_vocabulary(path);
  if (saved == vocabulary) return;
  std::string why;
  const int64_t common = std::min(saved.size(), vocabulary.size());
  int32_t first = 0;
  while (first < common && saved.symbol(first) == vocabulary.symbol(first)) ++first;
  if (first < common) {
    why = "id " + std::to_string(first) + " is " + describe_character(saved.symbol(first)) +
          " in the checkpoint and " + describe_character(vocabulary.symbol(first)) + " in the data";
  } else if (saved.size() != vocabulary.size()) {
    why = "the first " + std::to_string(common) + " symbols agree";
  } else {
    const auto name = [](const TextVocabulary& v) {
      return v.unknown_id() ? describe_character(v.symbol(*v.unknown_id())) : std::string("none");
    };
    why = "the unknown symbol is " + name(saved) + " in the checkpoint and " + name(vocabulary) +
          " in the data";
  }
  throw std::runtime_error(path + ": the checkpoint's vocabulary (" + std::to_string(saved.size()) +
                           " symbols) differs from the data's (" +
                           std::to_string(vocabulary.size()) + " symbols): " + why +
                           "; the model's ids would mean other characters");
}

// ---- batches ----------------------------------------------------------------------------

namespace {

void check_windows(const char* op, const std::vector<int32_t>& ids, int64_t batch, int64_t block) {
  MINIGRAD_CHECK(batch > 0 && block > 0)
      << op << ": batch " << batch << " and block " << block << " must be positive";
  MINIGRAD_CHECK(static_cast<int64_t>(ids.size()) > block)
      << op << ": " << ids.size() << " ids are too few for one window of block " << block
      << " (block + 1 ids: the inputs and the next character)";
}

// Rows of source and target for the windows starting at `offsets`.
Batch windows_at(const std::vector<int32_t>& ids, const std::vector<int64_t>& offsets,
                 int64_t block) {
  const auto rows = static_cast<int64_t>(offsets.size());
  Batch b{Tensor::empty({rows, block}, DType::Int64), Tensor::empty({rows, block}, DType::Int64)};
  int64_t* source = b.source.data<int64_t>();
  int64_t* target = b.target.data<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* window = ids.data() + offsets[static_cast<size_t>(r)];
    for (int64_t t = 0; t < block; ++t) {
      source[r * block + t] = window[t];
      target[r * block + t] = window[t + 1];
    }
  }
  return b;
}

}  // namespace

Batch sample_batch(const std::vector<int32_t>& ids, int64_t batch, int64_t block, Generator& gen) {
  check_windows("sample_batch", ids, batch, block);
  std::vector<int64_t> offsets(static_cast<size_t>(batch));
  const auto last = static_cast<int64_t>(ids.size()) - block;
  for (int64_t& o : offsets) o = gen.randint(0, last);
  return windows_at(ids, offsets, block);
}

std::vector<Batch> fixed_batches(const std::vector<int32_t>& ids, int64_t count, int64_t batch,
                                 int64_t block, uint64_t seed) {
  check_windows("fixed_batches", ids, batch, block);
  MINIGRAD_CHECK(count > 0) << "fixed_batches: count " << count << " must be positive";
  Generator gen(seed);
  std::vector<Batch> batches;
  for (int64_t i = 0; i < count; ++i) batches.push_back(sample_batch(ids, batch, block, gen));
  return batches;
}

NonOverlappingWindows::NonOverlappingWindows(std::vector<int32_t> ids, int64_t batch, int64_t block)
    : ids_(std::move(ids)), batch_(batch), block_(block), windows_(0) {
  check_windows("NonOverlappingWindows", ids_, batch, block);
  windows_ = (static_cast<int64_t>(ids_.size()) - 1) / block;
}

Batch NonOverlappingWindows::batch(int64_t index) const {
  MINIGRAD_CHECK_INDEX(index >= 0 && index < batches())
      << "NonOverlappingWindows::batch: " << index << " is outside [0, " << batches() << ")";
  std::vector<int64_t> offsets;
  for (int64_t w = index * batch_; w < std::min(windows_, (index + 1) * batch_); ++w)
    offsets.push_back(w * block_);
  return windows_at(ids_, offsets, block_);
}

// ---- baselines --------------------------------------------------------------------------

NgramBaselines ngram_baselines(const std::vector<int32_t>& train,
                               const std::vector<int32_t>& validation, int64_t vocab_size,
                               double k) {
  MINIGRAD_CHECK(!train.empty() && !validation.empty())
      << "ngram_baselines: " << train.size() << " training and " << validation.size()
      << " validation ids; both must be non-empty";
  MINIGRAD_CHECK(vocab_size > 0 && k > 0)
      << "ngram_baselines: vocab_size " << vocab_size << " and k " << k << " must be positive";
  for (const std::vector<int32_t>* part : {&train, &validation}) {
    for (size_t i = 0; i < part->size(); ++i) {
      MINIGRAD_CHECK((*part)[i] >= 0 && (*part)[i] < vocab_size)
          << "ngram_baselines: " << (part == &train ? "training" : "validation") << " id "
          << (*part)[i] << " at " << i << " is outside [0, " << vocab_size << ")";
    }
  }
  // Counts keyed by the n-gram read as a number in base V: a·V + b, (a·V + b)·V + c.
  const auto V = static_cast<uint64_t>(vocab_size);
  std::vector<int64_t> unigrams(V, 0);
  std::unordered_map<uint64_t, int64_t> bigrams, bigram_contexts, trigrams, trigram_contexts;
  const size_t n = train.size();
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint64_t>(train[i]);
    ++unigrams[c];
    if (i >= 1) {
      const auto b = static_cast<uint64_t>(train[i - 1]);
      ++bigrams[b * V + c];
      ++bigram_contexts[b];
      if (i >= 2) {
        const auto ab = static_cast<uint64_t>(train[i - 2]) * V + b;
        ++trigrams[ab * V + c];
        ++trigram_contexts[ab];
      }
    }
  }
  const auto N = static_cast<int64_t>(n);
  double uni = 0, bi = 0, tri = 0;
  for (size_t i = 0; i < validation.size(); ++i) {
    const auto c = static_cast<uint64_t>(validation[i]);
    const double u = add_k_nll(unigrams[c], N, k, vocab_size);
    uni += u;
    if (i == 0) {
      bi += u, tri += u;
      continue;
    }
    const auto b = static_cast<uint64_t>(validation[i - 1]);
    const double bl =
        add_k_nll(count_of(bigrams, b * V + c), count_of(bigram_contexts, b), k, vocab_size);
    bi += bl;
    if (i == 1) {
      tri += bl;
      continue;
    }
    const auto ab = static_cast<uint64_t>(validation[i - 2]) * V + b;
    tri += add_k_nll(count_of(trigrams, ab * V + c), count_of(trigram_contexts, ab), k, vocab_size);
  }
  const auto m = static_cast<double>(validation.size());
  return {std::log(static_cast<double>(vocab_size)), uni / m, bi / m, tri / m};
}

}  // namespace minigrad::examples
