// The caching allocator: same-size buffers are handed out again instead of
// reaching the system allocator, and the statistics add up; the same for the
// per-thread pool of small objects.
#include "minigrad/tensor/allocator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "minigrad/tensor/ops.h"

namespace minigrad {
namespace {

TEST(Allocator, SameSizeTensorsReuseBuffers) {
  // A training step makes the same temporaries every iteration: after the first
  // one, nothing should reach malloc.
  const Tensor w = Tensor::ones({64, 32});
  const Tensor x = Tensor::ones({8, 64});
  auto step = [&] {
    const Tensor h = tanh(matmul(x, w));
    const Tensor s = softmax(add(h, 1.0), -1);
    return sum(mul(s, h)).item();
  };
  step();
  step();
  const size_t allocs = allocator_stats().system_allocs;
  const size_t live = allocator_stats().live_buffers;
  for (int i = 0; i < 50; ++i) step();
  EXPECT_EQ(allocator_stats().system_allocs, allocs);
  EXPECT_EQ(allocator_stats().live_buffers, live);  // every temporary was released
}

TEST(Allocator, SizesSharePowerOfTwoClasses) {
  { const Tensor warm = Tensor::empty({25}); }  // 100 bytes → the 128-byte class
  const size_t allocs = allocator_stats().system_allocs;
  for (int64_t n : {17, 20, 32, 25}) {  // 68..128 bytes: all one class
    const Tensor t = Tensor::empty({n});
    EXPECT_EQ(t.storage()->bytes(), 128u);
  }
  EXPECT_EQ(allocator_stats().system_allocs, allocs);
  EXPECT_EQ(Tensor::empty({0}).storage()->bytes(), 64u);  // the smallest class
}

TEST(Allocator, StatisticsBalance) {
  const AllocatorStats before = allocator_stats();
  {
    const Tensor a = Tensor::empty({1000});  // 4000 bytes → 4096
    const AllocatorStats during = allocator_stats();
    EXPECT_EQ(during.live_buffers, before.live_buffers + 1);
    EXPECT_EQ(during.live_bytes, before.live_bytes + 4096);
  }
  const AllocatorStats after = allocator_stats();
  EXPECT_EQ(after.live_buffers, before.live_buffers);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_GE(after.cached_bytes, 4096u);
  empty_cache();
  EXPECT_EQ(allocator_stats().cached_bytes, 0u);
  // after emptying the cache the next buffer comes from the system again
  const size_t allocs = allocator_stats().system_allocs;
  { const Tensor b = Tensor::empty({1000}); }
  EXPECT_EQ(allocator_stats().system_allocs, allocs + 1);
}

TEST(Allocator, ImpossibleSizeThrowsBadAlloc) {
  const AllocatorStats before = allocator_stats();
  // 2^25 · 2^25 floats = 2^52 bytes: no machine has that
  EXPECT_THROW(Tensor::empty({int64_t{1} << 25, int64_t{1} << 25}), std::bad_alloc);
  EXPECT_THROW(Tensor::empty({int64_t{1} << 31, int64_t{1} << 31}), std::bad_alloc);  // 2^64 bytes
  const AllocatorStats after = allocator_stats();
  EXPECT_EQ(after.live_buffers, before.live_buffers);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
}

// ---- the object pool ---------------------------------------------------------------------

TEST(ObjectPool, ReleasedBlocksAreHandedOutAgain) {
  void* warm = allocate_object(200);
  release_object(warm, 200);
  const ObjectPoolStats before = object_pool_stats();
  EXPECT_GE(before.cached_blocks, 1u);
  // 193..224 bytes share one class: each request takes the block the last one gave back
  for (size_t bytes : {200u, 193u, 224u}) {
    void* p = allocate_object(bytes);
    EXPECT_EQ(object_pool_stats().cached_blocks, before.cached_blocks - 1);
    std::memset(p, 0xab, bytes);  // the whole request is usable
    release_object(p, bytes);
  }
  EXPECT_EQ(object_pool_stats().system_allocs, before.system_allocs);
  EXPECT_EQ(object_pool_stats().cached_blocks, before.cached_blocks);
}

TEST(ObjectPool, LargeObjectsGoToTheSystem) {
  const size_t allocs = object_pool_stats().system_allocs;
  const size_t cached = object_pool_stats().cached_blocks;
  for (int i = 0; i < 3; ++i) {
    void* p = allocate_object(4096);
    release_object(p, 4096);
  }
  EXPECT_EQ(object_pool_stats().system_allocs, allocs + 3);
  EXPECT_EQ(object_pool_stats().cached_blocks, cached);
}

TEST(ObjectPool, EmptyCacheReturnsThisThreadsBlocks) {
  release_object(allocate_object(64), 64);
  EXPECT_GT(object_pool_stats().cached_blocks, 0u);
  empty_cache();
  EXPECT_EQ(object_pool_stats().cached_blocks, 0u);
}

TEST(ObjectPool, TensorsTakeTheirStorageFromThePool) {
  auto make = [] {
    const Tensor t = Tensor::zeros({3});
    return sum(add(t, 1.0)).item();
  };
  make();
  const size_t allocs = object_pool_stats().system_allocs;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(make(), 3.0);
  EXPECT_EQ(object_pool_stats().system_allocs, allocs);
}

// A block made on one thread and released on another joins the releasing thread's
// lists; the first thread's lists go back to the system when it ends.
TEST(ObjectPool, BlocksMoveBetweenThreads) {
  std::vector<void*> made(100);
  std::thread maker([&] {
    for (void*& p : made) {
      p = allocate_object(96);
      std::memset(p, 1, 96);
    }
    release_object(allocate_object(96), 96);  // leaves one block in its own lists
  });
  maker.join();
  const size_t cached = object_pool_stats().cached_blocks;
  for (void* p : made) release_object(p, 96);
  EXPECT_EQ(object_pool_stats().cached_blocks, cached + made.size());
  const size_t allocs = object_pool_stats().system_allocs;
  for (void*& p : made) p = allocate_object(96);
  EXPECT_EQ(object_pool_stats().system_allocs, allocs);  // all 100 came from this thread's lists
  for (void* p : made) release_object(p, 96);
}

}  // namespace
}  // namespace minigrad
