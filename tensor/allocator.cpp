#include "minigrad/tensor/allocator.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#include <pthread.h>
#endif

// Under valgrind (built with -DMINIGRAD_VALGRIND=ON) the pool tells memcheck what a
// cached buffer is: its first `bytes` are a fresh, undefined allocation, the rest of
// its power-of-two capacity and every buffer sitting in a free list are off limits.
// Without this, a read past the end of a tensor, or of a tensor already released,
// would land in pool memory that memcheck believes is in use, and go unseen.
#if defined(MINIGRAD_VALGRIND)
#include <valgrind/memcheck.h>
#define MINIGRAD_MEM_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS(p, n)
#define MINIGRAD_MEM_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#else
#define MINIGRAD_MEM_NOACCESS(p, n) ((void)(p), (void)(n))
#define MINIGRAD_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#endif

// The object pool also tells AddressSanitizer: a node or variable used after it was
// freed lies in a poisoned block (until the pool hands the block out again).
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define MINIGRAD_OBJ_POISON(p, n) (ASAN_POISON_MEMORY_REGION(p, n), MINIGRAD_MEM_NOACCESS(p, n))
#define MINIGRAD_OBJ_UNPOISON(p, n) \
  (ASAN_UNPOISON_MEMORY_REGION(p, n), MINIGRAD_MEM_UNDEFINED(p, n))
#else
#define MINIGRAD_OBJ_POISON(p, n) MINIGRAD_MEM_NOACCESS(p, n)
#define MINIGRAD_OBJ_UNPOISON(p, n) MINIGRAD_MEM_UNDEFINED(p, n)
#endif

namespace minigrad {
namespace {

#if defined(_OPENMP)
// A process that forks after an OpenMP region has run keeps libgomp's record of its
// thread team, but the child has only the thread that called fork(): the child's first
// parallel region would wait forever for threads that do not exist. So a child runs
// with one thread (it may ask for more, at that risk, with omp_set_num_threads), as
// PyTorch's children do. Registered here because every program that makes a tensor
// links this file.
[[maybe_unused]] const int g_fork_handler =
    pthread_atfork(nullptr, nullptr, [] { omp_set_num_threads(1); });
#endif

constexpr size_t kAlignment = 64;
constexpr int kNumClasses = 48;  // class c holds buffers of 2^c bytes, c = 6 .. 47
constexpr size_t kMaxBytes = size_t{1} << (kNumClasses - 1);

int size_class(size_t bytes) {
  int c = 6;
  while ((size_t{1} << c) < bytes) ++c;
  return c;
}

struct Pool {
  std::mutex mutex;
  std::vector<void*> free_lists[kNumClasses];
  AllocatorStats stats;
};

// Leaked on purpose: tensors with static storage duration may release buffers
// after a normal static Pool would already have been destroyed.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void* allocate_buffer(size_t bytes, size_t* capacity) {
  // Beyond the largest class (128 TiB) no machine has the memory; refusing here
  // also keeps size_class() from indexing past the free lists.
  if (bytes > kMaxBytes) throw std::bad_alloc();
  const int c = size_class(bytes == 0 ? 1 : bytes);
  const size_t cap = size_t{1} << c;
  *capacity = cap;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    ++p.stats.live_buffers;
    p.stats.live_bytes += cap;
    auto& list = p.free_lists[c];
    if (!list.empty()) {
      void* ptr = list.back();
      list.pop_back();
      p.stats.cached_bytes -= cap;
      MINIGRAD_MEM_UNDEFINED(ptr, bytes);
      MINIGRAD_MEM_NOACCESS(static_cast<char*>(ptr) + bytes, cap - bytes);
      return ptr;
    }
    ++p.stats.system_allocs;
  }
  void* ptr = std::aligned_alloc(kAlignment, cap);
  if (!ptr) {
    std::lock_guard<std::mutex> lock(p.mutex);
    --p.stats.live_buffers;
    p.stats.live_bytes -= cap;
    throw std::bad_alloc();
  }
  MINIGRAD_MEM_NOACCESS(static_cast<char*>(ptr) + bytes, cap - bytes);
  return ptr;
}

void release_buffer(void* ptr, size_t capacity) {
  if (!ptr) return;
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  --p.stats.live_buffers;
  p.stats.live_bytes -= capacity;
  p.stats.cached_bytes += capacity;
  p.free_lists[size_class(capacity)].push_back(ptr);
  MINIGRAD_MEM_NOACCESS(ptr, capacity);
}

AllocatorStats allocator_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

// ---- the object pool -------------------------------------------------------------------

namespace {

constexpr size_t kObjectGrain = 32;
constexpr size_t kMaxObjectBytes = 2048;
constexpr size_t kObjectClasses = kMaxObjectBytes / kObjectGrain;  // class c: (c+1)·32 bytes

size_t object_class(size_t bytes) { return (bytes + kObjectGrain - 1) / kObjectGrain - 1; }

std::atomic<size_t> g_object_system_allocs{0};

// One per thread, so the hot path takes no lock. Its destructor runs when the thread
// ends (for the main thread: at exit, before static objects are destroyed), returns
// every cached block to the system and marks the thread's cache as gone; blocks
// released after that (by tensors with static storage duration) go straight to free().
struct ObjectCache {
  std::vector<void*> free_lists[kObjectClasses];
  void clear() {
    for (size_t c = 0; c < kObjectClasses; ++c) {
      for (void* ptr : free_lists[c]) {
        MINIGRAD_OBJ_UNPOISON(ptr, (c + 1) * kObjectGrain);
        std::free(ptr);
      }
      free_lists[c].clear();
    }
  }
  ~ObjectCache();
};
thread_local bool t_cache_gone = false;
thread_local ObjectCache t_cache;
ObjectCache::~ObjectCache() {
  clear();
  t_cache_gone = true;
}

void* system_object(size_t bytes) {
  g_object_system_allocs.fetch_add(1, std::memory_order_relaxed);
  void* ptr = std::malloc(bytes);
  if (!ptr) throw std::bad_alloc();
  return ptr;
}

}  // namespace

void* allocate_object(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > kMaxObjectBytes || t_cache_gone) return system_object(bytes);
  const size_t c = object_class(bytes);
  auto& list = t_cache.free_lists[c];
  if (list.empty()) return system_object((c + 1) * kObjectGrain);
  void* ptr = list.back();
  list.pop_back();
  MINIGRAD_OBJ_UNPOISON(ptr, bytes);
  return ptr;
}

void release_object(void* ptr, size_t bytes) noexcept {
  if (!ptr) return;
  if (bytes == 0) bytes = 1;
  if (bytes > kMaxObjectBytes || t_cache_gone) {
    std::free(ptr);
    return;
  }
  const size_t c = object_class(bytes);
  try {
    t_cache.free_lists[c].push_back(ptr);
  } catch (const std::bad_alloc&) {  // no memory to grow the list: hand the block back
    std::free(ptr);
    return;
  }
  MINIGRAD_OBJ_POISON(ptr, (c + 1) * kObjectGrain);
}

ObjectPoolStats object_pool_stats() {
  ObjectPoolStats s;
  s.system_allocs = g_object_system_allocs.load(std::memory_order_relaxed);
  if (!t_cache_gone) {
    for (const auto& list : t_cache.free_lists) s.cached_blocks += list.size();
  }
  return s;
}

void empty_cache() {
  if (!t_cache_gone) t_cache.clear();
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (int c = 0; c < kNumClasses; ++c) {
    for (void* ptr : p.free_lists[c]) {
      MINIGRAD_MEM_UNDEFINED(ptr, size_t{1} << c);  // hand the whole block back to free()
      std::free(ptr);
    }
    p.free_lists[c].clear();
  }
  p.stats.cached_bytes = 0;
}

}  // namespace minigrad
