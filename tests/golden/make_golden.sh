#!/usr/bin/env bash
# make_golden.sh VERSION CLI GOLDEN_TOOL [INFO_CLI]
#
# Writes the golden streams of one format version into tests/golden/ and their
# rows into tests/golden/MANIFEST.tsv (replacing that version's rows):
#   - v<VERSION>-<case>.gwlz: the fields of `GOLDEN_TOOL fields` compressed by
#     CLI (a gwlz tool that writes format VERSION) with the settings below;
#     expected result: the MD5 of what CLI itself decodes from the stream;
#   - with DAMAGED=1 in the environment, also bad-*.gwlz (and ok-*.gwlz):
#     variants of v<VERSION>-2d-f32-nan-inf.gwlz (container, BASE, SPEC) and
#     of v<VERSION>-3d-f32-linear-excp.gwlz (ENHM, EXCP) made by `GOLDEN_TOOL
#     damage`, with the error each must give.
# INFO_CLI (default: CLI) describes each stream's sections with --info.
# ONLY=REGEX in the environment writes only the matching cases (the rows and
# streams of the others stay as they are).
# Example (format version 1, from the last commit that wrote it):
#   git archive 0af9888 | tar -x -C /tmp/v1 && cmake -S /tmp/v1 -B /tmp/v1/build && \
#     cmake --build /tmp/v1/build --target gwlz_cli
#   bash tests/golden/make_golden.sh 1 /tmp/v1/build/gwlz build/tests/golden_tool build/gwlz
set -euo pipefail
VERSION=$1 CLI=$2 TOOL=$3 INFO=${4:-$2}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAN="$HERE/MANIFEST.tsv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$TOOL" fields "$tmp"

got=$("$CLI" -V)
case "$got" in
  *"stream format $VERSION)"*) ;;
  *) echo "make_golden: '$CLI' writes '$got', not format $VERSION" >&2; exit 1 ;;
esac

# case | field | type and dims (fastest first) | settings
CASES='1d-f32-lorenzo|wave_f32_200|-f -1 200|-M ABS 1e-2 -G 0
1d-f64-raw|noisy_f64_37|-d -1 37|-M ABS 0
2d-f32-nan-inf|naninf_f32_16x20|-f -2 20 16|-M REL 1e-3 -G 0
2d-f64-fill-psnr|fill_f64_12x9|-d -2 9 12|-M PSNR 60 -G 0 --fill -9999
3d-f32-interp|smooth_f32_24x24x24|-f -3 24 24 24|-M REL 1e-4 -G 0
4d-f64-abs-and-rel|wave_f64_2x3x8x10|-d -4 10 8 3 2|-M ABS_AND_REL -A 1e-3 -R 1e-3 -G 0
3d-f32-linear-excp|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --enhancer linear -G 4
3d-f32-cnn-excp|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --enhancer cnn -G 1 --epochs 1
3d-f32-cnn-paper|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --enhancer cnn --arch paper -G 1 --epochs 1
3d-f64-linear-nan|texnan_f64_16x64x64|-d -3 64 64 16|-M ABS 0.026 --enhancer linear -G 4
2d-f32-linear-relaxed|tex_f32_128x128|-f -2 128 128|-M ABS 0.02 --enhancer linear -G 2 --bound relaxed
3d-f64-cnn-abs-or-rel|tex_f64_16x64x64|-d -3 64 64 16|-M ABS_OR_REL -A 0.026 -R 1e-3 --enhancer cnn -G 1 --epochs 1
3d-f32-wavelet|smooth_f32_24x24x24|-f -3 24 24 24|-M REL 1e-4 --base wavelet -G 0
3d-f32-wavelet-linear|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --base wavelet --enhancer linear -G 4
3d-f32-interp-cnn-enhm2|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --base interp --enhancer cnn -G 1 --epochs 2
3d-f64-zfp-linear|tex_f64_16x64x64|-d -3 64 64 16|-M ABS 0.026 --base zfp --enhancer linear -G 4
3d-f32-chunked-linear|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --chunk 8192 --enhancer linear -G 4
3d-f64-chunked-nan|texnan_f64_16x64x64|-d -3 64 64 16|-M REL 1e-3 --chunk 10000 --base interp -G 0
3d-f32-interp2|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.026 --base interp -G 0
3d-f64-interp2-linear|tex_f64_16x64x64|-d -3 64 64 16|-M ABS 0.026 --base interp --enhancer linear -G 4
3d-f32-interp2-cnn|tex_f32_16x64x64|-f -3 64 64 16|-M ABS 0.1 --base interp --enhancer cnn -G 1 --epochs 2'

# Sections of a stream, e.g. "SPEC BASE(interpolation) ENHM(linear) EXCP".
sections() {
  "$INFO" -z "$1" --info | awk -F' = ' '
    $1 == "base" { m = $2; sub(/^[^(]*\(/, "", m); sub(/\)$/, "", m) }
    $1 == "enhancer" { e = $2; sub(/ .*/, "", e) }
    $1 ~ /^section / { t = substr($1, 9); if (t == "END!") next;
                       if (t == "BASE") t = t "(" m ")"; if (t == "ENHM") t = t "(" e ")";
                       s = s (s ? " " : "") t }
    END { print s }'
}

rows=() written=()
while IFS='|' read -r name field dims opts; do
  # ONLY (a regular expression) writes just the cases it matches, keeping
  # the other streams of the version: how cases are added to a version that
  # already has streams, without rewriting them with a newer encoder.
  if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
  out="v$VERSION-$name.gwlz"
  written+=("$out")
  # shellcheck disable=SC2086
  "$CLI" $dims -i "$tmp/$field" -z "$HERE/$out" $opts -q
  "$CLI" -z "$HERE/$out" -o "$tmp/decoded" -q
  md5=$("$TOOL" md5 "$tmp/decoded")
  bytes=$(stat -c %s "$tmp/decoded")
  rows+=("$out	$VERSION	$md5	$bytes	$(sections "$HERE/$out")	gwlz $dims $opts")
  echo "$out: $(stat -c %s "$HERE/$out") bytes, $(sections "$HERE/$out")"
done <<< "$CASES"

if [ "${DAMAGED:-0}" = 1 ]; then
  small="$HERE/v$VERSION-2d-f32-nan-inf.gwlz" models="$HERE/v$VERSION-3d-f32-linear-excp.gwlz"
  while IFS=$'\t' read -r name err; do
    case "$name" in
      bad-enhm-*|bad-excp-*) from=$models ;;
      *) from=$small ;;
    esac
    rows+=("$name	$VERSION	$err	-	-	damaged from $(basename "$from")")
  done < <("$TOOL" damage "$small" "$models" "$HERE")
fi

{
  echo "file	version	expect	decoded_bytes	sections	made_with"
  if [ -f "$MAN" ]; then
    tail -n +2 "$MAN" | awk -F'\t' -v v="$VERSION" -v d="${DAMAGED:-0}" -v w="${written[*]}" \
      'BEGIN { n = split(w, a, " "); for (i = 1; i <= n; i++) re[a[i]] = 1 }
       !($2 == v && (($1 in re) || ($1 !~ "^v" && d == 1)))'
  fi
  printf '%s\n' "${rows[@]}"
} | sort -t$'\t' -k2,2n -k1,1 > "$MAN.new"
mv "$MAN.new" "$MAN"
echo "make_golden: $(($(wc -l < "$MAN") - 1)) rows in $MAN"
