#!/usr/bin/env bash
# Rate-distortion benchmark: gwlz (base wavelet -G 0, base auto -G 0,
# defaults) beside the anchors (SZ3, HPEZ/QoZ, SPERR, ZFP) on the shared
# fields and the 256^3 cosmology fields, with the yardstick of
# ../shared/tools/rd: median PSNR difference at equal bits per value per
# anchor and per field, and a PSNR-versus-bpv plot of three fields.
#
#   bash bench/bench_rd.sh [--no-cosmo] [--no-plot] [--configs "wavelet auto default"]
#
# Environment: GWLZ_BIN (default build/gwlz), GWLZ_SHARED (default ../shared),
# GWLZ_COSMO (default ${GWLZ_CACHE:-$HOME/.cache/gwlz}/cosmo256), OUT (results,
# default ${GWLZ_CACHE:-$HOME/.cache/gwlz}/bench_rd), PLOT (default
# docs/rd_plot.png), FILES / RELS (subsets, passed to gwlz_rows.py).
# Needs /usr/bin/python3 with numpy and, for the plot, gnuplot (Debian:
# gnuplot-nox).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHARED=${GWLZ_SHARED:-$ROOT/../shared}
CACHE=${GWLZ_CACHE:-$HOME/.cache/gwlz}
COSMO=${GWLZ_COSMO:-$CACHE/cosmo256}
OUT=${OUT:-$CACHE/bench_rd}
BIN=${GWLZ_BIN:-$ROOT/build/gwlz}
PLOT=${PLOT:-$ROOT/docs/rd_plot.png}
RD=$SHARED/tools/rd
cosmo=1
plot=1
configs="wavelet auto default"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-cosmo) cosmo=0 ;;
    --no-plot) plot=0 ;;
    --configs) configs=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench_rd.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$BIN" ] || { echo "bench_rd.sh: no $BIN (build first)" >&2; exit 2; }
mkdir -p "$OUT"
EXCL="astro_gc_bolocam_638x640.f32 ferret_levitus_temp_20x180x360.f32"

flags_of() {
  case "$1" in
    wavelet) echo "--base wavelet -G 0" ;;
    interp) echo "--base interp -G 0" ;;
    auto) echo "--base auto -G 0" ;;
    default) echo "" ;;
    *) echo "bench_rd.sh: unknown config $1" >&2; exit 2 ;;
  esac
}

# rows: set name, manifest, data dir
run_set() {
  local set=$1 man=$2 dir=$3
  for c in $configs; do
    # shellcheck disable=SC2046
    nice "$RD/gwlz_rows.py" "$BIN" "$man" "$dir" "gwlz-$c" $(flags_of "$c") >"$OUT/${set}_$c.tsv"
  done
}

compare_set() {
  local set=$1 anchors=$2
  local tabs=()
  for c in $configs; do tabs+=("$OUT/${set}_$c.tsv"); done
  for ref in sperr qoz-q4 sz3 zfp; do
    EXCLUDE="$EXCL" "$RD/rd_compare.py" "$ref" "$anchors" "${tabs[@]}" >"$OUT/${set}_vs_$ref.txt"
  done
  echo "== $set: median PSNR difference at equal bpv (dB), gwlz configurations vs each anchor"
  printf '%-10s' anchor
  for c in $configs; do printf '%14s' "gwlz-$c"; done
  echo
  for ref in sperr qoz-q4 sz3 zfp; do
    printf '%-10s' "$ref"
    for c in $configs; do
      printf '%14s' "$(awk -F'\t' -v t="gwlz-$c" '$1 == t {print $2; exit}' "$OUT/${set}_vs_$ref.txt")"
    done
    echo
  done
  echo "-- per field vs SPERR:"
  sed -n '/^per file/,$p' "$OUT/${set}_vs_sperr.txt"
}

run_set shared "$SHARED/data/MANIFEST.tsv" "$SHARED/data"
compare_set shared "$SHARED/anchors/baselines.tsv" | tee "$OUT/summary_shared.txt"
if [ "$cosmo" -eq 1 ]; then
  if [ ! -f "$COSMO/MANIFEST.tsv" ]; then
    echo "bench_rd.sh: no $COSMO/MANIFEST.tsv (make the fields with" \
      "$SHARED/tools/make_cosmo/make_cosmo.sh, see bench/README.md)" >&2
    exit 2
  fi
  run_set cosmo "$COSMO/MANIFEST.tsv" "$COSMO"
  compare_set cosmo "$SHARED/anchors/cosmo256_baselines.tsv" | tee "$OUT/summary_cosmo.txt"
fi

if [ "$plot" -eq 1 ]; then
  # one file of "bpv psnr" rows per (field, tool), sorted by bpv
  pdir=$OUT/plot
  mkdir -p "$pdir"
  extract() { # table, field, tool, out
    awk -F'\t' -v f="$2" -v t="$3" 'NR > 1 && $1 == f && $4 == t && $8 != "NA" && $9 != "inf" {print $8, $9}' \
      "$1" | sort -g >"$4"
  }
  fields=(nyx_plane_temperature_64x512.f32 sperr_wmag91_float_91x91x91.f32)
  tables=("$SHARED/anchors/baselines.tsv" "$SHARED/anchors/baselines.tsv")
  if [ "$cosmo" -eq 1 ]; then
    fields+=(temperature_256x256x256.f32)
    tables+=("$SHARED/anchors/cosmo256_baselines.tsv")
  else
    fields+=(nyxlya50_tau_real_50x50x50.f64)
    tables+=("$SHARED/anchors/baselines.tsv")
  fi
  for i in 0 1 2; do
    f=${fields[$i]}
    set=shared
    [ "$f" = temperature_256x256x256.f32 ] && set=cosmo
    for t in sz3 qoz-q4 sperr zfp; do extract "${tables[$i]}" "$f" "$t" "$pdir/$i-$t.dat"; done
    for c in $configs; do extract "$OUT/${set}_$c.tsv" "$f" "gwlz-$c" "$pdir/$i-gwlz-$c.dat"; done
  done
  gnuplot -e "dir='$pdir'; out='$PLOT'; f0='${fields[0]}'; f1='${fields[1]}'; f2='${fields[2]}'; configs='$configs'" \
    bench/bench_rd.gp
  echo "plot: $PLOT"
fi
