#!/usr/bin/env bash
# cmake --install into a temporary prefix, then use the installed gwlz as a
# downstream project would: a C program built with pkg-config (shared, and
# static with Libs.private), a CMake project with find_package(gwlz CONFIG)
# (gwlz::gwlz and the static target), the Python package, the HDF5 plugin and
# the C HDF5 example; the installed tree moved elsewhere still works.
. "$(dirname "$0")/common.sh"
need cmake pkg-config
B=${GWLZ_BUILD:?}
S=${GWLZ_SOURCE:?}
CC=${CC:-cc}
E=0.02
P="$W/prefix"
cmake --install "$B" --prefix "$P" > "$W/install.log"

# What a prefix holds.
PC=$(find "$P" -name gwlz.pc)
[ -n "$PC" ] || fail "no gwlz.pc installed"
LIBDIR=$(cd "$(dirname "$PC")/.." && pwd)
for f in bin/gwlz include/gwlz.h include/gwlz_h5z.h share/man/man1/gwlz.1; do
  [ -f "$P/$f" ] || fail "not installed: $f"
done
for f in libgwlz.a libgwlz.so cmake/gwlz/gwlzConfig.cmake cmake/gwlz/gwlzConfigVersion.cmake; do
  [ -e "$LIBDIR/$f" ] || fail "not installed: $LIBDIR/$f"
done
SO=$(readlink -f "$LIBDIR/libgwlz.so")
soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -e "$LIBDIR/$soname" ] || fail "SONAME $soname has no link in $LIBDIR"
case "$soname" in libgwlz.so.[0-9]*) ;; *) fail "unexpected SONAME '$soname'" ;; esac
# Only the public interface is exported (gwlz_*; OpenMP's named critical
# sections are common symbols the runtime needs).
extra=$(nm -D --defined-only "$SO" | awk '{print $3}' | grep -v -e '^gwlz_' -e '^\.gomp_critical_user_' || true)
[ -z "$extra" ] || fail "libgwlz.so exports more than gwlz_*: $extra"
PLUGIN=$(find "$P" -name libh5gwlz.so)
if [ -n "$PLUGIN" ]; then
  pexp=$(nm -D --defined-only "$PLUGIN" | awk '{print $3}' | sort | tr '\n' ' ')
  [ "$pexp" = "H5PLget_plugin_info H5PLget_plugin_type " ] || fail "plugin exports: $pexp"
fi
grep -q '^\.TH GWLZ 1' "$P/share/man/man1/gwlz.1" || fail "man page has no .TH line"
"$P/bin/gwlz" -V > /dev/null

export PKG_CONFIG_PATH="$(dirname "$PC")"
SAN=()
if [ "${GWLZ_SANITIZE:-0}" = 1 ]; then SAN=(-fsanitize=address,undefined); fi

# pkg-config, shared library.
# shellcheck disable=SC2046
"$CC" "${SAN[@]}" -O2 -o "$W/rt_pc" "$S/examples/c/roundtrip.c" $(pkg-config --cflags --libs gwlz) \
  -Wl,-rpath,"$(pkg-config --variable=libdir gwlz)" -lm
readelf -d "$W/rt_pc" > "$W/rt_pc.dyn"
grep -q "NEEDED.*\[$soname\]" "$W/rt_pc.dyn" || fail "rt_pc does not use $soname"
"$W/rt_pc" "$FIELD" "${FIELD_DIMS_C[@]}" $E

# pkg-config --static: libgwlz.a plus Libs.private is all a static link needs.
# shellcheck disable=SC2046
"$CC" "${SAN[@]}" -O2 -o "$W/rt_static" "$S/examples/c/roundtrip.c" $(pkg-config --cflags gwlz) \
  "$LIBDIR/libgwlz.a" $(pkg-config --static --libs gwlz | sed 's/-lgwlz\b//; s/-L[^ ]*//g') -lm
readelf -d "$W/rt_static" > "$W/rt_static.dyn"
if grep -q 'libgwlz' "$W/rt_static.dyn"; then fail "rt_static needs libgwlz.so"; fi
"$W/rt_static" "$FIELD" "${FIELD_DIMS_C[@]}" $E

# CMake package: gwlz::gwlz (shared) and GWLZ_USE_STATIC_LIBS.
cmake_flags=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$P" "-DCMAKE_C_COMPILER=$CC")
[ "${#SAN[@]}" -eq 0 ] || cmake_flags+=("-DCMAKE_C_FLAGS=${SAN[*]}" "-DCMAKE_EXE_LINKER_FLAGS=${SAN[*]}")
cmake -S "$S/examples/cmake" -B "$W/cm" "${cmake_flags[@]}" > "$W/cm.log"
cmake --build "$W/cm" > "$W/cm-build.log"
"$W/cm/roundtrip" "$FIELD" "${FIELD_DIMS_C[@]}" $E
cmake -S "$S/examples/cmake" -B "$W/cms" "${cmake_flags[@]}" -DGWLZ_USE_STATIC_LIBS=ON > "$W/cms.log"
cmake --build "$W/cms" > "$W/cms-build.log"
readelf -d "$W/cms/roundtrip" > "$W/cms.dyn"
if grep -q 'libgwlz' "$W/cms.dyn"; then fail "static CMake build needs libgwlz.so"; fi
"$W/cms/roundtrip" "$FIELD" "${FIELD_DIMS_C[@]}" $E
grep -q "HDF5 plugin in '$(dirname "${PLUGIN:-/none/x}")'" "$W/cm.log" || [ -z "$PLUGIN" ] \
  || fail "GWLZ_HDF5_PLUGIN_DIR not set by the CMake package"

# The installed Python package finds the installed library and plugin.
PYPKG=$(find "$P" -name _paths.py -path '*gwlz*')
[ -n "$PYPKG" ] || fail "Python package not installed"
PYDIR=$(dirname "$(dirname "$PYPKG")")
check_python() { # prefix pydir
  PYTHONPATH="$2" tool "$PY" - "$1" "$FIELD" <<'PYEOF'
import os, sys, numpy as np, gwlz
prefix, field = sys.argv[1], sys.argv[2]
assert os.path.realpath(gwlz.library_path).startswith(os.path.realpath(prefix)), gwlz.library_path
assert os.path.realpath(gwlz.__file__).startswith(os.path.realpath(prefix)), gwlz.__file__
d = gwlz.hdf5_plugin_dir()
assert d and os.path.isfile(os.path.join(d, "libh5gwlz.so")), d
x = np.fromfile(field, dtype="<f4").reshape(17, 96, 192)
y = gwlz.decompress(gwlz.compress(x, abs=0.02))
assert np.abs(y - x).max() <= 0.02
print("installed Python package: library %s, plugin %s" % (gwlz.library_path, d))
PYEOF
}
check_python "$P" "$PYDIR"

# HDF5 C example against the installed headers and plugin.
if [ -n "$PLUGIN" ] && pkg-config --exists hdf5; then
  # shellcheck disable=SC2046
  "$CC" "${SAN[@]}" -O2 -o "$W/h5ex" "$S/examples/c/h5_roundtrip.c" $(pkg-config --cflags gwlz hdf5) \
    $(pkg-config --libs hdf5) -lm
  HDF5_PLUGIN_PATH="$(dirname "$PLUGIN")" "$W/h5ex" "$FIELD" "$W/ex.h5" "${FIELD_DIMS_C[@]}" $E
fi

# Relocatable: move the whole prefix; pkg-config, the CMake package and Python follow.
mv "$P" "$W/moved"
P="$W/moved"
PC=${PC/$W\/prefix/$P}
export PKG_CONFIG_PATH="$(dirname "$PC")"
case "$(pkg-config --variable=libdir gwlz)" in "$P"/*) ;; *) fail "gwlz.pc is not relocatable" ;; esac
check_python "$P" "${PYDIR/$W\/prefix/$P}"
cmake -S "$S/examples/cmake" -B "$W/cm2" "${cmake_flags[@]/$W\/prefix/$P}" > "$W/cm2.log"
cmake --build "$W/cm2" > /dev/null
LD_LIBRARY_PATH= "$W/cm2/roundtrip" "$FIELD" "${FIELD_DIMS_C[@]}" $E
echo "install_downstream: passed"
