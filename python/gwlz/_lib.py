"""ctypes binding of libgwlz.so (the public interface of include/gwlz.h)."""

import ctypes
import ctypes.util
import os

MAX_DIMS = 4


class _Info(ctypes.Structure):
    """gwlz_info; the tail keeps room for fields a newer library appends."""

    _fields_ = [
        ("format_version", ctypes.c_uint),
        ("type", ctypes.c_int),
        ("ndims", ctypes.c_int),
        ("dims", ctypes.c_size_t * MAX_DIMS),
        ("num_values", ctypes.c_size_t),
        ("decompressed_bytes", ctypes.c_size_t),
        ("eb_mode", ctypes.c_int),
        ("abs_bound", ctypes.c_double),
        ("has_fill", ctypes.c_int),
        ("fill_value", ctypes.c_double),
        ("enhancer", ctypes.c_int),
        ("groups", ctypes.c_int),
        ("bound_policy", ctypes.c_int),
        ("base", ctypes.c_int),
        ("_reserved", ctypes.c_char * 1024),
    ]


def _candidates():
    env = os.environ.get("GWLZ_LIBRARY")
    if env:
        yield env
        return
    try:
        from . import _paths
        yield _paths.LIBRARY
    except ImportError:
        pass
    found = ctypes.util.find_library("gwlz")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            tried.append("%s (%s)" % (path, exc))
    raise ImportError(
        "gwlz: cannot load libgwlz.so; set GWLZ_LIBRARY to its path. Tried: "
        + ("; ".join(tried) if tried else "nothing found"))


lib, path = _load()

_c = ctypes
_ctx = _c.c_void_p
_err = _c.c_int


def _sig(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_sig("gwlz_version_string", _c.c_char_p)
_sig("gwlz_format_version", _c.c_uint)
_sig("gwlz_error_string", _c.c_char_p, _err)
_sig("gwlz_base_name", _c.c_char_p, _c.c_int)
_sig("gwlz_base_available", _c.c_int, _c.c_int)
_sig("gwlz_create", _ctx)
_sig("gwlz_free", None, _ctx)
_sig("gwlz_set_type", _err, _ctx, _c.c_int)
_sig("gwlz_set_dims", _err, _ctx, _c.c_int, _c.POINTER(_c.c_size_t))
_sig("gwlz_set_error_bound", _err, _ctx, _c.c_int, _c.c_double, _c.c_double, _c.c_double)
_sig("gwlz_set_fill_value", _err, _ctx, _c.c_double)
_sig("gwlz_set_threads", _err, _ctx, _c.c_int)
_sig("gwlz_set_base", _err, _ctx, _c.c_int)
_sig("gwlz_set_speed", _err, _ctx, _c.c_int)
_sig("gwlz_set_groups", _err, _ctx, _c.c_int)
_sig("gwlz_set_enhancer", _err, _ctx, _c.c_int)
_sig("gwlz_set_bound_policy", _err, _ctx, _c.c_int)
_sig("gwlz_compress_bound", _c.c_size_t, _ctx)
_sig("gwlz_compress", _err, _ctx, _c.c_void_p, _c.c_void_p, _c.c_size_t,
     _c.POINTER(_c.c_size_t))
_sig("gwlz_get_info", _err, _c.c_void_p, _c.c_size_t, _c.POINTER(_Info))
_sig("gwlz_decompress", _err, _ctx, _c.c_void_p, _c.c_size_t, _c.c_void_p, _c.c_size_t)
