"""Parameters (cd_values) of the gwlz HDF5 filter, version 1.

The layout is defined in include/gwlz_h5z.h; this module writes the same words
(the tests compare it with the output of gwlz --h5repack-arg).
"""

import struct

FILTER_ID = 48031
CD_VERSION = 1
CD_USER = 15
DEFAULT = 0xFFFFFFFF
FLAG_FILL, FLAG_RANGE, FLAG_RELAXED, FLAG_NO_DATASET_FILL, FLAG_FAST = 0x1, 0x2, 0x4, 0x8, 0x10


def _double(v):
    lo, hi = struct.unpack("<II", struct.pack("<d", float(v)))
    return [lo, hi]


def _opt(v):
    return DEFAULT if v is None or v < 0 else int(v)


def encode(mode, abs=0.0, rel=0.0, psnr=0.0, groups=-1, enhancer=None, base=None, threads=1,
           fill=None, range=None, relaxed=False, no_dataset_fill=False, fast=False):
    """The user words 0-14 of the layout, as a list of ints."""
    flags = 0
    cd = [CD_VERSION, int(mode)] + _double(psnr if int(mode) == 4 else abs) + _double(rel)
    cd += [_opt(groups), _opt(enhancer), _opt(base), 1 if threads is None else int(threads)]
    fill_words = [0, 0]
    range_words = [0, 0]
    if fill is not None:
        flags |= FLAG_FILL
        fill_words = _double(fill)
    if range is not None:
        if not range > 0:
            raise ValueError("gwlz: range must be > 0")
        flags |= FLAG_RANGE
        range_words = _double(range)
    if relaxed:
        flags |= FLAG_RELAXED
    if no_dataset_fill:
        flags |= FLAG_NO_DATASET_FILL
    if fast:
        flags |= FLAG_FAST
    cd += [flags] + fill_words + range_words
    assert len(cd) == CD_USER
    return cd
