#!/usr/bin/env bash
# Thread speedup of whole commands, measured so that a shared machine's
# noise shows: every round runs each gwlz binary at each thread count in
# turn (compression, then decompression to a new file), and the table gives
# the median and the fastest of the rounds, and the speedups against the
# first thread count. Streams and outputs must be identical across thread
# counts (checked every round; a difference fails the script).
#
#   bash bench/bench_threads.sh FIELD NX NY NZ [REL]
#   GWLZ="build/gwlz /other/gwlz" THREADS="1 2 4" ROUNDS=21 FLAGS="-G 0" \
#     DIR=/dev/shm bash bench/bench_threads.sh FIELD NX NY NZ 1e-3
#
# FIELD: raw float32, C order, data[NZ][NY][NX]. DIR: where streams and
# outputs go (default /tmp; tmpfs keeps the disk out of the figures).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,14p' "$0"; exit 2; }
F=$1 NX=$2 NY=$3 NZ=$4 REL=${5:-1e-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
read -r -a BINS <<< "${GWLZ:-$ROOT/build/gwlz}"
read -r -a TS <<< "${THREADS:-1 2}"
read -r -a FL <<< "${FLAGS:--G 0}"
ROUNDS=${ROUNDS:-11}
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d "${DIR:-/tmp}/gwlz_bench_threads.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/times.tsv

now() { date +%s.%N; }
for ((r = 1; r <= ROUNDS; r++)); do
  for ((b = 0; b < ${#BINS[@]}; b++)); do
    for t in "${TS[@]}"; do
      z=$tmp/s$t.gz o=$tmp/o$t.raw
      rm -f "$z" "$o"
      t0=$(now)
      "${BINS[b]}" -f -i "$F" -z "$z" -3 "$NX" "$NY" "$NZ" -M REL "$REL" "${FL[@]}" -T "$t"
      t1=$(now)
      "${BINS[b]}" -z "$z" -o "$o" -T "$t"
      t2=$(now)
      echo -e "$b\t$t\tcompress\t$t0\t$t1" >> "$log"
      echo -e "$b\t$t\tdecompress\t$t1\t$t2" >> "$log"
    done
    for t in "${TS[@]:1}"; do
      cmp -s "$tmp/s${TS[0]}.gz" "$tmp/s$t.gz" || { echo "streams differ: ${TS[0]} and $t threads" >&2; exit 1; }
      cmp -s "$tmp/o${TS[0]}.raw" "$tmp/o$t.raw" || { echo "outputs differ: ${TS[0]} and $t threads" >&2; exit 1; }
    done
  done
done

"$PY" - "$log" "${BINS[@]}" <<'EOF'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, t, op, t0, t1 = line.split()
    d[(int(b), int(t), op)].append(float(t1) - float(t0))
bins = sys.argv[2:]
ts = sorted({k[1] for k in d})
print("binary\top\tthreads\tmedian_s\tbest_s\tspeedup_median\tspeedup_best")
for b, name in enumerate(bins):
    for op in ("compress", "decompress"):
        m0, b0 = statistics.median(d[(b, ts[0], op)]), min(d[(b, ts[0], op)])
        for t in ts:
            v = d[(b, t, op)]
            m, f = statistics.median(v), min(v)
            print(f"{name}\t{op}\t{t}\t{m:.4f}\t{f:.4f}\t{m0 / m:.2f}\t{b0 / f:.2f}")
print(f"# {len(next(iter(d.values())))} rounds; streams and outputs identical across threads")
EOF
