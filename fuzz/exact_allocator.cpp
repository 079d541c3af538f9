// The fuzz build's stand-in for tensor/allocator.cpp (same interface,
// tensor/allocator.h), buffers and objects alike.
//
// The real allocator rounds every buffer up to a power of two and keeps freed
// buffers for reuse. Both hide memory errors from AddressSanitizer: a read of
// element 5 of a 3-float tensor lands inside the 64-byte buffer, and a freed
// buffer that is handed out again is never "freed" as far as ASan can tell.
// Here every buffer has exactly the bytes asked for and goes straight back to
// the system, so ASan sees the first byte past any tensor and every use after free.
#include <cstdlib>
#include <mutex>
#include <new>

#include "minigrad/tensor/allocator.h"

namespace minigrad {
namespace {

std::mutex& stats_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
AllocatorStats& stats() {
  static AllocatorStats* s = new AllocatorStats;
  return *s;
}

ObjectPoolStats& object_stats() {
  static ObjectPoolStats* s = new ObjectPoolStats;
  return *s;
}

}  // namespace

void* allocate_buffer(size_t bytes, size_t* capacity) {
  // Same refusal as the real allocator: nothing beyond 128 TiB.
  if (bytes > (size_t{1} << 47)) throw std::bad_alloc();
  void* ptr = nullptr;
  // 64-byte aligned like the real buffers; at least one byte so a zero-size
  // tensor still has a distinct, freeable pointer.
  if (posix_memalign(&ptr, 64, bytes == 0 ? 1 : bytes) != 0 || ptr == nullptr) throw std::bad_alloc();
  *capacity = bytes;
  std::lock_guard<std::mutex> lock(stats_mutex());
  ++stats().live_buffers;
  stats().live_bytes += bytes;
  ++stats().system_allocs;
  return ptr;
}

void release_buffer(void* ptr, size_t capacity) {
  if (!ptr) return;
  std::free(ptr);
  std::lock_guard<std::mutex> lock(stats_mutex());
  --stats().live_buffers;
  stats().live_bytes -= capacity;
}

AllocatorStats allocator_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex());
  return stats();
}

void empty_cache() {}

// Objects (tensor storages, graph nodes) are not pooled either: ASan sees each use
// after free.
void* allocate_object(size_t bytes) {
  void* ptr = std::malloc(bytes == 0 ? 1 : bytes);
  if (!ptr) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(stats_mutex());
  ++object_stats().system_allocs;
  return ptr;
}

void release_object(void* ptr, size_t) noexcept { std::free(ptr); }

ObjectPoolStats object_pool_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex());
  return object_stats();
}

}  // namespace minigrad
