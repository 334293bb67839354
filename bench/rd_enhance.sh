#!/usr/bin/env bash
# The enhancer against the base at equal bits per value, with the shared
# rate-distortion yardstick (../shared/tools/rd).
#
#   bash bench/rd_enhance.sh [OUTDIR]
#   env: GWLZ_BIN (default build/gwlz), FILES / RELS (subsets, as gwlz_rows.py),
#        COSMO (directory of the 256^3 fields with MANIFEST.tsv; default
#        ${GWLZ_CACHE:-$HOME/.cache/gwlz}/cosmo256; skipped when absent),
#        NO_SHARED=1 (cosmology only)
#
# For each data set (shared fields, cosmology fields): gwlz_rows.py with the
# default settings (tool `gwlz`) and with -G 0 (tool `gwlz-base`), the same
# binary; rd_compare.py with gwlz-base as the reference (shared fields without
# the NaN and fill-value files, as the anchors); then per field and bound the
# gain at equal bound, the size change, the gain at equal bits per value, and
# what the enhancer kept (kind, groups, model and exception bytes, from
# `gwlz -a`). Results in OUTDIR (default a new temporary directory).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${GWLZ_SHARED:-$ROOT/../shared}
BIN=${GWLZ_BIN:-$ROOT/build/gwlz}
OUT=${1:-$(mktemp -d)}
COSMO=${COSMO:-${GWLZ_CACHE:-$HOME/.cache/gwlz}/cosmo256}
RD=$SHARED/tools/rd
export GWLZ_RD=$RD
mkdir -p "$OUT"

run_set() { # name manifest datadir exclude
  local name=$1 man=$2 dir=$3 excl=$4
  "$RD/gwlz_rows.py" "$BIN" "$man" "$dir" gwlz > "$OUT/$name.tsv"
  "$RD/gwlz_rows.py" "$BIN" "$man" "$dir" gwlz-base -G 0 > "$OUT/$name-base.tsv"
  { cat "$OUT/$name-base.tsv"; tail -n +2 "$OUT/$name.tsv"; } > "$OUT/$name-both.tsv"
  echo "== $name: enhanced (gwlz) vs base (gwlz-base), same binary"
  EXCLUDE="$excl" "$RD/rd_compare.py" gwlz-base "$OUT/$name-both.tsv"
  echo
  "$ROOT/bench/rd_enhance_table.py" "$BIN" "$man" "$dir" "$OUT/$name-base.tsv" "$OUT/$name.tsv"
  echo
}

if [ -z "${NO_SHARED:-}" ]; then
  run_set shared "$SHARED/data/MANIFEST.tsv" "$SHARED/data" \
    "astro_gc_bolocam_638x640.f32 ferret_levitus_temp_20x180x360.f32"
fi
if [ -f "$COSMO/MANIFEST.tsv" ]; then
  run_set cosmo "$COSMO/MANIFEST.tsv" "$COSMO" ""
fi
echo "tables in $OUT"
