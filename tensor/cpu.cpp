// The machine: cache sizes from sysfs, sysconf or cpuid, instruction sets from cpuid
// (through the compiler's __builtin_cpu_supports, which also checks that the OS saves
// the wider registers).
#include "minigrad/tensor/cpu.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MINIGRAD_X86 1
#endif

namespace minigrad {

namespace {

// The first line of a small text file, without surrounding white space; nullopt if the
// file cannot be read.
std::optional<std::string> first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  if (in.bad()) return std::nullopt;
  const size_t begin = line.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return std::string();
  const size_t end = line.find_last_not_of(" \t\r\n");
  return line.substr(begin, end - begin + 1);
}

// "48K" → 49152, "32M" → 33554432, "1048576" → 1048576; nullopt for anything else
// (empty, no digits, other suffixes, trailing text, 0, or more than 2^48 bytes).
std::optional<size_t> parse_size(const std::string& s) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + uint64_t(s[i] - '0');
    if (v > (uint64_t(1) << 48)) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  uint64_t unit = 1;
  if (i < s.size()) {
    if (s[i] == 'K')
      unit = uint64_t(1) << 10;
    else if (s[i] == 'M')
      unit = uint64_t(1) << 20;
    else if (s[i] == 'G')
      unit = uint64_t(1) << 30;
    else
      return std::nullopt;
    ++i;
  }
  if (i != s.size() || v == 0 || v * unit > (uint64_t(1) << 48)) return std::nullopt;
  return size_t(v * unit);
}

// Records one data or unified cache of `level`; an L1d needs a data (or unified) cache,
// and the first one seen of each level wins.
void record(CacheSizes& c, int level, size_t bytes) {
  if (bytes == 0) return;
  size_t* slot = level == 1   ? &c.l1d_bytes
                 : level == 2 ? &c.l2_bytes
                 : level == 3 ? &c.l3_bytes
                              : nullptr;
  if (slot != nullptr && *slot == 0) *slot = bytes;
}

std::optional<CacheSizes> complete(const CacheSizes& c) {
  if (c.l1d_bytes == 0 || c.l2_bytes == 0) return std::nullopt;
  return c;
}

#if defined(MINIGRAD_X86)
std::string cpuid_vendor() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return "";
  char s[13];
  std::memcpy(s, &b, 4);  // the vendor string is EBX, EDX, ECX
  std::memcpy(s + 4, &d, 4);
  std::memcpy(s + 8, &c, 4);
  s[12] = '\0';
  return s;
}

std::string cpuid_brand() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000004u) return "";
  char s[49] = {};
  for (unsigned leaf = 0; leaf < 3; ++leaf) {
    __get_cpuid(0x80000002u + leaf, &a, &b, &c, &d);
    const unsigned regs[4] = {a, b, c, d};
    std::memcpy(s + 16 * leaf, regs, 16);
  }
  std::string brand(s);
  const size_t begin = brand.find_first_not_of(' ');
  if (begin == std::string::npos) return "";
  return brand.substr(begin, brand.find_last_not_of(' ') - begin + 1);
}
#endif

}  // namespace

std::optional<CacheSizes> cache_sizes_from_sysfs(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return std::nullopt;
  CacheSizes c;
  // Visit index0, index1, ... in order (directory_iterator's order is unspecified).
  for (int index = 0; index < 64; ++index) {
    const fs::path dir = fs::path(root) / ("index" + std::to_string(index));
    if (!fs::is_directory(dir, ec)) continue;
    const auto level = first_line(dir / "level");
    const auto type = first_line(dir / "type");
    const auto size = first_line(dir / "size");
    if (!level || !type || !size) continue;
    if (*type != "Data" && *type != "Unified") continue;
    if (*level != "1" && *level != "2" && *level != "3") continue;
    const auto bytes = parse_size(*size);
    if (!bytes) continue;
    record(c, (*level)[0] - '0', *bytes);
  }
  return complete(c);
}

std::optional<CacheSizes> cache_sizes_from_sysconf() {
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
    defined(_SC_LEVEL3_CACHE_SIZE)
  CacheSizes c;
  const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE),
             l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  c.l1d_bytes = l1 > 0 ? size_t(l1) : 0;
  c.l2_bytes = l2 > 0 ? size_t(l2) : 0;
  c.l3_bytes = l3 > 0 ? size_t(l3) : 0;
  return complete(c);
#else
  return std::nullopt;
#endif
}

std::optional<CacheSizes> cache_sizes_from_cpuid() {
#if defined(MINIGRAD_X86)
  const std::string vendor = cpuid_vendor();
  const bool amd = vendor == "AuthenticAMD" || vendor == "HygonGenuine";
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned leaf = 0;  // the leaf of cache descriptors, if the CPU has one
  if (vendor == "GenuineIntel") {
    if (__get_cpuid(0, &a, &b, &c, &d) && a >= 4) leaf = 4;
  } else if (amd) {
    if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x8000001Du &&
        __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 22)) != 0)  // TOPOEXT
      leaf = 0x8000001Du;
  } else {
    return std::nullopt;
  }
  CacheSizes sizes;
  // One descriptor per subleaf until type 0:
  //   EAX[4:0] type (1 data, 2 instruction, 3 unified), EAX[7:5] level,
  //   EBX[31:22] ways − 1, EBX[21:12] partitions − 1, EBX[11:0] line size − 1,
  //   ECX sets − 1.
  for (unsigned sub = 0; leaf != 0 && sub < 16; ++sub) {
    __cpuid_count(leaf, sub, a, b, c, d);
    const unsigned type = a & 0x1Fu, level = (a >> 5) & 0x7u;
    if (type == 0) break;
    if (type == 2) continue;
    const size_t ways = ((b >> 22) & 0x3FFu) + 1, parts = ((b >> 12) & 0x3FFu) + 1,
                 line = (b & 0xFFFu) + 1, sets = size_t(c) + 1;
    record(sizes, int(level), ways * parts * line * sets);
  }
  // AMD's older leaves, for CPUs (and hypervisors) without TOPOEXT:
  //   0x80000005 ECX[31:24] L1d in KiB;  0x80000006 ECX[31:16] L2 in KiB,
  //   EDX[31:18] L3 in units of 512 KiB.
  if (amd && complete(sizes) == std::nullopt && __get_cpuid(0x80000000u, &a, &b, &c, &d) &&
      a >= 0x80000006u) {
    sizes = CacheSizes{};
    __get_cpuid(0x80000005u, &a, &b, &c, &d);
    record(sizes, 1, size_t(c >> 24) * 1024);
    __get_cpuid(0x80000006u, &a, &b, &c, &d);
    record(sizes, 2, size_t(c >> 16) * 1024);
    record(sizes, 3, size_t(d >> 18) * 512 * 1024);
  }
  return complete(sizes);
#else
  return std::nullopt;
#endif
}

namespace {

CpuInfo detect() {
  CpuInfo info;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  info.logical_cpus = online > 0 ? int(online) : 1;

  std::optional<CacheSizes> caches = cache_sizes_from_sysfs("/sys/devices/system/cpu/cpu0/cache");
  info.cache_source = "sysfs";
  if (!caches) {
    caches = cache_sizes_from_sysconf();
    info.cache_source = "sysconf";
  }
  if (!caches) {
    caches = cache_sizes_from_cpuid();
    info.cache_source = "cpuid";
  }
  if (!caches) {
    caches = kDefaultCaches;
    info.cache_source = "default";
  }
  info.l1d_bytes = caches->l1d_bytes;
  info.l2_bytes = caches->l2_bytes;
  info.l3_bytes = caches->l3_bytes;

#if defined(MINIGRAD_X86)
  info.vendor = cpuid_vendor();
  info.model = cpuid_brand();
  __builtin_cpu_init();
  info.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  info.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return info;
}

}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();  // initialised once, thread-safe (C++11 statics)
  return info;
}

}  // namespace minigrad
