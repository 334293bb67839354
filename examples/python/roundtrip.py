"""Compress a numpy array with gwlz, decompress it, check the bound.

    python3 examples/python/roundtrip.py ../shared/data/ncl_rect3d_t_17x96x192.f32
"""
import sys

import numpy as np

import gwlz

x = np.fromfile(sys.argv[1], dtype="<f4").reshape(17, 96, 192)
stream = gwlz.compress(x, rel=1e-3)           # bytes: one complete gwlz stream
y = gwlz.decompress(stream)                    # float32, shape (17, 96, 192)
meta = gwlz.info(stream)                       # dtype, shape, abs_bound, enhancer, ...
err = np.abs(y - x).max()
print("gwlz %s: %d -> %d bytes (ratio %.1f), max error %.4g <= bound %.4g"
      % (gwlz.version()[0], x.nbytes, len(stream), x.nbytes / len(stream), err,
         meta["abs_bound"]))
assert y.shape == x.shape and y.dtype == x.dtype and err <= meta["abs_bound"]
