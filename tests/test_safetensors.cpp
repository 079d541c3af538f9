// safetensors: round trips of every dtype and odd shape, the exact bytes the writer
// produces, every way a file can be bad (each error names the file and the byte),
// atomic writes (write_safetensors and write_file_atomically), and an independent reader
// (tools/check_safetensors.py).
#include "minigrad/tensor/atomic_file.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/safetensors.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing.h"

namespace minigrad {
namespace {

namespace fs = std::filesystem;

// The bytes of a safetensors file: N (8 bytes, little-endian), the header, the data.
std::string make_file(const std::string& json, const std::string& data = "") {
  std::string out;
  uint64_t n = json.size();
  for (int k = 0; k < 8; ++k, n >>= 8) out += static_cast<char>(n & 0xFF);
  return out + json + data;
}

// A tensor's elements as raw bytes, row-major: bitwise equality also covers NaN and -0.
std::string bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const size_t n = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
  return n == 0 ? std::string() : std::string(static_cast<const char*>(c.raw_data()), n);
}

void expect_same_tensor(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_EQ(got.shape(), want.shape());
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_EQ(bytes_of(got), bytes_of(want));
}

// parse_safetensors(bytes) must throw std::runtime_error whose message names the
// origin, the byte offset and contains `problem`.
void expect_bad(const std::string& bytes, uint64_t offset, const std::string& problem) {
  const std::string origin = "bad.safetensors";
  try {
    parse_safetensors(bytes, origin);
    ADD_FAILURE() << "no error; expected '" << problem << "' at byte " << offset;
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(origin), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte " + std::to_string(offset) + ":"), std::string::npos)
        << msg << "\n  expected byte " << offset;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg << "\n  expected: " << problem;
  }
}

// The header's byte `i` is byte 8 + i of the file.
uint64_t at(const std::string& json, const std::string& needle, size_t from = 0) {
  const size_t i = json.find(needle, from);
  EXPECT_NE(i, std::string::npos) << needle;
  return 8 + i;
}

// parse_safetensors of a file with this JSON header and 8 zero data bytes must
// fail with `problem` at `offset`.
void expect_bad_header(const std::string& json, uint64_t offset, const std::string& problem) {
  SCOPED_TRACE(json);
  expect_bad(make_file(json, std::string(8, '\0')), offset, problem);
}

// A JSON header with one fault; the error must name the byte of the first
// `marker` at or after index `from` of the JSON, and contain `problem`.
struct BadHeader {
  std::string json, marker, problem;
  size_t from = 0;
};

void expect_bad_headers(const std::vector<BadHeader>& cases) {
  for (const BadHeader& c : cases)
    expect_bad_header(c.json, at(c.json, c.marker, c.from), c.problem);
}

class SafetensorsFiles : public testing::TestWithDir {
 protected:
  // Every entry of the folder except `keep`: a leftover temporary file shows up here.
  std::vector<std::string> others(const std::string& keep) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename() != keep) out.push_back(e.path().filename().string());
    return out;
  }
};

// ---- round trips ------------------------------------------------------------------------

TEST(Safetensors, RoundTripsEveryDtypeBitExactly) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor f32 = Tensor::from_vector<float>(
      {0.0f, -0.0f, 1.5f, -3.25e-3f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
       std::numeric_limits<float>::denorm_min()},
      {2, 4});
  const Tensor f64 = Tensor::from_vector<double>(
      {1.0 / 3.0, -2.0, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
       std::numeric_limits<double>::denorm_min(), 0.1},
      {3, 1, 2});
  const Tensor i64 = Tensor::from_vector<int64_t>(
      {std::numeric_limits<int64_t>::min(), -1, 0, 1, std::numeric_limits<int64_t>::max()}, {5});
  const Tensor b = gt(Tensor::from_list({1, -1, 2, 0, -3, 4}, {2, 3}), 0.0);
  ASSERT_EQ(b.dtype(), DType::Bool);

  const SafetensorsFile file = parse_safetensors(
      serialize_safetensors({{"f32", f32}, {"f64", f64}, {"i64", i64}, {"mask", b}}), "mem");
  ASSERT_EQ(file.tensors.size(), 4u);
  EXPECT_EQ(file.tensors[0].first, "f32");
  EXPECT_EQ(file.tensors[3].first, "mask");
  expect_same_tensor(file.at("f32"), f32);
  expect_same_tensor(file.at("f64"), f64);
  expect_same_tensor(file.at("i64"), i64);
  expect_same_tensor(file.at("mask"), b);
  EXPECT_EQ(file.at("mask").to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 0, 0, 1}));
  EXPECT_TRUE(file.metadata.empty());
}

TEST(Safetensors, RoundTripsRankZeroAndZeroSizeTensors) {
  const Tensor scalar = Tensor::scalar(2.5, DType::Float64);
  const Tensor empty1 = Tensor::zeros({0}, DType::Float32);
  const Tensor empty3 = Tensor::zeros({2, 0, 3}, DType::Int64);
  const Tensor after = Tensor::arange(0, 3, 1, DType::Float32);
  const std::string bytes = serialize_safetensors(
      {{"scalar", scalar}, {"empty1", empty1}, {"empty3", empty3}, {"after", after}});

  const SafetensorsFile file = parse_safetensors(bytes, "mem");
  expect_same_tensor(file.at("scalar"), scalar);
  EXPECT_EQ(file.at("scalar").dim(), 0);
  EXPECT_EQ(file.at("scalar").item(), 2.5);
  expect_same_tensor(file.at("empty1"), empty1);
  expect_same_tensor(file.at("empty3"), empty3);
  expect_same_tensor(file.at("after"), after);
  // The zero-size ones take no bytes: 8 (scalar) + 12 (after).
  const uint64_t n = bytes.size() - 8 - 20;
  EXPECT_EQ(bytes.substr(8 + n), bytes_of(scalar) + bytes_of(after));
}

TEST(Safetensors, AnEmptyFileHoldsNoTensors) {
  const std::string bytes = serialize_safetensors({});
  EXPECT_EQ(bytes, make_file("{}      "));
  const SafetensorsFile file = parse_safetensors(bytes, "mem");
  EXPECT_TRUE(file.tensors.empty());
  EXPECT_FALSE(file.contains("x"));
}

TEST(Safetensors, WritesViewsInRowMajorOrder) {
  const Tensor base = Tensor::arange(0, 12, 1, DType::Float64).reshape({3, 4});
  const Tensor transposed = base.t();             // [4,3], strides [1,4]
  const Tensor stepped = base.slice(1, 0, 4, 2);  // [3,2], columns 0 and 2
  const Tensor broadcast = Tensor::arange(0, 3, 1, DType::Float32).expand({2, 3});  // stride 0
  const SafetensorsFile file = parse_safetensors(
      serialize_safetensors({{"t", transposed}, {"s", stepped}, {"b", broadcast}}), "mem");
  EXPECT_EQ(file.at("t").to_vector<double>(),
            (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(file.at("s").to_vector<double>(), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(file.at("b").to_vector<float>(), (std::vector<float>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(file.at("b").shape(), (Shape{2, 3}));
}

TEST(Safetensors, WritesTheReferenceLayout) {
  // Compact JSON, metadata first, tensors in the given order, header padded with
  // spaces to a multiple of 8 bytes: what huggingface/safetensors writes.
  const Tensor a = Tensor::from_list({1, 2}, {2}, DType::Float32);
  const Tensor b = Tensor::from_list({3}, {1, 1}, DType::Int64);
  const std::string bytes = serialize_safetensors({{"b", b}, {"a", a}}, {{"format", "pt"}});
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[1,1],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  const std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');
  EXPECT_EQ(bytes, make_file(padded, bytes_of(b) + bytes_of(a)));
  EXPECT_EQ(padded.size() % 8, 0u);
}

TEST(Safetensors, ReturnsTensorsInDataOrder) {
  // Header order differs from data order; the reader reports data order.
  const std::string json = R"({"second":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                           R"("first":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  float data[2] = {1.0f, 2.0f};
  const SafetensorsFile file =
      parse_safetensors(make_file(json, std::string(reinterpret_cast<char*>(data), 8)), "mem");
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].first, "first");
  EXPECT_EQ(file.tensors[0].second.item(), 1.0);
  EXPECT_EQ(file.tensors[1].first, "second");
  EXPECT_EQ(file.tensors[1].second.item(), 2.0);
}

TEST(Safetensors, RoundTripsMetadataAndNamesWithEscapes) {
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"quote\"back\\slash", "line\nbreak\ttab\rcr\b\f"},
      {"control", std::string("a\x01z", 3)},
      {"unicode", "Grüße, 注意 🙂"},
      {"", ""}};
  const std::string name = "layer.0/\"w\"\\ü";
  const std::string bytes = serialize_safetensors({{name, Tensor::scalar(1.0)}}, metadata);
  const SafetensorsFile file = parse_safetensors(bytes, "mem");
  EXPECT_EQ(file.metadata, metadata);
  EXPECT_TRUE(file.contains(name));
  EXPECT_NE(bytes.find(R"(\u0001)"), std::string::npos);  // control characters escaped
}

TEST(Safetensors, ReadsJsonEscapesAndWhitespace) {
  // Whitespace anywhere JSON allows it, \/ and \u escapes including a surrogate pair.
  const std::string json =
      "{ \"__metadata__\" : { \"k\\/\\u00e9\" : \"\\ud83d\\ude42\" } ,\n"
      "\t\"x\" : { \"shape\" : [ 1 , 2 ] , \"data_offsets\" : [ 0 , 8 ], \"dtype\" : \"F32\" } }"
      "   ";
  const SafetensorsFile file = parse_safetensors(make_file(json, std::string(8, '\0')), "mem");
  EXPECT_EQ(file.metadata.at("k/\xc3\xa9"), "\xf0\x9f\x99\x82");
  EXPECT_EQ(file.at("x").shape(), (Shape{1, 2}));
}

TEST(Safetensors, AtNamesTheMissingTensor) {
  const SafetensorsFile file =
      parse_safetensors(serialize_safetensors({{"weight", Tensor::scalar(1.0)}}), "mem");
  try {
    file.at("bias");
    ADD_FAILURE() << "no error";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("'bias'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("weight"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RejectsBadArgumentsToTheWriter) {
  const Tensor x = Tensor::scalar(1.0);
  EXPECT_THROW(serialize_safetensors({{"a", x}, {"a", x}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"", x}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", x}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", Tensor()}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"bad\xff", x}}), std::invalid_argument);
  EXPECT_THROW(serialize_safetensors({{"a", x}}, {{"k", "\xc3"}}), std::invalid_argument);
}

// ---- bad files ---------------------------------------------------------------------------

const std::string kGood = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsBadFiles, TruncatedHeaderLength) {
  expect_bad("", 0, "too short for the 8-byte header length");
  expect_bad(std::string("\x10\0\0", 3), 0, "too short for the 8-byte header length");
  expect_bad(std::string(7, '\0'), 0, "too short");
}

TEST(SafetensorsBadFiles, HeaderLengthBeyondTheFile) {
  std::string bytes = make_file(kGood, std::string(8, '\0'));
  bytes[0] = static_cast<char>(kGood.size() + 9);  // one byte past the end
  expect_bad(bytes, 0, "runs past the end of the");
  // A length that would need a 64-bit wraparound to fit.
  std::string huge = bytes;
  for (int k = 0; k < 8; ++k) huge[static_cast<size_t>(k)] = '\xff';
  expect_bad(huge, 0, "exceeds the limit of 100000000 bytes");
  // The cap applies before the size check: 100'000'001 in a tiny file.
  std::string capped = bytes;
  uint64_t n = 100'000'001;
  for (int k = 0; k < 8; ++k, n >>= 8) capped[static_cast<size_t>(k)] = static_cast<char>(n & 0xFF);
  expect_bad(capped, 0, "exceeds the limit");
}

TEST(SafetensorsBadFiles, BadJsonNamesTheByte) {
  expect_bad_header("", 8, "must start with '{'");
  expect_bad_header(" " + kGood, 8, "must start with '{'");
  expect_bad_header("[]", 8, "must start with '{'");
  std::string j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},})";
  expect_bad_header(j, at(j, "}", j.size() - 2),
                    "invalid JSON: syntax error while parsing object key - unexpected '}'");
  j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_bad_header(j, 8 + j.size(), "unexpected end of input; expected '}'");
  j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} })";
  expect_bad_header(j, 8 + j.size() - 1, "unexpected '}'; expected end of input");
  j = R"({"a)";
  expect_bad_header(j, 8 + j.size(), "missing closing quote");
  j = R"({"a\udc00":1})";
  expect_bad_header(j, at(j, ":") - 2, "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
  j = std::string("{\"a\x01\":1}");
  expect_bad_header(j, 11, "control character U+0001 (SOH) must be escaped");
  j = std::string("{\"a\xc3(\":1}");  // the '(' ends the sequence the 0xc3 began
  expect_bad_header(j, 12, "ill-formed UTF-8 byte");
  j = std::string("{\"a\xc0\xaf\":1}");  // an overlong '/'
  expect_bad_header(j, 11, "ill-formed UTF-8 byte");
  expect_bad_headers({
      {R"({"a" {"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "{\"dtype",
       "unexpected '{'; expected ':'"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}x)", "x", "expected end of input"},
      {R"({"a:{"dtype":"F32"})", "dtype", "expected ':'"},
      {R"({"a\q":1})", "q", "forbidden character after backslash"},
      {R"({"a\u00g0":1})", "g", "'\\u' must be followed by 4 hex digits"},
      {R"({"a\ud800x":1})", "x", "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF"},
      {R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", ".0",
       "expected an integer, got a fraction"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "-2",
       "tensor 'a': \"shape\": expected a non-negative integer, got -2"},
      // JSON has no leading zeros
      {R"({"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}})", "2]",
       "unexpected number literal; expected ']'"},
      {R"({"a":{"dtype":"F32","shape":[2,],"data_offsets":[0,8]}})", "]", "unexpected ']'"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}})", "1844",
       "does not fit in 64 bits"},
      {R"({"a":{"dtype":F32,"shape":[2],"data_offsets":[0,8]}})", "F32", "invalid literal"},
      {R"({"a":[0,8]})", "[", "expected an object"},
      {R"({"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1",
       "metadata values must be strings"},
      {R"({"__metadata__":[],"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "[]",
       "must be an object of strings"},
  });
}

TEST(SafetensorsBadFiles, BadTensorEntries) {
  expect_bad_headers({
      {R"({"a":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}})", "\"F17",
       "tensor 'a': unknown dtype 'F17'"},
      {R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", "\"F16",
       "dtype F16 is valid safetensors but unsupported"},
      {R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", "\"f32", "unknown dtype 'f32'"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", "\"extra",
       "tensor 'a': unknown key 'extra'"},
      {R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "\"dtype",
       "duplicate key \"dtype\"", 10},
      {R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", "\"a", "tensor 'a': missing \"shape\""},
      {R"({"a":{}})", "\"a", "missing \"dtype\""},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", "[0,4",
       "must be [begin, end], got 3 numbers"},
      {R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,2],"data_offsets":[0,8]}})", "[1,",
       "rank 9 exceeds"},
      {R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", "[9",
       "does not fit in int64"},
      {R"({"__metadata__":{},"__metadata__":{},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "\"__metadata__", "duplicate \"__metadata__\"", 5},
      {R"({"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "\"k\":\"2", "duplicate metadata key 'k'"},
  });
}

TEST(SafetensorsBadFiles, ErrorsQuoteOnlyPrintableBytes) {
  // The parser quotes what it read last; a stray byte is shown as \xNN.
  const std::string j = std::string("{\"a\xc3(\":1}");
  expect_bad_header(j, 12, "last read: '\"a\\xc3('");
}

TEST(SafetensorsBadFiles, ValuesOfTheWrongKind) {
  expect_bad_headers({
      {R"({"a":"F32"})", "\"F32",
       "tensor 'a': expected an object {\"dtype\", \"shape\", \"data_offsets\"}, got a string"},
      {R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", "32",
       "tensor 'a': \"dtype\" must be a string, got a number"},
      {R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", "\"2\"",
       "tensor 'a': \"shape\" must be an array of integers, got a string"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":{"begin":0}}})", "{\"begin",
       "\"data_offsets\" must be an array of integers, got an object"},
      {R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", "[2]",
       "tensor 'a': \"shape\": expected a non-negative integer, got an array"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0, null]}})", "null",
       "\"data_offsets\": expected a non-negative integer, got null"},
      {R"({"a":{"dtype":"F32","shape":[true],"data_offsets":[0,8]}})", "true",
       "expected a non-negative integer, got true"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}})", "e0",
       "expected an integer, got a fraction: 8e0"},
      {R"({"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}})", "-0",
       "expected a non-negative integer, got -0"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-18446744073709551616,8]}})", "-18",
       "expected a non-negative integer, got -18446744073709551616"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", "[8]",
       "\"data_offsets\" must be [begin, end], got 1 numbers"},
      {R"({"__metadata__":{"k":{"nested":"x"}},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "{\"nested", "metadata values must be strings, got an object for 'k'"},
      {R"({"__metadata__":"pt","a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "\"pt",
       "\"__metadata__\" must be an object of strings, got a string"},
  });
}

TEST(SafetensorsBadFiles, ARepeatedKeyIsRefusedNotResolvedToItsLastValue) {
  // A JSON object that repeats a key is valid JSON, and a parse into a value keeps
  // one of them: here the last, "F32", would make a valid file of two floats
  // where the writer meant one double. The reader refuses the file instead.
  std::string j = R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8],"dtype":"F32"}})";
  expect_bad_header(j, at(j, "\"dtype\":\"F32"), "tensor 'a': duplicate key \"dtype\"");
  // Whitespace before a repeated key does not move the reported byte off the key.
  j = "{\"__metadata__\":{\"k\":\"1\" ,\n \"k\":\"2\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
      "\"data_offsets\":[0,8]}}";
  expect_bad_header(j, at(j, "\"k\":\"2"), "duplicate metadata key 'k'");
}

TEST(SafetensorsBadFiles, DuplicateName) {
  const std::string j = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_bad_header(j, at(j, "\"a", 2), "duplicate tensor name 'a'");
}

TEST(SafetensorsBadFiles, ShapeAndSizeDisagree) {
  std::string j = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  expect_bad_header(j, at(j, "[0,8]"),
                    "shape [3] of F32 needs 12 bytes, but data_offsets [0, 8) hold 8");
  j = R"({"a":{"dtype":"F64","shape":[],"data_offsets":[0,4]}})";
  expect_bad(make_file(j, std::string(4, '\0')), at(j, "[0,4]"), "needs 8 bytes");
  // Π shape overflows 64 bits: refused, not wrapped around to a small number.
  j = R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})";
  expect_bad(make_file(j), at(j, "[4294"), "is too large");
  // A zero makes the tensor empty but does not excuse the other sizes: strides are
  // computed from them.
  j = R"({"a":{"dtype":"F64","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})";
  expect_bad(make_file(j), at(j, "[4294"), "is too large");
  j = R"({"a":{"dtype":"F64","shape":[1000000,0,3],"data_offsets":[0,0]}})";
  EXPECT_EQ(parse_safetensors(make_file(j), "mem").at("a").shape(), (Shape{1000000, 0, 3}));
}

TEST(SafetensorsBadFiles, OffsetsOutOfRange) {
  std::string j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_bad(make_file(j, std::string(4, '\0')), at(j, "[0,8]"),
             "data_offsets [0, 8) run past the 4-byte data section");
  j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})";
  expect_bad_header(j, at(j, "[8,0]"), "end before they begin");
  j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551615,7]}})";
  expect_bad_header(j, at(j, "[1844"), "end before they begin");
}

TEST(SafetensorsBadFiles, OverlappingRanges) {
  std::string j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_bad(make_file(j, std::string(12, '\0')), at(j, "[4,12]"),
             "tensor 'b': data_offsets [4, 12) overlap tensor 'a' at [0, 8)");
  // The same range twice.
  j = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_bad_header(j, at(j, "[0,8]", j.find("\"b")), "overlap tensor 'a'");
}

TEST(SafetensorsBadFiles, DataNotFullyCovered) {
  // A gap at the start, a gap in the middle, bytes left over at the end.
  std::string j = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  uint64_t data_start = 8 + j.size();
  expect_bad_header(j, data_start, "data bytes [0, 4) belong to no tensor");
  j = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  data_start = 8 + j.size();
  expect_bad(make_file(j, std::string(12, '\0')), data_start + 4,
             "data bytes [4, 8) belong to no tensor");
  j = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  data_start = 8 + j.size();
  expect_bad(make_file(j, std::string(5, '\0')), data_start + 4,
             "data bytes [4, 5) belong to no tensor");
  expect_bad(make_file("{}", "x"), 10, "data bytes [0, 1) belong to no tensor");
}

TEST(SafetensorsBadFiles, BoolBytesOtherThanZeroOrOne) {
  const std::string j = R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
  const uint64_t data_start = 8 + j.size();
  expect_bad(make_file(j, std::string("\x01\x00\x02", 3)), data_start + 2,
             "tensor 'm': BOOL element 2 is 2, not 0 or 1");
}

TEST_F(SafetensorsFiles, ErrorsFromDiskNameThePath) {
  const std::string file = path("broken.safetensors");
  {
    std::ofstream out(file, std::ios::binary);
    const std::string bytes = make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                        std::string(8, '\0'));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    read_safetensors(file);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file + ": byte "), std::string::npos) << e.what();
  }
  const std::string missing = path("missing.safetensors");
  try {
    read_safetensors(missing);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(read_safetensors(dir_.string()), std::runtime_error);  // a folder
}

// ---- atomic writes -----------------------------------------------------------------------

TEST_F(SafetensorsFiles, WriteThenReadLeavesNoTemporaryFile) {
  const std::string file = path("model.safetensors");
  const Tensor w = Tensor::arange(0, 6, 1, DType::Float32).reshape({2, 3});
  write_safetensors(file, {{"w", w}}, {{"step", "1"}});
  const SafetensorsFile back = read_safetensors(file);
  expect_same_tensor(back.at("w"), w);
  EXPECT_EQ(back.metadata.at("step"), "1");
  EXPECT_TRUE(others("model.safetensors").empty());
  // Overwriting replaces the content.
  write_safetensors(file, {{"w2", w.t()}});
  EXPECT_FALSE(read_safetensors(file).contains("w"));
  EXPECT_TRUE(others("model.safetensors").empty());
}

TEST_F(SafetensorsFiles, FailedWriteLeavesTheOldFileIntact) {
  const std::string file = path("model.safetensors");
  const Tensor old_w = Tensor::from_list({1, 2, 3}, {3});
  write_safetensors(file, {{"w", old_w}});
  std::string old_bytes;
  {
    std::ifstream in(file, std::ios::binary);
    old_bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The temporary file's name is taken by a folder, so the write fails at its
  // first step. (Permissions would not stop these tests: they run as root.)
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  fs::create_directory(tmp);
  try {
    write_safetensors(file, {{"w", Tensor::zeros({1000})}});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
  }
  std::string now;
  {
    std::ifstream in(file, std::ios::binary);
    now.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(now, old_bytes);
  expect_same_tensor(read_safetensors(file).at("w"), old_w);
  EXPECT_TRUE(fs::is_directory(tmp));  // not ours: left alone
  fs::remove(tmp);

  // Bad arguments are refused before anything touches the disk.
  EXPECT_THROW(write_safetensors(file, {{"a", old_w}, {"a", old_w}}), std::invalid_argument);
  EXPECT_EQ(read_safetensors(file).tensors.size(), 1u);
  EXPECT_TRUE(others("model.safetensors").empty());
}

TEST_F(SafetensorsFiles, FailedRenameRemovesTheTemporaryFile) {
  // `path` is an existing folder: the temporary file is written, rename() fails
  // (a file cannot replace a folder), and the temporary file must be gone.
  const std::string target = path("a_folder");
  fs::create_directory(target);
  try {
    write_safetensors(target, {{"w", Tensor::ones({4})}});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rename"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_TRUE(others("a_folder").empty());
}

TEST_F(SafetensorsFiles, WriteIntoAMissingFolderNamesThePathAndErrno) {
  const std::string file = path("no/such/folder/model.safetensors");
  try {
    write_safetensors(file, {{"w", Tensor::ones({4})}});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(path("no")));
}

// ---- write_file_atomically, which write_safetensors and the examples' pictures use ----

std::string read_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(SafetensorsFiles, AtomicWriteStoresEveryByteAndReplacesTheOldContent) {
  const std::string file = path("data.bin");
  const std::string bytes("a\0b\n\xff", 5);
  write_file_atomically(file, bytes);
  EXPECT_EQ(read_file(file), bytes);
  write_file_atomically(file, "");
  EXPECT_TRUE(fs::exists(file));
  EXPECT_EQ(fs::file_size(file), 0u);
  write_file_atomically(file, std::string(1 << 20, 'x'));
  EXPECT_EQ(fs::file_size(file), 1u << 20);
  EXPECT_TRUE(others("data.bin").empty());
}

TEST_F(SafetensorsFiles, AFailedAtomicWriteKeepsTheOldFileAndRemovesItsTemporary) {
  const std::string file = path("data.bin");
  write_file_atomically(file, "old");
  // rename() fails: the target is a folder; the temporary file must be gone.
  const std::string folder = path("folder");
  fs::create_directory(folder);
  try {
    write_file_atomically(folder, "new");
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(folder + ": rename"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(folder));
  // The temporary file cannot be created: the error names the file and the reason.
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  fs::create_directory(tmp);
  try {
    write_file_atomically(file, "new");
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(file + ": cannot create " + tmp, 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
  }
  fs::remove(tmp);
  EXPECT_EQ(read_file(file), "old");
  std::vector<std::string> left = others("data.bin");
  EXPECT_EQ(left, std::vector<std::string>{"folder"});
  // A missing folder is not created.
  EXPECT_THROW(write_file_atomically(path("no/such/file"), "x"), std::runtime_error);
  EXPECT_FALSE(fs::exists(path("no")));
}

// ---- an independent reader ---------------------------------------------------------------

TEST_F(SafetensorsFiles, PythonReadsWhatWeWrite) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not found";
  const std::string file = path("for_python.safetensors");
  write_safetensors(
      file,
      {{"x", Tensor::arange(0, 24, 1, DType::Float32).reshape({2, 3, 4})},
       // transposed before writing: the checker must see row-major 0, 1, 2, ...
       {"y", Tensor::arange(0, 6, 1, DType::Float64).reshape({3, 2}).t().contiguous().t()},
       {"ids", Tensor::arange(0, 5, 1, DType::Int64)},
       {"mask", gt(Tensor::from_list({1, -1, 1}, {3}), 0.0)},
       {"s", Tensor::scalar(-2.5, DType::Float64)},
       {"e", Tensor::zeros({0, 3})}},
      {{"format", "pt"}, {"note", "a \"quoted\" line\n"}});
  const std::string f = "'" + file + "'";
  EXPECT_EQ(testing::run_safetensors_checker(
                f + " --count 6 --arange x --shape x=2,3,4 --dtype x=F32"
                    " --arange y --shape y=3,2 --dtype y=F64"
                    " --arange ids --dtype ids=I64 --values mask=1,0,1 --dtype mask=BOOL"
                    " --values s=-2.5 --shape s= --shape e=0,3 --values e="
                    " --metadata format=pt"),
            0);
  // The checker can fail: a wrong expectation must give exit code 1.
  EXPECT_EQ(testing::run_safetensors_checker(f + " --values s=2.5"), 1);
  EXPECT_EQ(testing::run_safetensors_checker(f + " --arange mask"), 1);
}

}  // namespace
}  // namespace minigrad
