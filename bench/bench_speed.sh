#!/usr/bin/env bash
# Whole-command speed, one thread, side by side in one run: gwlz's interp base
# (default and --fast) and wavelet base, and SZ3 / SPERR when their binaries
# are given. Each command runs REPS times in turn with the others (so a busy
# machine slows all of them alike); the table gives the fastest run, the
# stream size and the PSNR of the output.
#
#   bash bench/bench_speed.sh FIELD NX NY NZ [REL]
#   SZ3=/path/to/sz3 SPERR=/path/to/sperr3d REPS=5 GWLZ=build/gwlz bash bench/bench_speed.sh ...
#
# FIELD: raw float32, C order, data[NZ][NY][NX]. REL: relative bound (default
# 1e-3), applied as SZ3's -M REL and as SPERR's --pwe (REL x range).
# SZ3 and SPERR are not part of gwlz: build them from their public sources
# outside the repository to compare.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,15p' "$0"; exit 2; }
F=$1 NX=$2 NY=$3 NZ=$4 REL=${5:-1e-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
G=${GWLZ:-$ROOT/build/gwlz}
REPS=${REPS:-5}
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d /tmp/gwlz_bench_speed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

range=$("$PY" -c "import numpy as np,sys; x=np.fromfile(sys.argv[1],dtype=np.float32); \
x=x[np.isfinite(x)]; print(repr(float(x.max())-float(x.min())))" "$F")
pwe=$("$PY" -c "import sys; print(repr(float(sys.argv[1])*float(sys.argv[2])))" "$REL" "$range")

# name | compress command | decompress command | stream | output
cmds=()
add() { cmds+=("$1|$2|$3|$4|$5"); }
add "gwlz --base interp" "$G -f -i $F -z $tmp/gi.gwlz -3 $NX $NY $NZ -M REL $REL --base interp -G 0 -T 1 -q" \
  "$G -z $tmp/gi.gwlz -o $tmp/gi.out -T 1 -q" "$tmp/gi.gwlz" "$tmp/gi.out"
add "gwlz --fast" "$G -f -i $F -z $tmp/gf.gwlz -3 $NX $NY $NZ -M REL $REL --fast -G 0 -T 1 -q" \
  "$G -z $tmp/gf.gwlz -o $tmp/gf.out -T 1 -q" "$tmp/gf.gwlz" "$tmp/gf.out"
add "gwlz --base wavelet" "$G -f -i $F -z $tmp/gw.gwlz -3 $NX $NY $NZ -M REL $REL --base wavelet -G 0 -T 1 -q" \
  "$G -z $tmp/gw.gwlz -o $tmp/gw.out -T 1 -q" "$tmp/gw.gwlz" "$tmp/gw.out"
if [ -n "${SZ3:-}" ]; then
  add "SZ3" "$SZ3 -f -i $F -z $tmp/s.sz -3 $NX $NY $NZ -M REL $REL" \
    "$SZ3 -f -z $tmp/s.sz -o $tmp/s.out -3 $NX $NY $NZ -M REL $REL" "$tmp/s.sz" "$tmp/s.out"
fi
if [ -n "${SPERR:-}" ]; then
  add "SPERR" "$SPERR -c --ftype 32 --dims $NX $NY $NZ --pwe $pwe --bitstream $tmp/p.sp $F" \
    "$SPERR -d --decomp_f $tmp/p.out $tmp/p.sp" "$tmp/p.sp" "$tmp/p.out"
fi

secs() { # seconds of one run of "$@" (output discarded)
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N)
  "$PY" -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1"
}
declare -A bc bd
for ((r = 0; r < REPS; r++)); do
  for c in "${cmds[@]}"; do
    IFS='|' read -r name comp dec _ _ <<< "$c"
    # shellcheck disable=SC2086
    tc=$(secs $comp); td=$(secs $dec)
    bc[$name]=$("$PY" -c "import sys; print(min(float(a) for a in sys.argv[1:] if a))" "$tc" "${bc[$name]:-}")
    bd[$name]=$("$PY" -c "import sys; print(min(float(a) for a in sys.argv[1:] if a))" "$td" "${bd[$name]:-}")
  done
done

printf '%s, REL %s, 1 thread, fastest of %s whole commands\n' "$(basename "$F")" "$REL" "$REPS"
printf '| %-20s | %9s | %9s | %11s | %8s |\n' tool "compress" "decompress" "bytes" "PSNR"
printf '|%s|%s|%s|%s|%s|\n' "----------------------" "-----------" "------------" "-------------" "----------"
for c in "${cmds[@]}"; do
  IFS='|' read -r name _ _ stream out <<< "$c"
  psnr=$("$PY" -c "import numpy as np,sys
x=np.fromfile(sys.argv[1],dtype=np.float32).astype(np.float64)
y=np.fromfile(sys.argv[2],dtype=np.float32).astype(np.float64)
m=np.isfinite(x); r=x[m].max()-x[m].min(); e=np.mean((x[m]-y[m])**2)
print('%.2f' % (20*np.log10(r)-10*np.log10(e)) if e > 0 else 'inf')" "$F" "$out")
  printf '| %-20s | %7.3f s | %8.3f s | %11d | %8s |\n' "$name" "${bc[$name]}" "${bd[$name]}" \
    "$(stat -c %s "$stream")" "$psnr"
done
