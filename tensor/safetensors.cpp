// safetensors reading and writing (format in safetensors.h).
//
// The header's JSON is read with nlohmann-json's SAX parser (below, HeaderReader)
// and written with its string escaping. Byte offsets in error messages count from
// the start of the file: the header's JSON starts at byte 8, the data section at
// byte 8 + N.
//
// Validation follows the reference implementation (huggingface/safetensors):
//   - N ≤ 100'000'000 and 8 + N ≤ file size;
//   - the header starts with '{'; after the object only whitespace (the padding)
//     may follow;
//   - no key appears twice in one object, and a tensor entry has exactly the keys
//     "dtype", "shape" and "data_offsets";
//   - every shape × dtype size equals its byte range [begin, end);
//   - sorted by begin, the ranges tile the data section exactly: the first starts
//     at 0, each starts where the previous ended (a gap or an overlap is an
//     error), the last ends at the end of the file.
#include "minigrad/tensor/safetensors.h"

#include "minigrad/tensor/atomic_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace minigrad {

// The data section is the tensors' bytes copied verbatim, and the format is
// little-endian; a big-endian port would have to swap every element.
static_assert(std::endian::native == std::endian::little,
              "safetensors.cpp copies raw bytes and assumes a little-endian machine");
// BOOL is one byte per element holding 0 or 1, which is what a C++ bool is here.
static_assert(sizeof(bool) == 1, "safetensors BOOL needs a one-byte bool");

namespace {

// The reference implementation's cap: a header larger than this is an attack or
// a corrupt length, not a model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeCode {
  const char* code;
  DType dtype;
};
constexpr DTypeCode kDTypeCodes[] = {
    {"F32", DType::Float32}, {"F64", DType::Float64}, {"I64", DType::Int64}, {"BOOL", DType::Bool}};
// Valid in the format but not representable in minigrad: named separately in errors
// so that "unsupported" is not mistaken for "corrupt".
constexpr const char* kOtherFormatDTypes[] = {
    "F16", "BF16", "I8",      "U8",      "I16",     "U16",     "I32",     "U32",
    "U64", "C64",  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"};

const char* dtype_code(DType dtype) {
  for (const DTypeCode& c : kDTypeCodes)
    if (c.dtype == dtype) return c.code;
  throw std::logic_error("safetensors: dtype without a code");
}

[[noreturn]] void fail(const std::string& origin, uint64_t offset, const std::string& problem) {
  throw std::runtime_error(origin + ": byte " + std::to_string(offset) + ": " + problem);
}

// Built by appending: GCC 12 misreads `"'" + std::string(s)` inlined here as an
// overlapping memcpy (-Wrestrict).
std::string in_quotes(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.append(1, '\'').append(s).append(1, '\'');
  return out;
}

std::string range_str(uint64_t begin, uint64_t end) {
  std::string out = "[";
  out.append(std::to_string(begin)).append(", ").append(std::to_string(end)).append(")");
  return out;
}

// `text` with every byte outside printable ASCII written as \xNN: the parser's
// message quotes the bytes it read last, which may be anything.
std::string printable(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const char byte : text) {
    const auto c = static_cast<unsigned char>(byte);
    if (c >= 0x20 && c < 0x7F) {
      out += byte;
    } else {
      out.append("\\x").append(1, hex[c >> 4]).append(1, hex[c & 15]);
    }
  }
  return out;
}

// A byte for an error message: itself if printable ASCII, else its hex value.
std::string describe_byte(char byte) {
  const auto c = static_cast<unsigned char>(byte);
  if (c >= 0x20 && c < 0x7F) return std::string("'") + byte + "'";
  static const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

// One tensor as the header describes it, with where each part was written so
// that later checks can point at it.
struct Entry {
  std::string name;
  uint64_t name_at = 0;
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t shape_at = 0;
  uint64_t begin = 0, end = 0;
  uint64_t offsets_at = 0;
};

struct Header {
  std::vector<Entry> entries;  // in header order
  std::map<std::string, std::string> metadata;
};

// ---- the header reader ---------------------------------------------------------------

// The JSON itself is read by nlohmann-json's SAX parser, which reports each value
// as it meets it. HeaderReader accepts exactly what the format allows — one object
// whose values are tensor entries
//   {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
// or the "__metadata__" object of string → string — and throws at the first event
// that cannot belong there. A plain parse into a json value would silently keep
// the last of two equal keys; the reader sees every key and refuses the second.
//
// SAX events carry no position, so the parser reads the header through
// CountingIterator, which records how many bytes it has taken. An event fires as
// soon as its token has been read (after a number, one byte more: the byte that
// ended it), so the event's token starts at the first byte after the previous
// event's count that is not whitespace, ',' or ':'.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, const char* begin, size_t* taken)
      : at_(at), begin_(begin), taken_(taken) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    ++at_;
    *taken_ = static_cast<size_t>(at_ - begin_);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }

 private:
  const char* at_;
  const char* begin_;
  size_t* taken_;
};

class HeaderReader {
 public:
  using json = nlohmann::json;

  // `header` is the JSON; its first byte is byte 8 of the file.
  HeaderReader(std::string_view header, const std::string& origin) : s_(header), origin_(origin) {}

  Header read() {
    // The reference implementation requires the object to open the header; a
    // JSON parser would also skip leading whitespace (or a byte-order mark).
    if (s_.empty() || s_[0] != '{')
      fail(origin_, 8,
           "the header must start with '{', got " +
               (s_.empty() ? std::string("the end of the header") : describe_byte(s_[0])));
    const CountingIterator first(s_.data(), s_.data(), &taken_);
    const CountingIterator last(s_.data() + s_.size(), s_.data(), &taken_);
    // strict: only whitespace (the padding) may follow the object.
    json::sax_parse(first, last, this, json::input_format_t::json, /*strict=*/true);
    return std::move(header_);
  }

  // ---- nlohmann's SAX interface: each returns true or throws ----

  bool null() { return value("null"); }
  bool boolean(bool b) { return value(b ? "true" : "false"); }
  bool number_integer(json::number_integer_t) {
    // Only negative integers arrive here (and -0); the others are number_unsigned.
    const uint64_t at = token_start();
    if (state_ == State::InShape || state_ == State::InOffsets) {
      const size_t begin = static_cast<size_t>(at - 8);
      const size_t end = s_.find_first_not_of("-0123456789", begin);
      fail(origin_, at,
           in_array() + "expected a non-negative integer, got " +
               std::string(s_.substr(begin, end - begin)));
    }
    return unexpected(at, "a number");
  }
  bool number_unsigned(json::number_unsigned_t v) {
    const uint64_t at = token_start();
    if (state_ == State::InShape) {
      ++count_;
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(origin_, entry_.shape_at,
             tensor() + "size " + std::to_string(v) + " does not fit in int64");
      if (count_ <= static_cast<size_t>(kMaxDims)) entry_.shape.push_back(static_cast<int64_t>(v));
      return true;
    }
    if (state_ == State::InOffsets) {
      ++count_;
      if (count_ == 1) entry_.begin = v;
      if (count_ == 2) entry_.end = v;
      return true;
    }
    return unexpected(at, "a number");
  }
  bool number_float(json::number_float_t, const std::string& text) {
    const uint64_t at = token_start();
    if (state_ == State::InShape || state_ == State::InOffsets) {
      // The JSON is valid, so the text is a fraction, an exponent, or an integer
      // too large for 64 bits.
      const size_t dot = text.find_first_of(".eE");
      if (text[0] == '-')
        fail(origin_, at, in_array() + "expected a non-negative integer, got " + text);
      if (dot != std::string::npos)
        fail(origin_, at + dot, in_array() + "expected an integer, got a fraction: " + text);
      fail(origin_, at, in_array() + "integer " + text + " does not fit in 64 bits");
    }
    return unexpected(at, "a number");
  }
  bool string(std::string& s) {
    const uint64_t at = token_start();
    if (state_ == State::DtypeValue) {
      entry_.dtype = dtype_from_code(s, at);
      state_ = State::InEntry;
      return true;
    }
    if (state_ == State::MetadataValue) {
      header_.metadata.emplace(std::move(metadata_key_), std::move(s));
      state_ = State::InMetadata;
      return true;
    }
    return unexpected(at, "a string");
  }
  bool binary(json::binary_t&) { return value("binary data"); }  // never in JSON text

  bool start_object(std::size_t) {
    const uint64_t at = token_start();
    switch (state_) {
      case State::Start:
        state_ = State::InHeader;
        return true;
      case State::Metadata:
        state_ = State::InMetadata;
        return true;
      case State::EntryValue:
        state_ = State::InEntry;
        return true;
      default:
        return unexpected(at, "an object");
    }
  }
  bool key(std::string& k) {
    const uint64_t at = token_start();
    if (state_ == State::InHeader) {
      if (k == "__metadata__") {
        if (have_metadata_) fail(origin_, at, "duplicate \"__metadata__\"");
        have_metadata_ = true;
        state_ = State::Metadata;
        return true;
      }
      if (!names_.insert(k).second) fail(origin_, at, "duplicate tensor name " + in_quotes(k));
      entry_ = Entry{};
      entry_.name = std::move(k);
      entry_.name_at = at;
      seen_dtype_ = seen_shape_ = seen_offsets_ = false;
      state_ = State::EntryValue;
      return true;
    }
    if (state_ == State::InMetadata) {
      if (header_.metadata.count(k) != 0)
        fail(origin_, at, "duplicate metadata key " + in_quotes(k));
      metadata_key_ = std::move(k);
      state_ = State::MetadataValue;
      return true;
    }
    // InEntry: the only other state in which the parser reads keys.
    const auto once = [&](bool& seen) {
      if (seen) fail(origin_, at, tensor() + "duplicate key \"" + k + "\"");
      seen = true;
    };
    if (k == "dtype") {
      once(seen_dtype_);
      state_ = State::DtypeValue;
    } else if (k == "shape") {
      once(seen_shape_);
      state_ = State::ShapeValue;
    } else if (k == "data_offsets") {
      once(seen_offsets_);
      state_ = State::OffsetsValue;
    } else {
      // A key we do not understand might change the meaning of the bytes, so
      // refuse rather than guess.
      fail(origin_, at, tensor() + "unknown key " + in_quotes(k));
    }
    return true;
  }
  bool end_object() {
    token_start();
    if (state_ == State::InEntry) {
      const char* missing = !seen_dtype_     ? "dtype"
                            : !seen_shape_   ? "shape"
                            : !seen_offsets_ ? "data_offsets"
                                             : nullptr;
      if (missing) fail(origin_, entry_.name_at, tensor() + "missing \"" + missing + "\"");
      header_.entries.push_back(std::move(entry_));
    }
    // InEntry and InMetadata return to the header; the header's own end is the end.
    state_ = state_ == State::InHeader ? State::Done : State::InHeader;
    return true;
  }
  bool start_array(std::size_t) {
    const uint64_t at = token_start();
    if (state_ == State::ShapeValue) {
      entry_.shape_at = at;
      state_ = State::InShape;
    } else if (state_ == State::OffsetsValue) {
      entry_.offsets_at = at;
      state_ = State::InOffsets;
    } else {
      return unexpected(at, "an array");
    }
    count_ = 0;
    return true;
  }
  bool end_array() {
    token_start();
    if (state_ == State::InShape && count_ > static_cast<size_t>(kMaxDims))
      fail(origin_, entry_.shape_at,
           tensor() + "rank " + std::to_string(count_) + " exceeds minigrad's " +
               std::to_string(kMaxDims));
    if (state_ == State::InOffsets && count_ != 2)
      fail(origin_, entry_.offsets_at,
           tensor() + "\"data_offsets\" must be [begin, end], got " + std::to_string(count_) +
               " numbers");
    state_ = State::InEntry;  // no other state opens an array
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    // `position` counts the bytes the parser read, the one it stopped at included.
    const uint64_t at = 8 + (position > 0 ? position - 1 : 0);
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 5:
    // syntax error while parsing ..."; the line and column are the byte's again.
    std::string_view problem = e.what();
    const size_t colon = problem.find(": ");
    if (colon != std::string_view::npos) problem.remove_prefix(colon + 2);
    fail(origin_, at, "invalid JSON: " + printable(problem));
  }

 private:
  enum class State {
    Start,          // before the header's object
    InHeader,       // a tensor name or "__metadata__" next
    Metadata,       // the value of "__metadata__" next
    InMetadata,     // a metadata key next
    MetadataValue,  // a metadata value next
    EntryValue,     // a tensor entry next
    InEntry,        // "dtype", "shape" or "data_offsets" next
    DtypeValue,
    ShapeValue,
    InShape,
    OffsetsValue,
    InOffsets,
    Done,
  };

  // The file offset of the token of the event being handled (see CountingIterator).
  uint64_t token_start() {
    size_t i = scanned_;
    while (i < s_.size() && (s_[i] == ' ' || s_[i] == '\t' || s_[i] == '\n' || s_[i] == '\r' ||
                             s_[i] == ',' || s_[i] == ':'))
      ++i;
    scanned_ = taken_;
    return 8 + i;
  }

  bool value(const char* what) { return unexpected(token_start(), what); }

  // A value of the wrong kind: what was expected here, and what came.
  [[noreturn]] bool unexpected(uint64_t at, const std::string& got) {
    switch (state_) {
      case State::Metadata:
        fail(origin_, at, "\"__metadata__\" must be an object of strings, got " + got);
      case State::MetadataValue:
        fail(origin_, at,
             "metadata values must be strings, got " + got + " for " + in_quotes(metadata_key_));
      case State::EntryValue:
        fail(origin_, at,
             tensor() + "expected an object {\"dtype\", \"shape\", \"data_offsets\"}, got " + got);
      case State::DtypeValue:
        fail(origin_, at, tensor() + "\"dtype\" must be a string, got " + got);
      case State::ShapeValue:
      case State::OffsetsValue:
        fail(origin_, at,
             tensor() + "\"" + (state_ == State::ShapeValue ? "shape" : "data_offsets") +
                 "\" must be an array of integers, got " + got);
      case State::InShape:
      case State::InOffsets:
        fail(origin_, at, in_array() + "expected a non-negative integer, got " + got);
      default:
        // Start is ruled out by the check for '{'; the parser reports keys,
        // not values, in the other states.
        fail(origin_, at, "unexpected " + got);
    }
  }

  std::string tensor() const { return "tensor " + in_quotes(entry_.name) + ": "; }
  std::string in_array() const {
    return tensor() + (state_ == State::InShape ? "\"shape\"" : "\"data_offsets\"") + ": ";
  }

  DType dtype_from_code(const std::string& code, uint64_t at) const {
    for (const DTypeCode& c : kDTypeCodes)
      if (code == c.code) return c.dtype;
    for (const char* other : kOtherFormatDTypes)
      if (code == other)
        fail(origin_, at,
             tensor() + "dtype " + code +
                 " is valid safetensors but unsupported (minigrad has F32, F64, I64, BOOL)");
    fail(origin_, at, tensor() + "unknown dtype " + in_quotes(code));
  }

  std::string_view s_;
  const std::string& origin_;
  size_t taken_ = 0;    // bytes the JSON parser has read (CountingIterator)
  size_t scanned_ = 0;  // taken_ at the previous event
  State state_ = State::Start;
  Header header_;
  std::set<std::string> names_;
  bool have_metadata_ = false;
  std::string metadata_key_;
  Entry entry_;  // the tensor entry being read
  bool seen_dtype_ = false, seen_shape_ = false, seen_offsets_ = false;
  size_t count_ = 0;  // numbers in the array being read
};

// ---- the header writer ------------------------------------------------------------------

// A JSON string literal as the reference writer (serde_json) spells it, and as
// nlohmann-json dumps it: \" \\ and the short escapes, \u00xx for the other
// control characters, all other UTF-8 as is. `what` names the string in the error
// for bytes that are not UTF-8 (JSON text must be).
std::string json_string(const std::string& s, const char* what) {
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::type_error&) {
    throw std::invalid_argument(std::string("write_safetensors: ") + what +
                                " is not valid UTF-8 (the header is JSON)");
  }
}

}  // namespace

// ---- SafetensorsFile ----------------------------------------------------------------------

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  std::string names;
  for (const auto& entry : tensors) names += (names.empty() ? "" : ", ") + entry.first;
  throw std::out_of_range(origin + ": no tensor named " + in_quotes(name) +
                          " (the file has: " + (names.empty() ? "no tensors" : names) + ")");
}

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& entry : tensors)
    if (entry.first == name) return true;
  return false;
}

// ---- reading ------------------------------------------------------------------------------

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& origin) {
  const uint64_t size = bytes.size();
  if (size < 8)
    fail(origin, 0,
         "the file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  // N, little-endian: N = Σ_k byte_k · 256^k
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(k)]);
  if (n > kMaxHeaderBytes)
    fail(origin, 0,
         "header length " + std::to_string(n) + " exceeds the limit of " +
             std::to_string(kMaxHeaderBytes) + " bytes");
  if (n > size - 8)
    fail(origin, 0,
         "header length " + std::to_string(n) + " runs past the end of the " +
             std::to_string(size) + "-byte file");

  const std::string_view json(bytes.data() + 8, static_cast<size_t>(n));
  Header header = HeaderReader(json, origin).read();

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = size - data_start;
  for (const Entry& e : header.entries) {
    const std::string what = "tensor " + in_quotes(e.name) + ": ";
    // bytes = Π shape × dtype size. The product of the nonzero sizes must fit in
    // int64 even when a zero makes the tensor empty: strides and numel() are
    // computed from them, and a hostile shape must not overflow those.
    const auto limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    uint64_t extent = dtype_size(e.dtype);
    bool empty = false;
    for (int64_t d : e.shape) {
      const auto ud = static_cast<uint64_t>(d);
      if (ud == 0) {
        empty = true;
        continue;
      }
      if (extent > limit / ud)
        fail(origin, e.shape_at, what + "shape " + e.shape.str() + " is too large");
      extent *= ud;
    }
    const uint64_t expected = empty ? 0 : extent;
    if (e.begin > e.end)
      fail(origin, e.offsets_at,
           what + "data_offsets " + range_str(e.begin, e.end) + " end before they begin");
    if (e.end > data_size)
      fail(origin, e.offsets_at,
           what + "data_offsets " + range_str(e.begin, e.end) + " run past the " +
               std::to_string(data_size) + "-byte data section");
    if (e.end - e.begin != expected)
      fail(origin, e.offsets_at,
           what + "shape " + e.shape.str() + " of " + dtype_code(e.dtype) + " needs " +
               std::to_string(expected) + " bytes, but " + "data_offsets " +
               range_str(e.begin, e.end) + " hold " + std::to_string(e.end - e.begin));
  }

  // File order: by begin (then end, so a zero-size tensor sorts before a
  // non-empty one at the same offset); ties keep header order.
  std::vector<const Entry*> order;
  for (const Entry& e : header.entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;  // the data section [0, covered) belongs to tensors seen so far
  const Entry* previous = nullptr;
  for (const Entry* e : order) {
    if (e->begin < covered)
      fail(origin, e->offsets_at,
           "tensor " + in_quotes(e->name) + ": data_offsets " + range_str(e->begin, e->end) +
               " overlap tensor " + in_quotes(previous->name) + " at " +
               range_str(previous->begin, previous->end));
    if (e->begin > covered)
      fail(origin, data_start + covered,
           "data bytes " + range_str(covered, e->begin) +
               " belong to no tensor (the tensors must cover the data section exactly)");
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    fail(origin, data_start + covered,
         "data bytes " + range_str(covered, data_size) +
             " belong to no tensor (the tensors must cover the data section exactly)");

  SafetensorsFile out;
  out.origin = origin;
  out.metadata = std::move(header.metadata);
  for (const Entry* e : order) {
    Tensor t = Tensor::empty(e->shape, e->dtype);
    const char* src = bytes.data() + data_start + e->begin;
    const auto nbytes = static_cast<size_t>(e->end - e->begin);
    if (e->dtype == DType::Bool) {
      // Any byte other than 0 or 1 would be an invalid bool object in C++.
      for (size_t i = 0; i < nbytes; ++i)
        if (src[i] != 0 && src[i] != 1)
          fail(origin, data_start + e->begin + i,
               "tensor " + in_quotes(e->name) + ": BOOL element " + std::to_string(i) + " is " +
                   std::to_string(static_cast<unsigned char>(src[i])) + ", not 0 or 1");
    }
    if (nbytes != 0) std::memcpy(t.raw_data(), src, nbytes);
    out.tensors.emplace_back(e->name, std::move(t));
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  return parse_safetensors(read_whole_file(path), path);
}

// ---- writing ------------------------------------------------------------------------------

std::string serialize_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw std::invalid_argument("write_safetensors: a tensor has an empty name");
    if (name == "__metadata__")
      throw std::invalid_argument(
          "write_safetensors: \"__metadata__\" is reserved, not a tensor name");
    if (!names.insert(name).second)
      throw std::invalid_argument("write_safetensors: duplicate tensor name " + in_quotes(name));
    if (!t.defined())
      throw std::invalid_argument("write_safetensors: tensor " + in_quotes(name) + " is undefined");
  }

  // Compact JSON like the reference writer: metadata first, then the tensors in
  // the order given, their data back to back in the same order.
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) json += ',';
      first = false;
      json += json_string(key, "a metadata key");
      json += ':';
      json += json_string(value, "a metadata value");
    }
    json += '}';
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (json.size() > 1) json += ',';
    json += json_string(name, "a tensor name");
    json += ":{\"dtype\":\"";
    json += dtype_code(t.dtype());
    json += "\",\"shape\":[";
    for (int d = 0; d < t.dim(); ++d) {
      if (d > 0) json += ',';
      json += std::to_string(t.shape()[d]);
    }
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," +
            std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  json += '}';
  // Spaces up to a multiple of 8, as the reference writer does, so that the data
  // section starts 8-byte aligned.
  json.append((8 - json.size() % 8) % 8, ' ');
  if (json.size() > kMaxHeaderBytes)
    throw std::invalid_argument("write_safetensors: the header would be " +
                                std::to_string(json.size()) + " bytes, over the " +
                                std::to_string(kMaxHeaderBytes) + "-byte limit readers enforce");

  std::string out;
  out.reserve(8 + json.size() + static_cast<size_t>(offset));
  uint64_t n = json.size();
  for (int k = 0; k < 8; ++k, n >>= 8) out += static_cast<char>(n & 0xFF);
  out += json;
  for (const auto& entry : tensors) {
    // Row-major bytes: a transposed or broadcast view is copied into order first.
    const Tensor c = entry.second.contiguous();
    const size_t nbytes = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
    if (nbytes != 0) out.append(static_cast<const char*>(c.raw_data()), nbytes);
  }
  return out;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string bytes = serialize_safetensors(tensors, metadata);
  try {
    write_file_atomically(path, bytes);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("write_safetensors: ") + e.what());
  }
}

}  // namespace minigrad
