#!/usr/bin/env bash
# Installs the build dependencies (Debian 12) and builds gwlz.
#
#   bash scripts/setup.sh               Release build in build/
#   bash scripts/setup.sh --sanitize    also an ASan+UBSan build in build-asan/ (and clang
#                                       with libFuzzer, which scripts/test.sh uses on it)
#   bash scripts/setup.sh --deps-only   install packages, build nothing
#
# Environment: GWLZ_SHARED_DATA overrides the data directory (default ../shared/data),
# JOBS the build parallelism (default: number of cores).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

sanitize=0
build=1
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    --deps-only) build=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

PACKAGES=(build-essential cmake pkg-config libzstd-dev libzfp-dev libpng-dev
  # gwlz-mpi (chunks across MPI processes) and its tests
  libopenmpi-dev openmpi-bin
  # HDF5 filter plugin, netCDF-4, Python package and their tests
  libhdf5-dev hdf5-tools libnetcdf-dev netcdf-bin
  python3 python3-numpy python3-h5py python3-h5py-serial python3-zarr python3-numcodecs)
# the fuzz targets under libFuzzer (scripts/test.sh, sanitizer build)
if [ "$sanitize" -eq 1 ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$build" -eq 1 ] || exit 0

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
extra=()
if [ -n "${GWLZ_SHARED_DATA:-}" ]; then
  extra+=("-DGWLZ_SHARED_DATA=$GWLZ_SHARED_DATA")
fi

configure_and_build() {
  local dir=$1; shift
  echo "setup: building $dir"
  cmake -S . -B "$dir" "$@" "${extra[@]}" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

configure_and_build build -DCMAKE_BUILD_TYPE=Release
if [ "$sanitize" -eq 1 ]; then
  configure_and_build build-asan -DGWLZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
