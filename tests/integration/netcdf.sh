#!/usr/bin/env bash
# The gwlz HDF5 filter through netCDF-4: nc_def_var_filter (the C example) and
# nccopy -F; read back by the C API, ncdump and h5py; sizes within 10% of the
# CLI's stream for one chunk.
. "$(dirname "$0")/common.sh"
NCR=${1:?nc_roundtrip program}
need nccopy ncdump
E=0.02
cd "$W"
"$CLI" -f -i "$FIELD" -z cli.gwlz -3 "${FIELD_DIMS_SZ3[@]}" -M ABS $E -q
ref=$(size_of cli.gwlz)

# nc_def_var_filter, write and read back through netCDF (the program checks the bound).
"$NCR" "$FIELD" api.nc "${FIELD_DIMS_C[@]}" $E
within_pct "$(size_of api.nc)" "$ref" 10 || fail "api.nc $(size_of api.nc) bytes vs CLI stream $ref"
tool ncdump -hs api.nc > api.cdl
grep -q '_Filter = "48031,' api.cdl || fail "ncdump shows no gwlz filter"

# nccopy -F on an uncompressed netCDF-4 file.
"$NCR" "$FIELD" raw.nc "${FIELD_DIMS_C[@]}" $E raw
SPEC=$("$CLI" --h5repack-arg -M ABS $E | sed 's/^UD=\([0-9]*\),[0-9]*,[0-9]*,/\1,/')
tool nccopy -c z/17,y/96,x/192 -F "field,$SPEC" raw.nc cp.nc
tool ncdump -hs cp.nc > cp.cdl
grep -q '_Filter = "48031,' cp.cdl || fail "nccopy output has no gwlz filter"
within_pct "$(size_of cp.nc)" "$ref" 10 || fail "cp.nc $(size_of cp.nc) bytes vs CLI stream $ref"
tool ncdump -v field cp.nc > cp.txt
grep -q 'field =' cp.txt || fail "ncdump cannot read the variable"
tool "$PY" - "$FIELD" $E <<'PYEOF'
import sys, numpy as np, h5py, gwlz
x = np.fromfile(sys.argv[1], dtype="<f4").reshape(17, 96, 192)
e = float(sys.argv[2])
for name in ("cp.nc", "api.nc"):
    with h5py.File(name, "r") as f:
        y = f["field"][...]
    err = np.abs(y - x).max()
    assert err <= e, (name, err)
    print("%s read back by h5py: max error %g <= %g" % (name, err, e))
PYEOF
echo "netCDF-4: nc_def_var_filter $(size_of api.nc) bytes, nccopy -F $(size_of cp.nc) bytes, CLI stream $ref"
