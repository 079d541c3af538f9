/// \file
/// A caching allocator: freed buffers are kept in per-size free lists and handed
/// out again, so a training step that makes the same tensors every iteration
/// stops calling malloc after the first one. Sizes are rounded up to a power of
/// two (at least 64 bytes); buffers are 64-byte aligned for AVX-512 loads.
#pragma once

#include <cstddef>

namespace minigrad {

void* allocate_buffer(size_t bytes, size_t* capacity);
void release_buffer(void* ptr, size_t capacity);

struct AllocatorStats {
  size_t live_buffers = 0;   ///< handed out and not yet released
  size_t live_bytes = 0;
  size_t cached_bytes = 0;   ///< held in the free lists
  size_t system_allocs = 0;  ///< calls that reached the system allocator
};
AllocatorStats allocator_stats();
/// Returns every cached buffer to the system.
void empty_cache();

}  // namespace minigrad
