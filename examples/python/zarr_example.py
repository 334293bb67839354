"""A zarr array whose chunks are compressed by gwlz (a numcodecs codec).

    python3 examples/python/zarr_example.py ../shared/data/ncl_rect3d_t_17x96x192.f32 /tmp/t.zarr
"""
import sys

import numpy as np
import zarr

import gwlz  # registers the codec "gwlz" with numcodecs

x = np.fromfile(sys.argv[1], dtype="<f4").reshape(17, 96, 192)
z = zarr.open(sys.argv[2], mode="w", shape=x.shape, chunks=(17, 48, 96), dtype="f4",
              compressor=gwlz.Codec(abs=0.02))
z[...] = x

z = zarr.open(sys.argv[2], mode="r")           # the codec is found from .zarray
y = z[...]
print("zarr: %s, %d -> %d bytes, max error %.4g <= 0.02"
      % (z.compressor, x.nbytes, z.nbytes_stored, np.abs(y - x).max()))
assert np.abs(y - x).max() <= 0.02
