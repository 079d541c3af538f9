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
/// Returns every cached buffer, and the calling thread's cached objects (below), to
/// the system.
void empty_cache();

/// Small objects (the control block and Storage of every tensor, the graph nodes and
/// variables of autograd) come from a second pool: per-thread free lists of blocks in
/// multiples of 32 bytes up to 2 KiB. An op records a node and returns a variable
/// holding a fresh tensor; a training step does so thousands of times, with the
/// same sizes every step, and malloc's short per-size caches overflow into its
/// general paths, which then dominate the cost of an op on small tensors. A block
/// freed on another thread joins that thread's lists; a thread's lists go back to
/// the system when the thread ends. Larger requests go straight to the system.
void* allocate_object(size_t bytes);
/// Returns a block from allocate_object; `bytes` must be the size it was asked for.
void release_object(void* ptr, size_t bytes) noexcept;

struct ObjectPoolStats {
  size_t system_allocs = 0;  ///< requests, on any thread, that reached the system allocator
  size_t cached_blocks = 0;  ///< blocks waiting in the calling thread's free lists
};
ObjectPoolStats object_pool_stats();

/// A standard allocator over allocate_object, for std::allocate_shared and containers:
/// `std::allocate_shared<Node>(PoolAllocator<Node>(), ...)` puts the object and its
/// reference counts in one pooled block.
template <class T>
struct PoolAllocator {
  static_assert(alignof(T) <= alignof(std::max_align_t), "pool blocks are malloc-aligned");
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(allocate_object(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { release_object(p, n * sizeof(T)); }
  friend bool operator==(const PoolAllocator&, const PoolAllocator&) { return true; }
  friend bool operator!=(const PoolAllocator&, const PoolAllocator&) { return false; }
};

}  // namespace minigrad
