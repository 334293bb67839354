# Shared by the integration test scripts (sourced). Environment from CMake:
# GWLZ_CLI GWLZ_BUILD GWLZ_SOURCE GWLZ_FIELD GWLZ_PYTHON GWLZ_WORK
# GWLZ_ASAN_RUNTIME GWLZ_SANITIZE, PYTHONPATH and HDF5_PLUGIN_PATH (build tree).
set -euo pipefail

CLI=${GWLZ_CLI:?}
FIELD=${GWLZ_FIELD:?}
PY=${GWLZ_PYTHON:-/usr/bin/python3}
W=${GWLZ_WORK:?}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The shared field: ncl_rect3d_t, float32, C order 17 x 96 x 192 (SZ3 order: 192 96 17).
FIELD_DIMS_SZ3=(192 96 17)
FIELD_DIMS_C=(17 96 192)

rm -rf "$W"
mkdir -p "$W"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed"; done; }
[ -f "$FIELD" ] || skip "no shared field $FIELD"

# Runs a program that is not built here (h5repack, nccopy, python3 importing
# gwlz) so that it can load the ASan-built plugin or libgwlz.so.
tool() { bash "$HERE/run_tool.sh" "$@"; }

# maxerr A B DTYPE: largest |a - b| between two raw little-endian files.
maxerr() {
  "$PY" -c "import numpy as np, sys
a = np.fromfile(sys.argv[1], dtype='<' + sys.argv[3]).astype(np.float64)
b = np.fromfile(sys.argv[2], dtype='<' + sys.argv[3]).astype(np.float64)
assert a.shape == b.shape, (a.shape, b.shape)
print('%.9g' % np.abs(a - b).max())" "$1" "$2" "$3"
}

# le X Y: X <= Y as numbers.
le() { "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }

# within_pct SIZE REF PCT: SIZE <= REF * (1 + PCT/100).
within_pct() { "$PY" -c "import sys; s, r, p = map(float, sys.argv[1:]); sys.exit(0 if s <= r * (1 + p / 100) else 1)" "$1" "$2" "$3"; }

size_of() { stat -c %s "$1"; }
