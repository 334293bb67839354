#!/usr/bin/env bash
# Runs the Python examples of examples/python on the shared field.
. "$(dirname "$0")/common.sh"
EX=${GWLZ_SOURCE:?}/examples/python
tool "$PY" "$EX/roundtrip.py" "$FIELD"
if "$PY" -c "import zarr" 2>/dev/null; then
  tool "$PY" "$EX/zarr_example.py" "$FIELD" "$W/t.zarr"
else
  echo "zarr not installed: zarr example not run"
fi
if "$PY" -c "import h5py" 2>/dev/null && [ -d "$HDF5_PLUGIN_PATH" ]; then
  # Without HDF5_PLUGIN_PATH: gwlz.hdf5_filter puts the plugin on h5py's path.
  env -u HDF5_PLUGIN_PATH bash "$(dirname "$0")/run_tool.sh" "$PY" "$EX/h5py_example.py" "$FIELD" "$W/t.h5"
  tool h5dump -p -H "$W/t.h5" > "$W/t.txt"
  grep -q 'FILTER_ID 48031' "$W/t.txt" || fail "h5dump: no gwlz filter"
else
  echo "h5py or the plugin missing: h5py example not run"
fi
