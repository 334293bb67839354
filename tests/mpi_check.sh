#!/usr/bin/env bash
# gwlz-mpi on 1, 2, 3 and 4 processes: the stream is byte-identical to the
# serial tool's (same settings: base only with -G 0, or with the enhancer,
# whose training and inference are spread over the processes), its parallel
# decode is byte-identical to the serial decode, and that decode holds the
# bound.
#   mpi_check.sh GWLZ_CLI GWLZ_MPI DATA_DIR
set -euo pipefail
CLI=$1
MPI=$2
DATA=$3
# CI runs as root in a container: OpenMPI needs to be told that is fine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# OpenMPI's own allocations at start-up are not freed at exit; they would
# trip LeakSanitizer in the sanitizer build, so leak checking is off for the
# MPI runs only (memory errors are still caught there).
MPI_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
tmp=$(mktemp -d /tmp/gwlz_mpi_check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fails=0

# case NAME FILE PROCS "DIMS AND FLAGS" [ENHANCER FLAGS, default -G 0]
case_() {
  local name=$1 file=$2 procs=$3 flags=$4 enh=${5--G 0}
  local in="$DATA/$file"
  if [ ! -f "$in" ]; then echo "skip $name: no $in"; return; fi
  # shellcheck disable=SC2086
  "$CLI" -i "$in" -z "$name.s.gwlz" $flags $enh -q
  "$CLI" -z "$name.s.gwlz" -o "$name.s.out" -q
  # shellcheck disable=SC2086
  if ! "$CLI" -i "$in" -o "$name.chk" $flags $enh -a -q > "$name.report"; then
    echo "FAIL $name: serial round trip over the bound"; fails=$((fails + 1))
  fi
  if [ -z "$enh" ] && ! grep -q "ENHM" "$name.s.gwlz"; then
    echo "FAIL $name: no enhancer kept: nothing tested"; fails=$((fails + 1))
  fi
  for p in $procs; do
    # shellcheck disable=SC2086
    ASAN_OPTIONS=$MPI_ASAN mpirun --oversubscribe -n "$p" "$MPI" -i "$in" -z "$name.p$p.gwlz" $flags $enh -T 2 -q
    if cmp -s "$name.s.gwlz" "$name.p$p.gwlz"; then echo "ok   $name: $p processes, same stream"
    else echo "FAIL $name: $p processes, stream differs"; fails=$((fails + 1)); fi
    ASAN_OPTIONS=$MPI_ASAN mpirun --oversubscribe -n "$p" "$MPI" -z "$name.s.gwlz" -o "$name.d$p.out" -T 2 -q
    if cmp -s "$name.s.out" "$name.d$p.out"; then echo "ok   $name: $p processes, same decode"
    else echo "FAIL $name: $p processes, decode differs"; fails=$((fails + 1)); fi
  done
}

case_ winds3d ferret_navywinds_u_132x73x144.f32 "1 2 3 4" "-f -3 144 73 132 -M REL 1e-3 --chunk 50000"
case_ fill3d ferret_levitus_temp_20x180x360.f32 "1 4" "-f -3 360 180 20 -M ABS 0.01 --fill -1e10 --chunk 40000"
case_ hst2d hst_acs_j8bt06nyq_sci_1024x1024.f32 "1 2" "-f -2 1024 1024 -M REL 1e-4 --chunk 131072"
case_ vort4d sperr_vorticity_128_128_41_41x128x128.f32 "2 4" "-f -4 128 64 2 41 -M ABS_OR_REL -A 1e-7 -R 1e-4 --chunk 30000"
case_ tau64 nyxlya50_tau_real_50x50x50.f64 "1 3" "-d -3 50 50 50 -M ABS_AND_REL -A 0.01 -R 1e-3 --chunk 10000"
case_ single3d vasp_fe3o4_chgcar_72x72x72.f32 "2" "-f -3 72 72 72 -M REL 1e-3"
case_ fast3d ferret_navywinds_u_132x73x144.f32 "1 3" "-f -3 144 73 132 -M REL 1e-3 --chunk 50000 --fast"
# with the enhancer (the default): windows of chunk rows spread over the
# processes (2-D to 4-D, a fill value), and arrays compressed whole
# by process 0 (one chunk; 1-D)
case_ enh3d ferret_navywinds_u_132x73x144.f32 "1 2 4" "-f -3 144 73 132 -M REL 1e-3 --chunk 20000" ""
case_ enh2d hst_acs_j8bt06nyq_sci_1024x1024.f32 "3" "-f -2 1024 1024 -M REL 1e-3 --chunk 16384" ""
case_ enh4d sperr_vorticity_128_128_41_41x128x128.f32 "3" "-f -4 128 64 2 41 -M REL 1e-3 --chunk 16384" ""
case_ enhfill ferret_levitus_temp_20x180x360.f32 "2" "-f -3 360 180 20 -M REL 1e-3 --fill -1e10 --chunk 16384" ""
case_ enhone vasp_fe3o4_chgcar_72x72x72.f32 "2" "-f -3 72 72 72 -M REL 1e-3" ""
case_ enh1d vasp_aeccar2_valence_96x96x96.f32 "2" "-f -1 884736 -M REL 1e-3 --chunk 65536" ""

if [ "$fails" -ne 0 ]; then echo "$fails failures"; exit 1; fi
echo "all MPI checks passed"
