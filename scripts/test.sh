#!/usr/bin/env bash
# Builds gwlz (Release and ASan+UBSan) and runs every test on both builds.
#   bash scripts/test.sh            both builds
#   bash scripts/test.sh --release  Release only (quicker)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

release_only=0
for arg in "$@"; do
  case "$arg" in
    --release) release_only=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
export JOBS

if [ "$release_only" -eq 1 ]; then
  bash scripts/setup.sh
else
  bash scripts/setup.sh --sanitize
fi

failed=()
run_tests() {
  local dir=$1 start end
  start=$(date +%s)
  echo "== tests: $dir"
  if ! ctest --test-dir "$dir" --output-on-failure -j "$JOBS"; then
    failed+=("$dir")
  fi
  end=$(date +%s)
  echo "== $dir: tests took $((end - start)) s"
}

run_tests build
if [ "$release_only" -eq 0 ]; then
  # Leak checking stays on; stop at the first sanitizer report.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_tests build-asan
  # Every fuzz target under libFuzzer for a fixed number of executions (about
  # three minutes on two cores), when clang with libFuzzer is there.
  if command -v clang >/dev/null 2>&1 &&
     echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
       clang -x c -fsanitize=fuzzer - -o build-asan/.libfuzzer-probe >/dev/null 2>&1; then
    start=$(date +%s)
    if ! ASAN_OPTIONS=detect_leaks=1 bash tests/fuzz/run_libfuzzer.sh . build-asan/tests \
         build-asan/libfuzzer; then
      failed+=("libfuzzer")
    fi
    echo "== libFuzzer: $(( $(date +%s) - start )) s"
  else
    echo "== libFuzzer: skipped (no clang with libFuzzer; bash scripts/setup.sh --sanitize installs it)"
  fi
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "== FAILED in: ${failed[*]}" >&2
  exit 1
fi
echo "== all tests passed"
