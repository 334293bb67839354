"""gwlz: error-bounded lossy compression of float32/float64 arrays.

    import numpy as np, gwlz
    x = np.random.default_rng(0).standard_normal((64, 64, 64)).astype(np.float32)
    stream = gwlz.compress(x, rel=1e-3)        # bytes: one complete gwlz stream
    y = gwlz.decompress(stream)                 # dtype and shape from the stream
    assert np.abs(y - x).max() <= gwlz.info(stream)["abs_bound"]

Bounds (as in the C library and the command-line tool): ``abs`` alone is an
absolute bound, ``rel`` alone is relative to the value range (max - min), both
together must both hold (``mode="abs_or_rel"``: either), ``psnr`` targets a
PSNR in dB. ``gwlz.Codec`` is a numcodecs codec (zarr); ``gwlz.hdf5_filter``
gives h5py's ``create_dataset`` the keyword arguments of the gwlz HDF5 filter.
Failures of the library raise ``gwlz.Error`` with its message.
"""

import ctypes

import numpy as np

from . import _h5z
from ._lib import _Info, lib, path as library_path

__all__ = ["compress", "decompress", "info", "Error", "Codec", "hdf5_filter",
           "register_hdf5_plugin", "HDF5_FILTER_ID", "hdf5_plugin_dir", "version",
           "library_path"]

HDF5_FILTER_ID = _h5z.FILTER_ID

_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}
_DTYPES = {0: np.dtype(np.float32), 1: np.dtype(np.float64)}
_MODES = ["ABS", "REL", "ABS_AND_REL", "ABS_OR_REL", "PSNR"]
_ENHANCERS = ["none", "linear", "cnn", "auto"]
_POLICIES = ["strict", "relaxed"]
_SPEEDS = ["default", "fast"]


class Error(Exception):
    """A failure reported by the gwlz library; ``code`` is its gwlz_error."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def version():
    """Library version and highest stream format version, e.g. ("0.1.0", 2)."""
    return lib.gwlz_version_string().decode(), int(lib.gwlz_format_version())


def _check(code, what):
    if code:
        raise Error("gwlz: %s: %s" % (what, lib.gwlz_error_string(code).decode()), code)


def _base_names():
    names = []
    for k in range(64):
        name = lib.gwlz_base_name(k).decode()
        if name == "unknown":
            break
        names.append(name)
    return names


def _keyword(value, names, what):
    if value is None:
        return None
    if isinstance(value, str):
        low = [n.lower() for n in names]
        if value.lower() not in low:
            raise ValueError("gwlz: unknown %s %r (one of %s)" % (what, value, ", ".join(names)))
        return low.index(value.lower())
    k = int(value)
    if not 0 <= k < len(names):
        raise ValueError("gwlz: unknown %s %r" % (what, value))
    return k


def _bound_mode(abs, rel, psnr, mode):
    """gwlz_eb_mode from the keywords given."""
    if mode is not None:
        m = _keyword(mode, _MODES, "error-bound mode")
    elif psnr is not None:
        if abs is not None or rel is not None:
            raise ValueError("gwlz: psnr cannot be combined with abs or rel")
        m = 4
    elif abs is not None and rel is not None:
        m = 2
    elif abs is not None:
        m = 0
    elif rel is not None:
        m = 1
    else:
        raise ValueError("gwlz: give an error bound: abs=, rel= or psnr=")
    need_abs = m in (0, 2, 3)
    need_rel = m in (1, 2, 3)
    if need_abs and abs is None or need_rel and rel is None or m == 4 and psnr is None:
        raise ValueError("gwlz: mode %s needs %s" % (
            _MODES[m], {0: "abs", 1: "rel", 2: "abs and rel", 3: "abs and rel", 4: "psnr"}[m]))
    return m


def _as_array(array):
    """Native-order, C-contiguous float32/float64 array of 1-4 dimensions."""
    a = np.asarray(array)
    if a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):
        raise TypeError("gwlz: arrays of float32 or float64 only (got %s)" % a.dtype)
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim > 4:
        a = a.reshape([d for d in a.shape if d != 1] or [1])
        if a.ndim > 4:
            raise ValueError("gwlz: at most 4 dimensions larger than 1 (shape %s)"
                             % (array.shape,))
    if a.size == 0:
        raise ValueError("gwlz: empty array")
    return np.ascontiguousarray(a)


def compress(array, *, abs=None, rel=None, psnr=None, groups=None, enhancer=None, base=None,
             threads=None, fill=None, mode=None, bound_policy=None, speed=None):
    """Compresses a float32/float64 array (1-4 dims, any memory layout) into bytes.

    abs, rel, psnr: the error bound (see the module help); mode: "ABS_OR_REL" to
    let either of abs and rel hold. groups: enhancer groups (0 = base only);
    enhancer: "none", "linear", "cnn" or "auto"; base: "auto", "interp", ...;
    threads: 0 = all cores (the bytes do not depend on it); fill: a value kept
    exactly and left out of the range; bound_policy: "strict" or "relaxed";
    speed: "default" or "fast" (one pass, no searches; larger at equal quality).
    """
    a = _as_array(array)
    m = _bound_mode(abs, rel, psnr, mode)
    ctx = lib.gwlz_create()
    if not ctx:
        raise MemoryError("gwlz: cannot create a context")
    try:
        dims = (ctypes.c_size_t * a.ndim)(*a.shape)
        _check(lib.gwlz_set_type(ctx, _TYPES[a.dtype]), "type")
        _check(lib.gwlz_set_dims(ctx, a.ndim, dims), "dims %s" % (a.shape,))
        _check(lib.gwlz_set_error_bound(ctx, m, float(abs or 0), float(rel or 0),
                                        float(psnr or 0)), "error bound")
        if fill is not None:
            _check(lib.gwlz_set_fill_value(ctx, float(fill)), "fill value")
        if threads is not None:
            _check(lib.gwlz_set_threads(ctx, int(threads)), "threads")
        b = _keyword(base, _base_names(), "base")
        if b is not None:
            _check(lib.gwlz_set_base(ctx, b), "base %r" % (base,))
        if groups is not None:
            _check(lib.gwlz_set_groups(ctx, int(groups)), "groups")
        e = _keyword(enhancer, _ENHANCERS, "enhancer")
        if e is not None:
            _check(lib.gwlz_set_enhancer(ctx, e), "enhancer")
        p = _keyword(bound_policy, _POLICIES, "bound policy")
        if p is not None:
            _check(lib.gwlz_set_bound_policy(ctx, p), "bound policy")
        sp = _keyword(speed, _SPEEDS, "speed")
        if sp is not None:
            _check(lib.gwlz_set_speed(ctx, sp), "speed")
        cap = lib.gwlz_compress_bound(ctx)
        if cap == 0:
            raise Error("gwlz: array too large")
        out = np.empty(cap, dtype=np.uint8)  # not zero-filled; one copy into bytes below
        size = ctypes.c_size_t(0)
        _check(lib.gwlz_compress(ctx, a.ctypes.data, out.ctypes.data, cap, ctypes.byref(size)),
               "compress")
        return out[:size.value].tobytes()
    finally:
        lib.gwlz_free(ctx)


def _buffer(data):
    """(pointer, size, keep-alive) of a bytes-like object."""
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    return buf.ctypes.data, buf.size, buf


def _info_struct(data):
    ptr, size, keep = _buffer(data)
    st = _Info()
    _check(lib.gwlz_get_info(ptr, size, ctypes.byref(st)), "stream header")
    return st, ptr, size, keep


def info(data):
    """Header of a stream as a dict: dtype, shape, bound, enhancer, base, ..."""
    st, _, _, _ = _info_struct(data)
    names = _base_names()
    return {
        "format_version": st.format_version,
        "dtype": _DTYPES[st.type].name,
        "shape": tuple(int(st.dims[k]) for k in range(st.ndims)),
        "num_values": int(st.num_values),
        "nbytes": int(st.decompressed_bytes),
        "eb_mode": _MODES[st.eb_mode] if 0 <= st.eb_mode < len(_MODES) else st.eb_mode,
        "abs_bound": st.abs_bound,
        "fill_value": st.fill_value if st.has_fill else None,
        "enhancer": _ENHANCERS[st.enhancer] if 0 <= st.enhancer < 4 else st.enhancer,
        "groups": st.groups,
        "bound_policy": _POLICIES[st.bound_policy] if st.bound_policy in (0, 1)
        else st.bound_policy,
        "base": names[st.base] if 0 <= st.base < len(names) else st.base,
    }


def decompress(data, threads=None):
    """Decompresses one gwlz stream (bytes-like) into a new numpy array."""
    st, ptr, size, keep = _info_struct(data)
    if st.type not in _DTYPES or not 1 <= st.ndims <= 4:
        raise Error("gwlz: unsupported stream header")
    shape = tuple(int(st.dims[k]) for k in range(st.ndims))
    out = np.empty(shape, dtype=_DTYPES[st.type])
    if out.nbytes != st.decompressed_bytes:
        raise Error("gwlz: inconsistent stream header")
    ctx = lib.gwlz_create()
    if not ctx:
        raise MemoryError("gwlz: cannot create a context")
    try:
        if threads is not None:
            _check(lib.gwlz_set_threads(ctx, int(threads)), "threads")
        _check(lib.gwlz_decompress(ctx, ptr, size, out.ctypes.data, out.nbytes), "decompress")
    finally:
        lib.gwlz_free(ctx)
    del keep
    return out


def hdf5_plugin_dir():
    """Directory holding the HDF5 filter plugin libh5gwlz.so (None if unknown)."""
    import os
    env = os.environ.get("GWLZ_HDF5_PLUGIN_DIR")
    if env:
        return env
    try:
        from . import _paths
        return _paths.HDF5_PLUGIN_DIR
    except ImportError:
        return None


def register_hdf5_plugin():
    """Makes h5py's HDF5 find the gwlz filter plugin: its directory is put first
    in the plugin search path. Done by ``import gwlz`` when h5py is already
    imported, and by hdf5_filter(). Returns the directory (None if unknown)."""
    d = hdf5_plugin_dir()
    import h5py
    if d:
        present = []
        for k in range(h5py.h5pl.size()):
            p = h5py.h5pl.get(k)
            present.append(p.decode() if isinstance(p, bytes) else p)
        if d not in present:
            h5py.h5pl.prepend(d.encode())
    return d


def hdf5_filter(**settings):
    """Keyword arguments of h5py's create_dataset for the gwlz HDF5 filter.

        f.create_dataset("t", data=x, chunks=x.shape, **gwlz.hdf5_filter(abs=0.1))

    settings: abs, rel, psnr, mode, groups, enhancer, base, speed, threads (per chunk,
    default 1), fill, range (REL relative to this range instead of each chunk's),
    bound_policy, dataset_fill (False: ignore the dataset's fill value).
    Also calls register_hdf5_plugin(), so files written this way read back in
    this process; other programs need HDF5_PLUGIN_PATH=gwlz.hdf5_plugin_dir().
    """
    known = {"abs", "rel", "psnr", "mode", "groups", "enhancer", "base", "speed", "threads", "fill",
             "range", "bound_policy", "dataset_fill"}
    unknown = set(settings) - known
    if unknown:
        raise TypeError("gwlz.hdf5_filter: unknown settings %s" % ", ".join(sorted(unknown)))
    s = dict(settings)
    m = _bound_mode(s.get("abs"), s.get("rel"), s.get("psnr"), s.get("mode"))
    cd = _h5z.encode(
        mode=m, abs=float(s.get("abs") or 0), rel=float(s.get("rel") or 0),
        psnr=float(s.get("psnr") or 0),
        groups=-1 if s.get("groups") is None else int(s["groups"]),
        enhancer=_keyword(s.get("enhancer"), _ENHANCERS, "enhancer"),
        base=_keyword(s.get("base"), _base_names(), "base"),
        threads=1 if s.get("threads") is None else int(s["threads"]),
        fill=s.get("fill"), range=s.get("range"),
        relaxed=_keyword(s.get("bound_policy"), _POLICIES, "bound policy") == 1,
        no_dataset_fill=s.get("dataset_fill", True) is False,
        fast=_keyword(s.get("speed"), _SPEEDS, "speed") == 1)
    try:
        register_hdf5_plugin()
    except ImportError:
        pass
    return {"compression": HDF5_FILTER_ID, "compression_opts": tuple(cd)}


def _register_if_h5py_loaded():
    import sys
    if "h5py" in sys.modules:
        try:
            register_hdf5_plugin()
        except Exception:  # never let this break the import of gwlz
            pass


_register_if_h5py_loaded()


try:
    import numcodecs
    import numcodecs.abc
    import numcodecs.compat
except ImportError:  # numcodecs is optional
    numcodecs = None

_CODEC_KEYS = ("abs", "rel", "psnr", "mode", "groups", "enhancer", "base", "threads", "fill",
               "bound_policy", "speed")

if numcodecs is not None:
    class Codec(numcodecs.abc.Codec):
        """numcodecs codec: each chunk is one gwlz stream (dtype and shape inside).

            zarr.array(x, chunks=(32, 64, 64), compressor=gwlz.Codec(abs=1e-3))

        Takes the settings of gwlz.compress. Chunks of more than 4 dimensions
        must have at most 4 larger than 1.
        """

        codec_id = "gwlz"

        def __init__(self, abs=None, rel=None, psnr=None, mode=None, groups=None,
                     enhancer=None, base=None, threads=None, fill=None, bound_policy=None,
                     speed=None):
            self.abs, self.rel, self.psnr, self.mode = abs, rel, psnr, mode
            self.groups, self.enhancer, self.base = groups, enhancer, base
            self.threads, self.fill, self.bound_policy = threads, fill, bound_policy
            self.speed = speed
            _keyword(speed, _SPEEDS, "speed")
            _bound_mode(abs, rel, psnr, mode)

        def get_config(self):
            config = {"id": self.codec_id}
            for k in _CODEC_KEYS:
                v = getattr(self, k)
                if v is not None:
                    config[k] = v
            return config

        def encode(self, buf):
            a = numcodecs.compat.ensure_ndarray(buf)
            # A chunk is compressed in its memory order, as numcodecs codecs
            # see buffers: a Fortran-ordered chunk (zarr order="F") as its
            # transpose, so that decode() gives back the same memory.
            if a.flags.f_contiguous and not a.flags.c_contiguous:
                a = a.T
            kw = {k: getattr(self, k) for k in _CODEC_KEYS}
            return compress(a, **kw)

        def decode(self, buf, out=None):
            data = numcodecs.compat.ensure_contiguous_ndarray(buf)
            arr = decompress(data, threads=self.threads)
            if out is None:
                return arr
            # Copied by memory order into out (reshaped in out's own order).
            return numcodecs.compat.ndarray_copy(arr, out)

        def __repr__(self):
            args = ", ".join("%s=%r" % (k, getattr(self, k)) for k in _CODEC_KEYS
                             if getattr(self, k) is not None)
            return "gwlz.Codec(%s)" % args

    numcodecs.register_codec(Codec)
else:
    class Codec:  # noqa: D401 - placeholder when numcodecs is missing
        """Needs numcodecs (Debian: python3-numcodecs)."""

        codec_id = "gwlz"

        def __init__(self, *args, **kwargs):
            raise ImportError("gwlz.Codec needs numcodecs (python3-numcodecs)")
