// What cpu_info() reports: cache sizes from a sysfs tree (a fake one here, including
// broken files), sysconf and cpuid agreeing where both answer, and instruction sets.
#include "minigrad/tensor/cpu.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace fs = std::filesystem;

namespace {

using minigrad::cache_sizes_from_cpuid;
using minigrad::cache_sizes_from_sysconf;
using minigrad::cache_sizes_from_sysfs;
using minigrad::CacheSizes;
using minigrad::cpu_info;

// A temporary folder laid out like /sys/devices/system/cpu/cpu0/cache, removed at the end.
class FakeSysfs {
 public:
  FakeSysfs() {
    root_ = fs::temp_directory_path() /
            ("minigrad_sysfs_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakeSysfs() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  FakeSysfs(const FakeSysfs&) = delete;
  FakeSysfs& operator=(const FakeSysfs&) = delete;

  // index<i>/{level,type,size}, each written as given (with a newline, as the kernel does).
  void cache(int i, const std::string& level, const std::string& type, const std::string& size) {
    const fs::path dir = root_ / ("index" + std::to_string(i));
    fs::create_directories(dir);
    std::ofstream(dir / "level") << level << "\n";
    std::ofstream(dir / "type") << type << "\n";
    std::ofstream(dir / "size") << size << "\n";
  }
  fs::path dir(int i) const { return root_ / ("index" + std::to_string(i)); }
  std::string root() const { return root_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path root_;
};

// The sizes a source found, in bytes; it must have found some.
void expect_sizes(const std::optional<CacheSizes>& got, size_t l1d, size_t l2, size_t l3) {
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->l1d_bytes, l1d);
  EXPECT_EQ(got->l2_bytes, l2);
  EXPECT_EQ(got->l3_bytes, l3);
}

// A Zen 5 core as Linux lists it: L1d, L1i, L2, L3.
TEST(CpuSysfs, ReadsDataAndUnifiedCachesOfEachLevel) {
  FakeSysfs s;
  s.cache(0, "1", "Data", "48K");
  s.cache(1, "1", "Instruction", "32K");
  s.cache(2, "2", "Unified", "1024K");
  s.cache(3, "3", "Unified", "32768K");
  expect_sizes(cache_sizes_from_sysfs(s.root()), 48u * 1024, 1024u * 1024, 32u * 1024 * 1024);
}

// "M" suffixes and plain byte counts; a machine without L3 reports 0 for it.
TEST(CpuSysfs, ReadsSuffixesAndPlainBytesWithoutL3) {
  FakeSysfs s;
  s.cache(0, "1", "Data", "32768");
  s.cache(1, "2", "Unified", "2M");
  expect_sizes(cache_sizes_from_sysfs(s.root()), 32768u, 2u * 1024 * 1024, 0u);
}

// Broken entries are skipped and the good ones still read: an unparsable size, an unknown
// suffix, trailing text, a zero size, a level that is not a number, a missing type file,
// an empty file, a folder where a file should be.
TEST(CpuSysfs, SkipsMalformedEntries) {
  FakeSysfs s;
  s.cache(0, "1", "Data", "lots");
  s.cache(1, "1", "Data", "48Q");
  s.cache(2, "1", "Data", "48K extra");
  s.cache(3, "1", "Data", "0K");
  s.cache(4, "one", "Data", "32K");
  s.cache(5, "2", "Unified", "512K");
  fs::remove(s.dir(5) / "type");
  s.cache(6, "2", "Unified", "");
  s.cache(7, "3", "Unified", "8M");
  fs::remove(s.dir(7) / "size");
  fs::create_directory(s.dir(7) / "size");
  s.cache(8, "1", "Data", "99999999999999999999999K");  // overflows
  s.cache(9, "1", "Data", "48K");
  s.cache(10, "2", "Unified", "1M");
  expect_sizes(cache_sizes_from_sysfs(s.root()), 48u * 1024, 1024u * 1024, 0u);
}

// Without both an L1d and an L2 the tree does not answer, so the next source is asked.
TEST(CpuSysfs, FallsThroughWithoutL1dAndL2) {
  {
    FakeSysfs s;
    s.cache(0, "1", "Instruction", "32K");
    s.cache(1, "2", "Unified", "1M");
    EXPECT_FALSE(cache_sizes_from_sysfs(s.root()).has_value());
  }
  {
    FakeSysfs s;
    s.cache(0, "1", "Data", "garbage");
    s.cache(1, "2", "Unified", "1M");
    EXPECT_FALSE(cache_sizes_from_sysfs(s.root()).has_value());
  }
  {
    FakeSysfs empty;
    EXPECT_FALSE(cache_sizes_from_sysfs(empty.root()).has_value());
  }
  EXPECT_FALSE(cache_sizes_from_sysfs("/nonexistent/minigrad/cache").has_value());
}

// Two independent sources of the same facts: where both answer they must agree on L1d
// and L2 (L3 is left out: one may report a slice and the other the whole socket).
TEST(CpuCaches, SysconfAndCpuidAgreeWhereBothAnswer) {
  const auto by_sysconf = cache_sizes_from_sysconf();
  const auto by_cpuid = cache_sizes_from_cpuid();
  if (!by_sysconf || !by_cpuid) GTEST_SKIP() << "sysconf or cpuid does not report caches here";
  EXPECT_EQ(by_sysconf->l1d_bytes, by_cpuid->l1d_bytes);
  EXPECT_EQ(by_sysconf->l2_bytes, by_cpuid->l2_bytes);
}

// cpu_info() takes its caches from the source it names, and is one object.
TEST(CpuCaches, CpuInfoUsesTheSourceItNames) {
  const minigrad::CpuInfo& info = cpu_info();
  EXPECT_EQ(&info, &cpu_info());
  EXPECT_GE(info.logical_cpus, 1);
  std::optional<CacheSizes> want;
  if (info.cache_source == "sysfs")
    want = cache_sizes_from_sysfs("/sys/devices/system/cpu/cpu0/cache");
  else if (info.cache_source == "sysconf")
    want = cache_sizes_from_sysconf();
  else if (info.cache_source == "cpuid")
    want = cache_sizes_from_cpuid();
  else if (info.cache_source == "default")
    want = minigrad::kDefaultCaches;
  ASSERT_TRUE(want.has_value()) << "unknown or silent source " << info.cache_source;
  expect_sizes(want, info.l1d_bytes, info.l2_bytes, info.l3_bytes);
  EXPECT_GT(info.l1d_bytes, 0u);
  EXPECT_GT(info.l2_bytes, 0u);
}

// AVX-512 (F, DQ, VL, BW) implies AVX2 and FMA on every CPU made; on x86 the vendor and
// the brand string come from cpuid.
TEST(CpuCaches, InstructionSetsAreConsistent) {
  const minigrad::CpuInfo& info = cpu_info();
  EXPECT_TRUE(!info.avx512 || info.avx2_fma);
#if defined(__x86_64__)
  EXPECT_FALSE(info.vendor.empty());
#if defined(__AVX2__) && defined(__FMA__)
  // This file was compiled for AVX2 and FMA, and it runs: the CPU has them.
  EXPECT_TRUE(info.avx2_fma);
#endif
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__AVX512BW__)
  EXPECT_TRUE(info.avx512);
#endif
#endif
}

}  // namespace
