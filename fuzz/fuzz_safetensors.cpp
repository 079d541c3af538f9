// Fuzz target (a): the checkpoint loader on arbitrary bytes.
//
//   parse_safetensors(bytes) either throws std::runtime_error (a malformed
//   file: the documented error) or returns tensors that describe the bytes
//   exactly. Anything else -- another exception type, a crash, an
//   out-of-bounds read, undefined behaviour, a leak -- is a bug.
//
// What a successful parse must satisfy:
//   - no two tensors share a name (a repeated key is refused, never resolved to
//     one of its values);
//   - the tensors' byte sizes add up to the data section (they tile it);
//   - writing them back with serialize_safetensors and parsing that again gives
//     the same names, dtypes, shapes, bytes and metadata (a round trip);
//   - a second serialization is byte-identical to the first (the writer is a
//     function of the tensors alone).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <stdexcept>
#include <string>

#include "minigrad/tensor/safetensors.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz_safetensors: INVARIANT BROKEN: %s %s\n", what, detail.c_str());
  std::abort();
}

bool same_bytes(const minigrad::Tensor& a, const minigrad::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * minigrad::dtype_size(a.dtype());
  return n == 0 || std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), n) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  minigrad::SafetensorsFile file;
  try {
    file = minigrad::parse_safetensors(bytes, "fuzz-input");
  } catch (const std::runtime_error& e) {
    // The documented error; it must say where: "<origin>: byte <n>: <problem>".
    if (std::strncmp(e.what(), "fuzz-input: byte ", 17) != 0)
      fail("error without origin and byte:", e.what());
    return 0;
  } catch (const std::exception& e) {
    fail("undocumented exception type from parse_safetensors:", e.what());
  }

  std::set<std::string> names;
  for (const auto& entry : file.tensors)
    if (!names.insert(entry.first).second)
      fail("a repeated tensor name was accepted:", entry.first);

  // The data section is tiled exactly by the tensors.
  uint64_t header = 0;
  for (int k = 7; k >= 0; --k) header = (header << 8) | data[k];
  uint64_t total = 0;
  for (const auto& [name, t] : file.tensors) {
    if (!t.defined() || !t.is_contiguous()) fail("tensor not defined or not contiguous:", name);
    total += static_cast<uint64_t>(t.numel()) * minigrad::dtype_size(t.dtype());
  }
  if (total != size - 8 - header) fail("tensor bytes do not add up to the data section");

  // Round trip. The writer refuses names the reader accepts only for the empty
  // name (a valid JSON key that minigrad will not write); skip those files.
  for (const auto& [name, t] : file.tensors)
    if (name.empty()) return 0;
  std::string again;
  try {
    again = minigrad::serialize_safetensors(file.tensors, file.metadata);
  } catch (const std::exception& e) {
    fail("could not write back what was read:", e.what());
  }
  minigrad::SafetensorsFile back;
  try {
    back = minigrad::parse_safetensors(again, "round-trip");
  } catch (const std::exception& e) {
    fail("could not read back what was written:", e.what());
  }
  if (back.metadata != file.metadata) fail("metadata changed in the round trip");
  if (back.tensors.size() != file.tensors.size()) fail("tensor count changed in the round trip");
  for (const auto& [name, t] : file.tensors) {
    if (!back.contains(name)) fail("tensor lost in the round trip:", name);
    if (!same_bytes(back.at(name), t)) fail("tensor changed in the round trip:", name);
  }
  if (minigrad::serialize_safetensors(back.tensors, back.metadata) !=
      minigrad::serialize_safetensors(file.tensors, file.metadata)) {
    // Same tensors in the same file order must give the same bytes.
    bool same_order = true;
    for (size_t i = 0; i < file.tensors.size(); ++i)
      same_order &= back.tensors[i].first == file.tensors[i].first;
    if (same_order) fail("serialization is not deterministic");
  }
  return 0;
}
