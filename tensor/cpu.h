/// \file
/// The machine the library runs on: its caches and the vector instructions it has.
///
/// GEMM sizes its cache blocks from the cache sizes and picks its micro-kernel from
/// the instruction sets (docs/GEMM.md), so the same binary is fast on an AMD Zen 4
/// (32 KiB L1d, 1 MiB L2), a Zen 5 (48 KiB, 1 MiB) and an Intel Emerald Rapids
/// (48 KiB, 2 MiB), and still runs a vector kernel on a CPU without AVX-512.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace minigrad {

/// Sizes in bytes of one core's level-1 data, level-2 and level-3 caches (0: none).
struct CacheSizes {
  size_t l1d_bytes = 0;  ///< level-1 data cache
  size_t l2_bytes = 0;   ///< level-2 cache
  size_t l3_bytes = 0;   ///< level-3 cache (often the whole socket's, shared by all cores)
};

/// What cpu_info() found out about this machine.
struct CpuInfo {
  std::string vendor;    ///< cpuid's vendor: "GenuineIntel", "AuthenticAMD" ("" off x86)
  std::string model;     ///< cpuid's brand string, e.g. "AMD EPYC" ("" off x86)
  int logical_cpus = 1;  ///< CPUs online (sysconf), at least 1
  size_t l1d_bytes = 0;  ///< level-1 data cache of one core
  size_t l2_bytes = 0;   ///< level-2 cache of one core
  size_t l3_bytes = 0;   ///< level-3 cache as reported (0: none or unknown)
  /// Where the cache sizes came from, the first source that answered:
  /// "sysfs", "sysconf", "cpuid" or "default" (kDefaultCaches).
  std::string cache_source;
  /// AVX-512 F, DQ, VL and BW, all four (what GEMM's AVX-512 kernel uses), usable by
  /// this process (the OS saves the registers).
  bool avx512 = false;
  bool avx2_fma = false;  ///< AVX2 and FMA, both
};

/// The cache sizes used when no source answers: a small modern core (32 KiB L1d,
/// 512 KiB L2, 4 MiB L3), so that blocks sized from them fit on any machine of the
/// last decade.
inline constexpr CacheSizes kDefaultCaches{32 * 1024, 512 * 1024, 4 * 1024 * 1024};

/// This machine, found out on the first call (from any thread: the first caller
/// computes it, the others wait) and the same object afterwards.
///
/// Cache sizes come from the first of these that gives both an L1d and an L2 size:
/// cache_sizes_from_sysfs("/sys/devices/system/cpu/cpu0/cache"),
/// cache_sizes_from_sysconf(), cache_sizes_from_cpuid(), kDefaultCaches.
const CpuInfo& cpu_info();

/// Cache sizes from a Linux sysfs cache folder, `root`/index*/{level,type,size}:
/// level "1".."3", type "Data", "Unified" or "Instruction" (instruction caches are
/// skipped), size "48K", "1024K", "32M" or a plain byte count. A folder whose files are
/// missing or do not parse is skipped. nullopt unless an L1d and an L2 were found.
std::optional<CacheSizes> cache_sizes_from_sysfs(const std::string& root);

/// Cache sizes from glibc's sysconf(_SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL2_CACHE_SIZE,
/// _SC_LEVEL3_CACHE_SIZE). nullopt unless an L1d and an L2 size are positive.
std::optional<CacheSizes> cache_sizes_from_sysconf();

/// Cache sizes from the cpuid instruction's cache descriptors: leaf 4 on Intel,
/// leaf 0x8000001D on AMD (when the CPU has it). Each descriptor gives
/// size = ways · partitions · line size · sets. On AMD without that leaf (some
/// hypervisors hide it), leaves 0x80000005 and 0x80000006 give the sizes directly.
/// nullopt off x86, on other vendors, or unless an L1d and an L2 were found.
std::optional<CacheSizes> cache_sizes_from_cpuid();

}  // namespace minigrad
