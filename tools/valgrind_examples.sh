#!/usr/bin/env bash
# Runs every training example for a few steps under valgrind's memcheck and fails on
# any invalid read or write, use of uninitialised memory, or leak.
#
#   tools/valgrind_examples.sh [BUILD_DIR]      (default build-valgrind/)
#
# valgrind 3.19 cannot decode AVX-512, so the examples are built for the baseline
# x86-64 (-DMINIGRAD_NATIVE=OFF) and run with MINIGRAD_GEMM_ISA=portable (GEMM's
# AVX-512 kernel is compiled in every x86 build and would otherwise be chosen), and with
# -DMINIGRAD_VALGRIND=ON, which makes the caching allocator mark cached buffers and
# the unused tail of each buffer as off limits (tensor/allocator.cpp). Each run uses
# one OpenMP thread. Leaks count if "definitely" or "indirectly" lost; libgomp keeps
# its thread pool until exit on purpose ("possibly lost"), which is not counted.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-valgrind}"
command -v valgrind >/dev/null || { echo "valgrind_examples: valgrind not found (apt-get install valgrind)" >&2; exit 2; }

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMINIGRAD_NATIVE=OFF \
  -DMINIGRAD_VALGRIND=ON -DMINIGRAD_BUILD_TESTS=OFF > "$build/configure.log" || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j2 > "$build/build.log" || { tail -40 "$build/build.log"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1
export MINIGRAD_GEMM_ISA=portable
failed=0
run() {
  local name="$1"; shift
  local log="$work/$name.log"
  local start=$SECONDS
  if valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
       --track-origins=yes "$build/examples/$name" --out "$work/out" "$@" > "$log" 2>&1; then
    echo "valgrind: $name $* — clean ($(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log"), $((SECONDS - start)) s)"
  else
    echo "valgrind: $name $* — FAILED; the end of its log:"
    tail -60 "$log"
    failed=1
  fi
}
run self_attention_copy --steps 4 --eval-every 2 --save "$work/sa.safetensors"
run self_attention_copy --steps 6 --eval-every 2 --resume "$work/sa.safetensors"
run seq2seq_attention --steps 2 --eval-every 2 --length 6
run lstm_next_token --steps 4 --eval-every 2
run multihead_attention --steps 4 --eval-every 2
run transformer_copy --steps 2 --eval-every 2 --length 6 --d 16 --heads 2 --ff 32 --beam 2
run date_translation --steps 2 --eval-every 2 --hidden 16 --d 16 --heads 2 --ff 32
run gpt --steps 2 --eval-every 2 --layers 1 --width 16 --heads 2 --block 16 --batch 2 \
  --eval-batches 1 --sample-length 20 --data "$root/README.md" --decay-steps 4 --save "$work/gpt.safetensors"
run gpt --steps 4 --eval-every 2 --layers 1 --width 16 --heads 2 --block 16 --batch 2 \
  --eval-batches 1 --sample-length 20 --data "$root/README.md" --decay-steps 4 --no-cache \
  --resume "$work/gpt.safetensors"
run scaling_experiment --dims 4,16 --trials 50 --d 32 --seeds 1 --steps 2 --eval-every 2
exit $failed
