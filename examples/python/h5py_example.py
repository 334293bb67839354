"""Write an HDF5 dataset through the gwlz filter with h5py, read it back.

    python3 examples/python/h5py_example.py ../shared/data/ncl_rect3d_t_17x96x192.f32 /tmp/t.h5
    HDF5_PLUGIN_PATH=$(python3 -c 'import gwlz; print(gwlz.hdf5_plugin_dir())') h5dump -H /tmp/t.h5
"""
import sys

import h5py
import numpy as np

import gwlz

x = np.fromfile(sys.argv[1], dtype="<f4").reshape(17, 96, 192)
with h5py.File(sys.argv[2], "w") as f:
    f.create_dataset("t", data=x, chunks=x.shape, **gwlz.hdf5_filter(abs=0.02))

with h5py.File(sys.argv[2], "r") as f:        # gwlz put its plugin on h5py's search path
    d = f["t"]
    y = d[...]
    print("h5py: dataset %s %s, %d -> %d bytes, max error %.4g <= 0.02"
          % (d.shape, d.dtype, x.nbytes, d.id.get_storage_size(), np.abs(y - x).max()))
assert np.abs(y - x).max() <= 0.02
