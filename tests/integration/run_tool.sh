#!/usr/bin/env bash
# run_tool.sh PROGRAM ARGS...: runs a program not built by this project. In the
# sanitizer build (GWLZ_ASAN_RUNTIME set) the plugin and libgwlz.so it loads
# need the ASan runtime loaded first: it is preloaded, and leak checking is off
# (leaks of HDF5, netCDF or Python themselves are not this project's).
if [ -n "${GWLZ_ASAN_RUNTIME:-}" ]; then
  export LD_PRELOAD="$GWLZ_ASAN_RUNTIME${LD_PRELOAD:+:$LD_PRELOAD}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
exec "$@"
