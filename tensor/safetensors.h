/// \file
/// The safetensors file format (github.com/huggingface/safetensors), read and
/// written:
///
///     bytes 0..7      N, the header length, unsigned 64-bit little-endian
///     bytes 8..8+N    a JSON object: name → {"dtype": "F32", "shape": [2,3],
///                     "data_offsets": [begin, end]}, plus an optional
///                     "__metadata__": {string: string}
///     bytes 8+N..     the raw little-endian data; offsets are relative to here
///
/// Supported dtypes: F32, F64, I64, BOOL. Reading validates everything before it
/// returns: header length against the file size, the JSON, each dtype, that
/// shape × dtype size equals the byte range, that ranges lie inside the data and
/// do not overlap. A key repeated in one object, or one the format does not have,
/// is refused. Errors throw std::runtime_error naming the file, the byte offset
/// where it applies (for malformed JSON, where the parser stopped) and the problem.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/tensor/tensor.h"

namespace minigrad {

/// The contents of a safetensors file, as read_safetensors() or
/// parse_safetensors() return them.
struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  ///< in file order (by data offset)
  std::map<std::string, std::string> metadata;  ///< the header's "__metadata__" (empty without)
  std::string origin;  ///< the file name (or the name given to parse_safetensors)
  /// The tensor with this name; throws std::out_of_range naming it and the file.
  const Tensor& at(const std::string& name) const;
  /// Whether the file has a tensor with this name.
  bool contains(const std::string& name) const;
};

/// Reads and validates the file at `path` (see the checks above); errors name `path`.
SafetensorsFile read_safetensors(const std::string& path);
/// Parses bytes already in memory (the fuzzer's entry point); `origin` names them in errors.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& origin);

/// Atomic and durable, by write_file_atomically() (atomic_file.h): `path` holds
/// either its old content or the whole new file, whatever happens. Names must be
/// unique and non-empty. Errors: std::invalid_argument for bad tensors or names
/// (before anything is written), std::runtime_error starting "write_safetensors:"
/// and naming `path` for a failed write.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
/// The bytes write_safetensors() would write.
std::string serialize_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace minigrad
