#!/usr/bin/env bash
# Builds gwlz and compresses + decompresses every real field in ../shared/data
# through the command-line tool at a few relative bounds, with default settings
# (enhancer on), then prints one table row per field and bound.
#
#   bash scripts/demo.sh                 all fields, REL 1e-2 1e-3 1e-4
#   bash scripts/demo.sh --quick         four small fields only
#   bash scripts/demo.sh --base          base compressor only (-G 0)
#   BOUNDS="1e-3 1e-5" bash scripts/demo.sh
#   FILES="a.f32 b.f64" bash scripts/demo.sh   those fields only
#   bash scripts/demo.sh --no-setup      use the tool already built (CLI=path overrides it)
#
# The PSNR and max error are measured by the tool against the input over finite,
# non-fill values; NaN, Inf and fill cells are checked to come back bit-exact.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

quick=0
setup=1
extra=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --base) extra+=(-G 0) ;;
    --no-setup) setup=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

[ "$setup" -eq 0 ] || bash scripts/setup.sh

CLI=${CLI:-$ROOT/build/gwlz}
DATA=${GWLZ_SHARED_DATA:-$ROOT/../shared/data}
BOUNDS=${BOUNDS:-1e-2 1e-3 1e-4}
MANIFEST="$DATA/MANIFEST.tsv"
[ -f "$MANIFEST" ] || { echo "demo.sh: no $MANIFEST (set GWLZ_SHARED_DATA)" >&2; exit 1; }
QUICK_FILES="sz3_testfloat_8x8x128.f32 vtk_combq_density_25x33x57.f32 nyx_plane_temperature_64x512.f32 nyxlya50_tau_real_50x50x50.f64"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Value of "key = value" in the tool's -a report ("-" when absent).
field_of() { awk -v k="$1" -F' = ' '$1 == k { split($2, a, " "); print a[1]; found = 1 } END { if (!found) print "-" }' "$2"; }

echo "# each run: gwlz -i FIELD -o OUT -DIMS -M REL <bound> -a -q --threads 0 [--fill VALUE]${extra[*]:+ ${extra[*]}}"
echo "# every other setting is the tool's default (gwlz -h); column fill: the --fill given (- = none)"
printf '%-44s %7s %9s %9s %8s %9s %9s %7s  %s\n' field bound ratio PSNR err/eb basePSNR enhPSNR seconds fill
failures=0
start_all=$(date +%s)
# Fields are tab-separated and may be empty (no fill value): read them with a
# non-whitespace separator, since IFS=$'\t' would merge consecutive tabs.
while IFS=$'\037' read -r file dims dtype _field _source fill _rest; do
  if [ "$quick" -eq 1 ] && [[ " $QUICK_FILES " != *" $file "* ]]; then continue; fi
  if [ -n "${FILES:-}" ] && [[ " $FILES " != *" $file "* ]]; then continue; fi
  IFS=x read -r -a d <<< "$dims"
  sz3dims=()
  for ((k = ${#d[@]} - 1; k >= 0; k--)); do sz3dims+=("${d[k]}"); done
  tflag=-f
  [ "$dtype" = f64 ] && tflag=-d
  fillopt=()
  [ -n "$fill" ] && fillopt=(--fill "$fill")
  for b in $BOUNDS; do
    t0=$(date +%s.%N)
    if ! "$CLI" "$tflag" -i "$DATA/$file" -o "$tmp/out" "-${#d[@]}" "${sz3dims[@]}" -M REL "$b" \
        -a -q --threads 0 "${fillopt[@]}" "${extra[@]}" > "$tmp/report" 2> "$tmp/err"; then
      echo "FAILED: $file at $b: $(cat "$tmp/err")"
      failures=$((failures + 1))
      continue
    fi
    t1=$(date +%s.%N)
    printf '%-44s %7s %9.2f %9s %8s %9s %9s %7.2f  %s\n' "$file" "$b" \
      "$(field_of 'compression ratio' "$tmp/report")" "$(field_of PSNR "$tmp/report")" \
      "$(field_of 'max error / bound' "$tmp/report")" "$(field_of 'base PSNR' "$tmp/report")" \
      "$(field_of 'enhanced PSNR' "$tmp/report")" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
      "${fill:--}"
  done
done < <(tail -n +2 "$MANIFEST" | tr '\t' '\037')
echo "total $(( $(date +%s) - start_all )) s; PSNR and err/eb over finite non-fill values; basePSNR/enhPSNR when a model is stored"
if [ "$failures" -gt 0 ]; then
  echo "$failures runs failed" >&2
  exit 1
fi
