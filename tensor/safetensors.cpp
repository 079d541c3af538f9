// safetensors reading and writing (format in safetensors.h).
//
// The header is parsed by a small recursive-descent reader that accepts exactly
// the JSON the format uses — one object whose values are either a tensor entry
//   {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
// or the "__metadata__" object of string → string — and nothing else, so no JSON
// library is needed and every rejection can name the byte where it happened.
// Byte offsets in error messages count from the start of the file: the header's
// JSON starts at byte 8, the data section at byte 8 + N.
//
// Validation follows the reference implementation (huggingface/safetensors):
//   - N ≤ 100'000'000 and 8 + N ≤ file size;
//   - the header starts with '{'; after the object only whitespace (the padding)
//     may follow;
//   - every shape × dtype size equals its byte range [begin, end);
//   - sorted by begin, the ranges tile the data section exactly: the first starts
//     at 0, each starts where the previous ended (a gap or an overlap is an
//     error), the last ends at the end of the file.
#include "minigrad/tensor/safetensors.h"

#include <atomic>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>

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

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string range_str(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is
// malformed (truncated, bad continuation, overlong, a surrogate, or > U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  uint32_t cp, min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One tensor as the header describes it, with where each part was written so
// that later checks can point at it.
struct Entry {
  std::string name;
  uint64_t name_at = 0;
  DType dtype = DType::Float32;
  uint64_t dtype_at = 0;
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

class HeaderParser {
 public:
  // `json` is the header; its first byte is byte 8 of the file.
  HeaderParser(std::string_view json, const std::string& origin) : s_(json), origin_(origin) {}

  Header parse() {
    Header h;
    if (s_.empty() || s_[0] != '{') error("the header must start with '{', got " + describe(0));
    ++pos_;
    skip_ws();
    std::set<std::string> names;
    bool have_metadata = false;
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        const uint64_t key_at = here();
        std::string key = parse_string();
        skip_ws();
        expect(':');
        skip_ws();
        if (key == "__metadata__") {
          if (have_metadata) fail(origin_, key_at, "duplicate \"__metadata__\"");
          have_metadata = true;
          h.metadata = parse_metadata();
        } else {
          if (!names.insert(key).second)
            fail(origin_, key_at, "duplicate tensor name " + quoted(key));
          h.entries.push_back(parse_entry(std::move(key), key_at));
        }
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          skip_ws();
          continue;
        }
        expect('}');
        break;
      }
    }
    skip_ws();  // the padding
    if (pos_ != s_.size())
      error("only whitespace may follow the header's JSON object, got " + describe(pos_));
    return h;
  }

 private:
  uint64_t here() const { return 8 + pos_; }
  [[noreturn]] void error(const std::string& problem) const { fail(origin_, here(), problem); }
  int peek() const { return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1; }

  std::string describe(size_t at) const {
    if (at >= s_.size()) return "the end of the header";
    const auto c = static_cast<unsigned char>(s_[at]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c) {
    if (peek() != static_cast<unsigned char>(c))
      error(std::string("expected '") + c + "', got " + describe(pos_));
    ++pos_;
  }

  uint32_t parse_hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int c = peek();
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<uint32_t>(c - 'A' + 10);
      else
        error("expected a hex digit in a \\u escape, got " + describe(pos_));
      v = v * 16 + d;
      ++pos_;
    }
    return v;
  }

  // A JSON string: escapes decoded, raw bytes checked to be UTF-8.
  std::string parse_string() {
    if (peek() != '"') error("expected a string, got " + describe(pos_));
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) error("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) error("unescaped control character " + describe(pos_) + " in a string");
      if (c >= 0x80) {
        const size_t n = utf8_sequence_length(s_, pos_);
        if (n == 0) error("invalid UTF-8 in a string");
        out.append(s_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;  // the backslash
      const int e = peek();
      ++pos_;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          // Code points above U+FFFF arrive as a surrogate pair \uD8xx\uDCxx:
          //   cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) error("a \\u escape holds a lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (peek() != '\\' || pos_ + 1 >= s_.size() || s_[pos_ + 1] != 'u')
              error("a high surrogate \\u escape is not followed by a low one");
            pos_ += 2;
            const uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF)
              error("a high surrogate \\u escape is not followed by a low one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          error("invalid escape: a backslash followed by " + describe(pos_));
      }
    }
  }

  // A non-negative integer without sign, fraction or exponent (shapes and offsets).
  uint64_t parse_uint() {
    const int c = peek();
    if (c < '0' || c > '9') error("expected a non-negative integer, got " + describe(pos_));
    const size_t start = pos_;
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const auto d = static_cast<uint64_t>(peek() - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
        pos_ = start;
        error("integer does not fit in 64 bits");
      }
      v = v * 10 + d;
      ++pos_;
    }
    if (s_[start] == '0' && pos_ - start > 1) {
      pos_ = start;
      error("integer with a leading zero");
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E')
      error("expected an integer, got a fraction");
    return v;
  }

  std::vector<uint64_t> parse_uint_array() {
    expect('[');
    skip_ws();
    std::vector<uint64_t> out;
    if (peek() == ']') {
      ++pos_;
      return out;
    }
    for (;;) {
      out.push_back(parse_uint());
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        skip_ws();
        continue;
      }
      expect(']');
      return out;
    }
  }

  std::map<std::string, std::string> parse_metadata() {
    if (peek() != '{')
      error("\"__metadata__\" must be an object of strings, got " + describe(pos_));
    ++pos_;
    skip_ws();
    std::map<std::string, std::string> out;
    if (peek() == '}') {
      ++pos_;
      return out;
    }
    for (;;) {
      const uint64_t key_at = here();
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (peek() != '"') error("metadata values must be strings, got " + describe(pos_));
      std::string value = parse_string();
      if (!out.emplace(key, std::move(value)).second)
        fail(origin_, key_at, "duplicate metadata key " + quoted(key));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        skip_ws();
        continue;
      }
      expect('}');
      return out;
    }
  }

  Entry parse_entry(std::string name, uint64_t name_at) {
    Entry e;
    e.name = std::move(name);
    e.name_at = name_at;
    if (peek() != '{')
      error("tensor " + quoted(e.name) +
            ": expected an object {\"dtype\", \"shape\", "
            "\"data_offsets\"}, got " +
            describe(pos_));
    ++pos_;
    skip_ws();
    bool have_dtype = false, have_shape = false, have_offsets = false;
    const auto once = [&](bool& seen, uint64_t at, const std::string& key) {
      if (seen) fail(origin_, at, "tensor " + quoted(e.name) + ": duplicate key \"" + key + "\"");
      seen = true;
    };
    if (peek() != '}') {
      for (;;) {
        const uint64_t key_at = here();
        const std::string key = parse_string();
        skip_ws();
        expect(':');
        skip_ws();
        if (key == "dtype") {
          once(have_dtype, key_at, key);
          e.dtype_at = here();
          e.dtype = parse_dtype(e.name);
        } else if (key == "shape") {
          once(have_shape, key_at, key);
          e.shape_at = here();
          const std::vector<uint64_t> dims = parse_uint_array();
          if (dims.size() > static_cast<size_t>(kMaxDims))
            fail(origin_, e.shape_at,
                 "tensor " + quoted(e.name) + ": rank " + std::to_string(dims.size()) +
                     " exceeds minigrad's " + std::to_string(kMaxDims));
          for (uint64_t d : dims) {
            if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
              fail(origin_, e.shape_at,
                   "tensor " + quoted(e.name) + ": size " + std::to_string(d) +
                       " does not fit in int64");
            e.shape.push_back(static_cast<int64_t>(d));
          }
        } else if (key == "data_offsets") {
          once(have_offsets, key_at, key);
          e.offsets_at = here();
          const std::vector<uint64_t> offsets = parse_uint_array();
          if (offsets.size() != 2)
            fail(origin_, e.offsets_at,
                 "tensor " + quoted(e.name) + ": \"data_offsets\" must be [begin, end], got " +
                     std::to_string(offsets.size()) + " numbers");
          e.begin = offsets[0];
          e.end = offsets[1];
        } else {
          // A key we do not understand might change the meaning of the bytes, so
          // refuse rather than guess.
          fail(origin_, key_at, "tensor " + quoted(e.name) + ": unknown key " + quoted(key));
        }
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          skip_ws();
          continue;
        }
        break;
      }
    }
    expect('}');
    const char* missing = !have_dtype     ? "dtype"
                          : !have_shape   ? "shape"
                          : !have_offsets ? "data_offsets"
                                          : nullptr;
    if (missing)
      fail(origin_, name_at, "tensor " + quoted(e.name) + ": missing \"" + missing + "\"");
    return e;
  }

  DType parse_dtype(const std::string& tensor) {
    const uint64_t at = here();
    const std::string code = parse_string();
    for (const DTypeCode& c : kDTypeCodes)
      if (code == c.code) return c.dtype;
    for (const char* other : kOtherFormatDTypes)
      if (code == other)
        fail(origin_, at,
             "tensor " + quoted(tensor) + ": dtype " + code +
                 " is valid safetensors but unsupported (minigrad has F32, F64, I64, "
                 "BOOL)");
    fail(origin_, at, "tensor " + quoted(tensor) + ": unknown dtype " + quoted(code));
  }

  std::string_view s_;
  const std::string& origin_;
  size_t pos_ = 0;
};

// ---- the header writer ------------------------------------------------------------------

// serde_json's escaping, which the reference writer uses: \" \\ and the short
// forms of control characters, \u00XX for the other control characters; all
// other UTF-8 is written as is.
void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void check_utf8_argument(const std::string& s, const char* what) {
  if (!valid_utf8(s))
    throw std::invalid_argument(std::string("write_safetensors: ") + what +
                                " is not valid UTF-8 (the header is JSON)");
}

// ---- files ------------------------------------------------------------------------------

std::string errno_text(int err) { return std::system_category().message(err); }

std::string read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error(path + ": cannot open: " + errno_text(err));
  }
  const auto fail_io = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(path + ": " + what + ": " + errno_text(err));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_io("cannot stat");
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + ": not a regular file");
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("read failed at byte " + std::to_string(done));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  ::close(fd);
  return bytes;
}

std::string parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// tmp → fsync → rename → fsync(dir). A crash at any point leaves either the old
// `path` or the complete new one: rename() replaces atomically, the first fsync
// makes sure the renamed file has its data, the second that the rename itself
// survives a power loss. (Plain write(2) on a descriptor has no user-space buffer,
// so there is nothing to fflush.)
void write_file_atomically(const std::string& path, const std::string& bytes) {
  // The pid keeps two processes apart; within one process, writes are serialised,
  // so two threads saving to one path never share the temporary file.
  static std::mutex write_mutex;
  const std::lock_guard<std::mutex> lock(write_mutex);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error("write_safetensors: " + path + ": cannot create " + tmp + ": " +
                             errno_text(err));
  }
  const auto fail_io = [&](const std::string& step) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error("write_safetensors: " + path + ": " + step + ": " + errno_text(err));
  };
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("write to " + tmp + " failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail_io("fsync " + tmp);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail_io("close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail_io("rename " + tmp + " to " + path);

  const std::string dir = parent_directory(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    const int err = errno;
    throw std::runtime_error("write_safetensors: " + path + ": written, but cannot open folder " +
                             dir + " to fsync it: " + errno_text(err));
  }
  if (::fsync(dfd) != 0) {
    const int err = errno;
    ::close(dfd);
    throw std::runtime_error("write_safetensors: " + path + ": written, but fsync of folder " +
                             dir + " failed: " + errno_text(err));
  }
  ::close(dfd);
}

}  // namespace

// ---- SafetensorsFile ----------------------------------------------------------------------

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  std::string names;
  for (const auto& entry : tensors) names += (names.empty() ? "" : ", ") + entry.first;
  throw std::out_of_range(origin + ": no tensor named " + quoted(name) +
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
  Header header = HeaderParser(json, origin).parse();

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = size - data_start;
  for (const Entry& e : header.entries) {
    const std::string what = "tensor " + quoted(e.name) + ": ";
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
           "tensor " + quoted(e->name) + ": data_offsets " + range_str(e->begin, e->end) +
               " overlap tensor " + quoted(previous->name) + " at " +
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
               "tensor " + quoted(e->name) + ": BOOL element " + std::to_string(i) + " is " +
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
      throw std::invalid_argument("write_safetensors: duplicate tensor name " + quoted(name));
    if (!t.defined())
      throw std::invalid_argument("write_safetensors: tensor " + quoted(name) + " is undefined");
    check_utf8_argument(name, "a tensor name");
  }
  for (const auto& [key, value] : metadata) {
    check_utf8_argument(key, "a metadata key");
    check_utf8_argument(value, "a metadata value");
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
      append_json_string(json, key);
      json += ':';
      append_json_string(json, value);
    }
    json += '}';
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (json.size() > 1) json += ',';
    append_json_string(json, name);
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
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

}  // namespace minigrad
