#!/usr/bin/env bash
# demo_check.sh ROOT CLI DATA - the demo's table shows what the tool gives with
# default settings: runs scripts/demo.sh on a few fields (one with a fill value
# in MANIFEST.tsv, two without) and, for every row, runs the tool directly with
# -M REL <bound> (plus --fill only where the manifest gives one) and compares
# the ratio and PSNR. Also checks that a field without a fill value gets no
# --fill (the empty manifest column must stay empty).
set -euo pipefail
ROOT=$1 CLI=$2 DATA=$3
FILES="ferret_levitus_temp_20x180x360.f32 nyxlya50_tau_real_50x50x50.f64 sz3_testfloat_8x8x128.f32"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CLI="$CLI" GWLZ_SHARED_DATA="$DATA" FILES="$FILES" BOUNDS="1e-3" \
  bash "$ROOT/scripts/demo.sh" --no-setup > "$tmp/table"
cat "$tmp/table"
field_of() { awk -v k="$1" -F' = ' '$1 == k { split($2, a, " "); print a[1] }' "$2"; }
rows=0 bad=0
while read -r file bound ratio psnr _e _b _x _s fill; do
  [ -f "$DATA/$file" ] || continue
  line=$(awk -F'\t' -v f="$file" '$1 == f' "$DATA/MANIFEST.tsv")
  dims=$(cut -f2 <<< "$line"); dtype=$(cut -f3 <<< "$line"); mfill=$(cut -f6 <<< "$line")
  IFS=x read -r -a d <<< "$dims"
  sz3=(); for ((k = ${#d[@]} - 1; k >= 0; k--)); do sz3+=("${d[k]}"); done
  t=-f; [ "$dtype" = f64 ] && t=-d
  fillopt=(); [ -n "$mfill" ] && fillopt=(--fill "$mfill")
  if [ "${mfill:--}" != "$fill" ]; then
    echo "FAIL $file: demo used fill '$fill', manifest has '${mfill:--}'"; bad=$((bad + 1))
  fi
  "$CLI" "$t" -i "$DATA/$file" -o "$tmp/out" "-${#d[@]}" "${sz3[@]}" -M REL "$bound" -a -q \
    "${fillopt[@]}" > "$tmp/report"
  want_ratio=$(printf '%.2f' "$(field_of 'compression ratio' "$tmp/report")")
  want_psnr=$(field_of PSNR "$tmp/report")
  if [ "$ratio" != "$want_ratio" ] || [ "$psnr" != "$want_psnr" ]; then
    echo "FAIL $file $bound: demo ratio $ratio PSNR $psnr, tool ratio $want_ratio PSNR $want_psnr"
    bad=$((bad + 1))
  fi
  rows=$((rows + 1))
done < <(grep -v '^#' "$tmp/table" | tail -n +2 | grep -v '^total')
echo "$rows rows compared, $bad failures"
[ "$rows" -eq 3 ] && [ "$bad" -eq 0 ]
