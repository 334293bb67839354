#!/usr/bin/env bash
# Bit-exact decoding across builds and thread counts.
#
# Builds the CLI twice, at -O0 and at -O3 -march=native, compresses real fields
# with the enhancer on, and checks that both builds, with 1 and 2 threads,
# decode every stream to identical bytes, and that streams compressed by one
# build decode identically with the other.
#
# usage: cross_build_check.sh SOURCE_DIR WORK_DIR SHARED_DATA_DIR
set -euo pipefail
src=$1
work=$2
data=$3
mkdir -p "$work"
build() { # dir, C flags
  cmake -S "$src" -B "$work/$1" -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$2" \
    -DGWLZ_BUILD_TESTS=OFF -DGWLZ_NATIVE=OFF >"$work/$1.log" 2>&1
  cmake --build "$work/$1" --target gwlz_cli -j 2 >>"$work/$1.log" 2>&1
}
build o0 "-O0"
build native "-O3 -march=native"
o0=$work/o0/gwlz
nat=$work/native/gwlz

pass=0
fail=0
check() { # name, file a, file b
  if cmp -s "$2" "$3"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: $2 differs from $3"; fi
}
# field, type flag, dims (fastest first), bound, enhancer[, base ('-': default)[, chunk size:
# a chunked stream]]
cases=(
  "nyx_plane_temperature_64x512.f32 -f -2 512 64 1e-3 linear"
  "nyx_plane_dark_matter_density_64x512.f32 -f -2 512 64 5e-3 cnn"
  "vtk_chi_s3d_50x50x50.f32 -f -3 50 50 50 1e-3 cnn"
  "vtk_chi_s3d_50x50x50.f32 -f -3 50 50 50 1e-3 linear"
  "nyxlya50_nhi_50x50x50.f64 -d -3 50 50 50 1e-3 auto"
  "astro_gc_bolocam_638x640.f32 -f -2 640 638 1e-3 auto"
  "nyx_plane_velocity_x_64x512.f32 -f -2 512 64 1e-4 linear wavelet"
  "sperr_wmag91_float_91x91x91.f32 -f -3 91 91 91 1e-3 none wavelet"
  "nyxlya50_tau_real_50x50x50.f64 -d -3 50 50 50 1e-5 linear wavelet"
  "hst_acs_j8bt06nyq_sci_1024x1024.f32 -f -2 1024 1024 1e-4 none - 131072"
  "ferret_navywinds_u_132x73x144.f32 -f -3 144 73 132 1e-3 linear - 300000"
)
for c in "${cases[@]}"; do
  read -r file tflag dflag rest <<<"$c"
  bname=
  chunk=
  if [ "$dflag" = -2 ]; then read -r d1 d2 eb enh bname chunk <<<"$rest"; dims="$d1 $d2";
  else read -r d1 d2 d3 eb enh bname chunk <<<"$rest"; dims="$d1 $d2 $d3"; fi
  [ "$bname" = - ] && bname=
  bopt=()
  [ -n "$bname" ] && bopt=(--base "$bname")
  [ -n "$chunk" ] && bopt+=(--chunk "$chunk")
  in=$data/$file
  [ -f "$in" ] || { echo "missing $in"; fail=$((fail + 1)); continue; }
  base=$work/${file%.*}-$enh${bname:+-$bname}
  # shellcheck disable=SC2086
  "$nat" $tflag -i "$in" -z "$base.nat.gwlz" $dflag $dims -M REL "$eb" --enhancer "$enh" "${bopt[@]}" --threads 2 -q
  # shellcheck disable=SC2086
  "$o0" $tflag -i "$in" -z "$base.o0.gwlz" $dflag $dims -M REL "$eb" --enhancer "$enh" "${bopt[@]}" --threads 1 -q
  [ -z "$chunk" ] || [ "$enh" != none ] ||
    check "$file chunked base: -O0 (1 thread) and native (2 threads) write the same stream" \
    "$base.nat.gwlz" "$base.o0.gwlz"
  for s in nat o0; do
    "$nat" -z "$base.$s.gwlz" -o "$base.$s.nat1.out" --threads 1 -q
    "$nat" -z "$base.$s.gwlz" -o "$base.$s.nat2.out" --threads 2 -q
    "$o0" -z "$base.$s.gwlz" -o "$base.$s.o01.out" --threads 1 -q
    "$o0" -z "$base.$s.gwlz" -o "$base.$s.o02.out" --threads 2 -q
    check "$file $enh ($s stream) native 1 vs 2 threads" "$base.$s.nat1.out" "$base.$s.nat2.out"
    check "$file $enh ($s stream) native vs -O0" "$base.$s.nat1.out" "$base.$s.o01.out"
    check "$file $enh ($s stream) -O0 1 vs 2 threads" "$base.$s.o01.out" "$base.$s.o02.out"
  done
done
echo "cross-build: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
