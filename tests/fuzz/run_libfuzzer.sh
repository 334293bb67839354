#!/usr/bin/env bash
# run_libfuzzer.sh ROOT REPLAY_DIR OUT - builds every fuzz target with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer and runs each for
# a fixed number of executions, starting from the seeds its replay build
# generates (REPLAY_DIR/fuzz_x --write-seeds) and the checked-in corpus.
# A crash, leak, sanitizer report or timeout fails the script; the input that
# caused it is left in OUT/<target>/ (crash-*, leak-*, timeout-*).
#
# Executions per target (env): FUZZ_RUNS_DECOMPRESS (default 8000),
# FUZZ_RUNS_GET_INFO (100000), FUZZ_RUNS_HUFFMAN (30000), FUZZ_RUNS_ROUNDTRIP
# (1500); FUZZ_SEED (1) makes a run repeatable. CC picks the compiler (clang).
set -euo pipefail
ROOT=$(cd "$1" && pwd) REPLAY=$(cd "$2" && pwd) OUT=$3
CC=${CC:-clang}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
FLAGS=(-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=all
       -ffp-contract=off -Wno-unknown-pragmas
       -I "$ROOT/include" -I "$ROOT/src" -I "$ROOT/tests/fuzz")
read -r -a ZSTD_CFLAGS <<< "$(pkg-config --cflags libzstd)"
read -r -a ZSTD_LIBS <<< "$(pkg-config --libs libzstd)"
# The ZFP base as in the CMake build: compiled, registered and linked when
# libzfp is there, left out otherwise.
SKIP_SRC=""
if echo '#include <zfp.h>
int main(void) { return zfp_stream_open(0) != 0; }' |
     "$CC" -x c - -lzfp -o "$OUT/.zfp-probe" >/dev/null 2>&1; then
  FLAGS+=(-DGWLZ_HAVE_ZFP=1)
  ZSTD_LIBS+=(-lzfp)
else
  SKIP_SRC="$ROOT/src/base/zfp.c"
fi
rm -f "$OUT/.zfp-probe"

# the library once, instrumented for coverage
echo "== libFuzzer: building the library with $CC"
mkdir -p "$OUT/obj"
objs=()
for src in $(find "$ROOT/src" -name '*.c' | sort); do
  [ "$src" = "$SKIP_SRC" ] && continue
  obj="$OUT/obj/$(echo "${src#"$ROOT"/src/}" | tr / _).o"
  "$CC" "${FLAGS[@]}" "${ZSTD_CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
  objs+=("$obj")
  while [ "$(jobs -r | wc -l)" -ge "${JOBS:-2}" ]; do sleep 0.2; done
done
wait

runs_for() {
  case "$1" in
    decompress) echo "${FUZZ_RUNS_DECOMPRESS:-8000}" ;;
    get_info) echo "${FUZZ_RUNS_GET_INFO:-100000}" ;;
    huffman) echo "${FUZZ_RUNS_HUFFMAN:-30000}" ;;
    roundtrip) echo "${FUZZ_RUNS_ROUNDTRIP:-1500}" ;;
    *) echo 2000 ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  t=${name#fuzz_}
  dir="$OUT/$name"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/seeds"
  "$CC" "${FLAGS[@]}" "${ZSTD_CFLAGS[@]}" -fsanitize=fuzzer "$src" "${objs[@]}" \
    "${ZSTD_LIBS[@]}" -lm -o "$dir/$name"
  "$REPLAY/$name" --write-seeds "$dir/seeds" > /dev/null
  seeds=("$dir/seeds")
  [ -d "$ROOT/tests/fuzz/corpus/$name" ] && seeds+=("$ROOT/tests/fuzz/corpus/$name")
  [ "$t" = decompress ] || [ "$t" = get_info ] || [ "$t" = chunks ] && seeds+=("$ROOT/tests/fuzz/corpus")
  runs=$(runs_for "$t")
  start=$(date +%s)
  if (cd "$dir" && "./$name" -runs="$runs" -seed="${FUZZ_SEED:-1}" -timeout=60 \
        -rss_limit_mb=3072 -max_len=65536 -print_final_stats=1 corpus "${seeds[@]}" \
        > log.txt 2>&1); then
    echo "== libFuzzer $name: $runs runs in $(( $(date +%s) - start )) s," \
         "$(grep -o 'cov: [0-9]*' "$dir/log.txt" | tail -1)"
  else
    echo "== libFuzzer $name FAILED after $(( $(date +%s) - start )) s; log: $dir/log.txt" >&2
    tail -40 "$dir/log.txt" >&2
    failed+=("$name")
  fi
done
[ "${#failed[@]}" -eq 0 ] || { echo "== libFuzzer failures: ${failed[*]}" >&2; exit 1; }
