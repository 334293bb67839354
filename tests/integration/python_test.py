"""Tests of the Python package gwlz (numpy arrays, errors, numcodecs/zarr, h5py).

Run with the build tree's package on PYTHONPATH (ctest does), or an installed one.
Environment: GWLZ_FIELD (the shared float32 field 17x96x192), GWLZ_WORK (scratch).
"""

import os
import sys
import unittest

import numpy as np

import gwlz

FIELD = os.environ.get("GWLZ_FIELD")
WORK = os.environ.get("GWLZ_WORK") or os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                   "gwlz_python_test")
os.makedirs(WORK, exist_ok=True)


def field():
    return np.fromfile(FIELD, dtype="<f4").reshape(17, 96, 192)


def smooth(shape, dtype, seed=0):
    """A smooth random field of the given shape."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(0, 3, n) for n in shape], indexing="ij")
    x = sum(np.sin((k + 1.3) * g) for k, g in enumerate(grids))
    return (x + 0.01 * rng.standard_normal(shape)).astype(dtype)


def rel_bound(x, rel):
    return rel * (float(x.max()) - float(x.min()))


class RoundTrip(unittest.TestCase):
    SHAPES = [(3000,), (60, 70), (20, 30, 40), (6, 10, 20, 30)]

    def test_rel_bound_f32_f64_1_to_4_dims(self):
        for dtype in (np.float32, np.float64):
            for shape in self.SHAPES:
                with self.subTest(dtype=dtype, shape=shape):
                    x = smooth(shape, dtype)
                    s = gwlz.compress(x, rel=1e-3)
                    self.assertIsInstance(s, bytes)
                    y = gwlz.decompress(s)
                    self.assertEqual(y.dtype, np.dtype(dtype))
                    self.assertEqual(y.shape, shape)
                    err = np.abs(y.astype(np.float64) - x.astype(np.float64)).max()
                    self.assertLessEqual(err, rel_bound(x, 1e-3))
                    self.assertLess(len(s), x.nbytes)

    def test_abs_psnr_and_settings(self):
        x = smooth((40, 50, 60), np.float32, seed=1)
        for kw in [dict(abs=1e-3), dict(abs=1e-3, rel=1e-4), dict(abs=1e-2, rel=1e-4,
                                                                mode="abs_or_rel"),
                   dict(abs=1e-3, groups=0), dict(abs=1e-3, enhancer="linear", threads=2),
                   dict(abs=1e-3, base="interp"), dict(abs=1e-3, bound_policy="relaxed"),
                   dict(abs=1e-3, speed="fast"), dict(abs=1e-3, groups=0, speed="fast")]:
            with self.subTest(**kw):
                s = gwlz.compress(x, **kw)
                i = gwlz.info(s)
                y = gwlz.decompress(s)
                allowed = i["abs_bound"] * (2 if kw.get("bound_policy") == "relaxed" else 1)
                self.assertLessEqual(np.abs(y - x).max(), allowed)
        s = gwlz.compress(x, psnr=70)
        y = gwlz.decompress(s)
        mse = np.mean((y.astype(np.float64) - x) ** 2)
        rng = float(x.max() - x.min())
        self.assertGreaterEqual(20 * np.log10(rng) - 10 * np.log10(mse), 69.5)

    def test_same_bytes_as_the_cli(self):
        cli = os.environ.get("GWLZ_CLI")
        if not cli or not FIELD:
            self.skipTest("no CLI")
        import subprocess
        out = os.path.join(WORK, "py_cli.gwlz")
        subprocess.run([cli, "-f", "-i", FIELD, "-z", out, "-3", "192", "96", "17", "-M", "ABS",
                        "0.02", "-q"], check=True)
        with open(out, "rb") as f:
            self.assertEqual(gwlz.compress(field(), abs=0.02), f.read())

    def test_layouts_and_byte_orders(self):
        base = smooth((30, 40, 50), np.float64, seed=2)
        ref = gwlz.compress(base, abs=1e-3)
        f_order = np.asfortranarray(base)
        self.assertEqual(gwlz.compress(f_order, abs=1e-3), ref)
        big = base.astype(">f8")
        self.assertEqual(gwlz.compress(big, abs=1e-3), ref)
        # Non-contiguous views: compressed as the logical array they show.
        view = smooth((60, 80, 50), np.float64, seed=3)[::2, ::2, :]
        self.assertFalse(view.flags.c_contiguous)
        y = gwlz.decompress(gwlz.compress(view, abs=1e-3))
        self.assertEqual(y.shape, view.shape)
        self.assertLessEqual(np.abs(y - view).max(), 1e-3)
        t = base.T  # a transposed (Fortran-ordered) view
        y = gwlz.decompress(gwlz.compress(t, abs=1e-3))
        self.assertEqual(y.shape, t.shape)
        self.assertLessEqual(np.abs(y - t).max(), 1e-3)
        # 5 dims with one of size 1 are squeezed to 4.
        x5 = smooth((4, 1, 5, 6, 7), np.float32)
        y = gwlz.decompress(gwlz.compress(x5, abs=1e-3))
        self.assertEqual(y.shape, (4, 5, 6, 7))

    def test_decompress_accepts_bytes_like(self):
        x = smooth((50, 60), np.float32)
        s = gwlz.compress(x, abs=1e-3)
        for data in (s, bytearray(s), memoryview(s), np.frombuffer(s, dtype=np.uint8)):
            np.testing.assert_array_equal(gwlz.decompress(data), gwlz.decompress(s))

    def test_info(self):
        x = smooth((20, 30, 40), np.float64)
        x[0, 0, :5] = -999.0
        s = gwlz.compress(x, rel=1e-3, fill=-999.0, groups=0)
        i = gwlz.info(s)
        self.assertEqual(i["dtype"], "float64")
        self.assertEqual(i["shape"], (20, 30, 40))
        self.assertEqual(i["num_values"], 24000)
        self.assertEqual(i["nbytes"], x.nbytes)
        self.assertEqual(i["eb_mode"], "REL")
        self.assertEqual(i["fill_value"], -999.0)
        self.assertEqual(i["enhancer"], "none")
        self.assertEqual(i["bound_policy"], "strict")
        self.assertIn(i["base"], ("auto", "interp", "wavelet", "zfp"))
        self.assertEqual(i["format_version"], gwlz.version()[1])
        y = gwlz.decompress(s)
        self.assertTrue(np.all(y[0, 0, :5] == -999.0))


class Errors(unittest.TestCase):
    def test_library_errors_are_gwlz_error(self):
        x = smooth((20, 20), np.float32)
        s = gwlz.compress(x, abs=1e-3)
        with self.assertRaises(gwlz.Error) as cm:
            gwlz.decompress(b"not a gwlz stream at all")
        self.assertIn("gwlz", str(cm.exception))
        self.assertIsNotNone(cm.exception.code)
        with self.assertRaises(gwlz.Error):
            gwlz.decompress(s[: len(s) // 2])
        damaged = bytearray(s)
        damaged[len(s) // 2] ^= 0x55
        with self.assertRaises(gwlz.Error):
            gwlz.decompress(bytes(damaged))
        with self.assertRaises(gwlz.Error) as cm:
            gwlz.compress(x, abs=-1.0)
        self.assertIn("error bound", str(cm.exception))
        with self.assertRaises(gwlz.Error):
            gwlz.compress(x, abs=1e-3, groups=100000)

    def test_argument_errors(self):
        x = smooth((20, 20), np.float32)
        with self.assertRaises(TypeError):
            gwlz.compress(np.arange(10), abs=1)
        with self.assertRaises(TypeError):
            gwlz.compress(x.astype(np.float16), abs=1)
        with self.assertRaises(ValueError):
            gwlz.compress(x)  # no bound
        with self.assertRaises(ValueError):
            gwlz.compress(x, psnr=60, abs=1)
        with self.assertRaises(ValueError):
            gwlz.compress(np.zeros((2, 3, 4, 5, 6), np.float32), abs=1)
        with self.assertRaises(ValueError):
            gwlz.compress(x, abs=1, enhancer="deep")


class Zarr(unittest.TestCase):
    def setUp(self):
        try:
            import numcodecs  # noqa: F401
            import zarr  # noqa: F401
        except ImportError:
            self.skipTest("zarr/numcodecs not installed")

    def test_codec_registered_and_config(self):
        import numcodecs
        c = gwlz.Codec(abs=1e-3, groups=4, enhancer="linear")
        self.assertEqual(gwlz.Codec.codec_id, "gwlz")
        cfg = c.get_config()
        self.assertEqual(cfg, {"id": "gwlz", "abs": 1e-3, "groups": 4, "enhancer": "linear"})
        c2 = numcodecs.get_codec(cfg)
        self.assertIsInstance(c2, gwlz.Codec)
        self.assertEqual(c2, c)

    def test_zarr_roundtrip(self):
        import zarr
        x = field()
        e = 0.02
        for order in ("C", "F"):
            with self.subTest(order=order):
                store = os.path.join(WORK, "field_%s.zarr" % order)
                z = zarr.open(store, mode="w", shape=x.shape, chunks=(17, 48, 96),
                              dtype=x.dtype, compressor=gwlz.Codec(abs=e), order=order)
                z[...] = x
                z2 = zarr.open(store, mode="r")
                self.assertEqual(z2.compressor.codec_id, "gwlz")
                y = z2[...]
                self.assertLessEqual(np.abs(y - x).max(), e)
                part = z2[3:9, 10:70, 50:150]
                self.assertLessEqual(np.abs(part - x[3:9, 10:70, 50:150]).max(), e)
                self.assertLess(z2.nbytes_stored, x.nbytes / 4)

    def test_zarr_partial_edge_chunks_f64(self):
        import zarr
        x = smooth((50, 70), np.float64)
        z = zarr.array(x, chunks=(16, 32), compressor=gwlz.Codec(rel=1e-3))
        y = z[...]
        self.assertLessEqual(np.abs(y - x).max(), rel_bound(x, 1e-3))


class H5py(unittest.TestCase):
    def setUp(self):
        try:
            import h5py  # noqa: F401
        except ImportError:
            self.skipTest("h5py not installed")
        if not gwlz.hdf5_plugin_dir():
            self.skipTest("no HDF5 plugin directory known")

    def test_hdf5_filter_roundtrip(self):
        import h5py
        x = field()
        path = os.path.join(WORK, "py_filter.h5")
        kw = gwlz.hdf5_filter(abs=0.02)
        self.assertEqual(kw["compression"], gwlz.HDF5_FILTER_ID)
        with h5py.File(path, "w") as f:
            f.create_dataset("t", data=x, chunks=(17, 48, 96), **kw)
            f.create_dataset("t64", data=x.astype(np.float64), chunks=(17, 96, 192),
                             **gwlz.hdf5_filter(rel=1e-4, range=float(x.max() - x.min())))
        with h5py.File(path, "r") as f:
            self.assertLessEqual(np.abs(f["t"][...] - x).max(), 0.02)
            y = f["t64"][...]
            self.assertEqual(y.dtype, np.float64)
            self.assertLessEqual(np.abs(y - x).max(), 1e-4 * float(x.max() - x.min()))

    def test_refused_dataset_raises(self):
        import h5py
        path = os.path.join(WORK, "py_refused.h5")
        with h5py.File(path, "w") as f:
            with self.assertRaises(Exception):
                f.create_dataset("i", data=np.arange(100, dtype=np.int32), chunks=(100,),
                                 **gwlz.hdf5_filter(abs=1))

    def test_settings_errors(self):
        with self.assertRaises(TypeError):
            gwlz.hdf5_filter(abs=1, level=3)
        with self.assertRaises(ValueError):
            gwlz.hdf5_filter()


if __name__ == "__main__":
    unittest.main(verbosity=2)
