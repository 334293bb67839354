#!/usr/bin/env bash
# Builds gwlz (Release) and runs bench_base on the shared fields and on the
# 256^3 cosmology fields, generating those once into a cache outside the repo.
#
#   bash bench/run_bench.sh [--quick] [--no-cosmo]
#   GWLZ_CACHE=/path bash bench/run_bench.sh      (default ~/.cache/gwlz)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHARED=${GWLZ_SHARED:-$ROOT/../shared}

args=()
cosmo=1
for arg in "$@"; do
  case "$arg" in
    --quick) args+=(--quick) ;;
    --no-cosmo) cosmo=0 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "run_bench.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh

if [ "$cosmo" -eq 1 ]; then
  CACHE=${GWLZ_CACHE:-$HOME/.cache/gwlz}/cosmo256
  need=0
  for f in dark_matter_density temperature velocity_x; do
    [ -f "$CACHE/${f}_256x256x256.f32" ] || need=1
  done
  if [ "$need" -eq 1 ]; then
    echo "run_bench: generating the 256^3 cosmology fields into $CACHE (a few minutes)"
    mkdir -p "$CACHE"
    bash "$SHARED/tools/make_cosmo/make_cosmo.sh" 256 123456789 "$CACHE"
  fi
  args+=(--cosmo "$CACHE")
fi

exec "$ROOT/build/bench_base" --data "$SHARED/data" --anchors "$SHARED/anchors" "${args[@]}"
