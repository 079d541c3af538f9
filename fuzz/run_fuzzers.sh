#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + LeakSanitizer) and runs
# each one for a bounded time.
#
#   fuzz/run_fuzzers.sh [SECONDS] [TARGET...]
#
#   SECONDS   per target, default 60 (libFuzzer's -max_total_time). 0 replays the
#             checked-in seed corpus once and stops: a quick regression run.
#   TARGET    fuzz_safetensors, fuzz_views, fuzz_model (default: all three)
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz/ at the repository root),
# FUZZ_JOBS (parallel compiles, default 2), CXX (default clang++).
#
# Exits non-zero when any target finds a crash, a sanitizer report, a leak, a
# timeout or an out-of-memory; the reproducer is left in FUZZ_BUILD_DIR/artifacts/
# and can be replayed with  FUZZ_BUILD_DIR/fuzz_<name> <file>.
#
# The library is compiled from its sources directly (no CMake), without OpenMP
# (single-threaded: a data race is not what these targets look for, and libgomp's
# threads would only slow the sanitizers down), and with fuzz/exact_allocator.cpp
# in place of the caching allocator so that ASan sees every tensor's exact bounds.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_safetensors fuzz_views fuzz_model)
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-2}"
cxx="${CXX:-clang++}"

if ! command -v "$cxx" >/dev/null; then
  echo "run_fuzzers: $cxx not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I"$build/include" -I"$root"
       -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -Wno-unknown-pragmas)

mkdir -p "$build/obj" "$build/artifacts" "$build/corpus" "$build/include"
# Sources include the layers as "minigrad/nn/..."; as in the CMake build, a link
# named minigrad points at the source root.
ln -sfn "$root" "$build/include/minigrad"

# ---- compile the library (only what changed) -------------------------------------
sources=()
for f in "$root"/tensor/*.cpp "$root"/autograd/*.cpp "$root"/nn/*.cpp; do
  [ "$(basename "$f")" = allocator.cpp ] && [ "$(basename "$(dirname "$f")")" = tensor ] && continue
  sources+=("$f")
done
sources+=("$root/fuzz/exact_allocator.cpp")

stale=()
objects=()
for src in "${sources[@]}"; do
  rel="${src#$root/}"
  obj="$build/obj/${rel//\//_}.o"
  objects+=("$obj")
  # Rebuild when the source or any library header is newer than the object.
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
     [ -n "$(find "$root/tensor" "$root/autograd" "$root/nn" -name '*.h' -newer "$obj" -print -quit)" ]; then
    stale+=("$src")
  fi
done
if [ ${#stale[@]} -gt 0 ]; then
  echo "run_fuzzers: compiling ${#stale[@]} library sources with $cxx"
  export root build cxx
  printf '%s\n' "${stale[@]}" | FLAGS="${flags[*]}" xargs -P "$jobs" -I{} bash -c '
    src="{}"; rel="${src#$root/}"; obj="$build/obj/${rel//\//_}.o"
    nice -n 10 $cxx $FLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj.tmp" && mv "$obj.tmp" "$obj"'
fi

# ---- link the targets ----------------------------------------------------------------
for t in "${targets[@]}"; do
  exe="$build/$t"
  if [ ! -f "$exe" ] || [ "$root/fuzz/$t.cpp" -nt "$exe" ] || [ -n "$(find "${objects[@]}" -newer "$exe" -print -quit)" ]; then
    echo "run_fuzzers: building $t"
    nice -n 10 "$cxx" "${flags[@]}" -fsanitize=fuzzer "$root/fuzz/$t.cpp" "${objects[@]}" -o "$exe"
  fi
done

# ---- run -------------------------------------------------------------------------------------
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
summary="$build/fuzz-summary.txt"
: > "$summary"
status=0
printf '%-18s %8s %12s %10s %8s  %s\n' target seconds executions exec/s corpus result | tee -a "$summary"
for t in "${targets[@]}"; do
  name="${t#fuzz_}"
  seeds="$root/fuzz/corpus/$name"
  work="$build/corpus/$name"  # grows across runs; the checked-in seeds stay small
  mkdir -p "$work"
  log="$build/$t.log"
  args=(-timeout=25 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-")
  [ -f "$root/fuzz/$name.dict" ] && args+=(-dict="$root/fuzz/$name.dict")
  if [ "$seconds" = 0 ]; then
    args+=(-runs=0)
  else
    args+=(-max_total_time="$seconds")
  fi
  start=$(date +%s)
  if nice -n 10 "$build/$t" "${args[@]}" "$work" "$seeds" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    status=1
  fi
  elapsed=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  files=$(find "$work" -type f | wc -l)
  printf '%-18s %8s %12s %10s %8s  %s\n' "$t" "$elapsed" "${execs:-0}" "${rate:-0}" "$files" "$result" | tee -a "$summary"
  if [ "$result" != ok ]; then
    grep -E 'ERROR|INVARIANT|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
  fi
done
exit $status
