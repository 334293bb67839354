#!/usr/bin/env python3
"""How much of the base residual could a group-wise linear enhancer learn?

For every field of a manifest and each relative bound, fits least-squares
models of the residual X - X' of the base and reports the PSNR gain they
would give, next to what gwlz's enhancer gives (default against -G 0, same
build, at equal bound). The in-sample fits are *oracles*: fitted and scored
on the same values, with no parameter bytes and no exceptions, so they
overstate what a real enhancer can keep (its parameters cost bytes, and it is
judged at equal bits per value); the held-out columns show what generalises
to values the fit did not see. A field where even the in-sample oracle gains
little has no group-wise linear enhancement of that reach left to find.

Oracles (features: the differences X'[neighbour] - X'[centre] over the 3^d or
5^d neighbourhood, plus a constant; one model per group; predictions clamped
to the bound, where the residual lies):
  global_3      one model for the whole field, 3^d
  value20_3/5   20 groups by quantiles of X'
  aux8_3/5      groups by the base's side information aux (docs/format.md
                §10.1) x 8 value bins, as the version 2 enhancer groups
  aux32_5r3     aux x 32 value bins, the 5^d cube plus the cells 3 away
                along each axis (the version 2 enhancer's reach and finest
                bins); 3-D and less
  aux32_clamped the features of aux32_5r3 as the version 2 enhancer forms
                them (in units of the bound, clamped at 2 or 16, whichever
                gains more), plus per axis the centre minus the cubic
                interpolation from the taps at -3, -1, +1, +3, plus X'
                itself; 3-D and less
  *_heldout     the same model fitted (least squares with a small ridge on
                standardised features) on half of the sampled values and
                scored on the other half: what generalises (no bytes either)

X' and aux come from build/enh_headroom (the base on the whole array, as the
CLI does for arrays of one chunk; a larger array is one piece here and
chunked in the CLI, so its X' differs slightly at chunk borders). At most
2^20 sampled values per field.

  python3 bench/enh_headroom.py --gwlz build/gwlz --headroom build/enh_headroom \\
      MANIFEST DATA_DIR [--rels 1e-2,1e-3,1e-4] [--exclude F1,F2] > headroom.tsv

Needs numpy (Debian: python3-numpy).
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np

NP_TYPE = {"f32": np.float32, "f64": np.float64}


def load(path, dims, dt):
    return np.fromfile(path, dtype=NP_TYPE[dt]).reshape(dims)


def psnr(x, y, rng):
    return 20 * np.log10(rng) - 10 * np.log10(max(np.mean((x - y) ** 2), 1e-300))


def axial(nd, a, d):
    """The offset d along axis a of an nd-dimensional array."""
    return tuple(d if b == a else 0 for b in range(nd))


class Taps:
    """X' at offsets from the sampled cells (edge-clamped), up to 3 cells."""

    REACH = 3

    def __init__(self, xr, idx):
        self.nd, self.idx = xr.ndim, idx
        self.pad = np.pad(xr, self.REACH, mode="edge")
        self.v = xr[idx]

    def __call__(self, off):
        return self.pad[tuple(i + self.REACH + o for i, o in zip(self.idx, off))]

    def offsets(self, radius, reach):
        """The (2 radius + 1)^d cube without its centre, then the cells
        radius+1 .. reach away along each axis."""
        offs = [o for o in itertools.product(range(-radius, radius + 1), repeat=self.nd) if any(o)]
        for a in range(self.nd):
            offs += [axial(self.nd, a, s * d) for d in range(radius + 1, reach + 1) for s in (-1, 1)]
        return offs


def features(t, radius, reach=0):
    """(m, f): the differences to the centre over t.offsets(radius, reach)
    and a constant."""
    cols = [t(o) - t.v for o in t.offsets(radius, reach)]
    return np.stack(cols + [np.ones(len(t.v))], 1)


def features_clamped(t, eb, cl):
    """The version 2 enhancer's kind of features, widened: the differences
    to the centre over the 5^d cube and at 3 cells along each axis, in units
    of the bound and clamped to [-cl, cl]; per axis the centre minus the
    cubic interpolation from the taps at -3, -1, +1, +3 (clamped the same
    way); the centre value X' itself; a constant (3-D and less)."""
    cols = [np.clip((t(o) - t.v) / eb, -cl, cl) for o in t.offsets(2, 3)]
    for a in range(t.nd):
        q = [t(axial(t.nd, a, d)) for d in (-3, -1, 1, 3)]
        cub = (-q[0] + 9 * q[1] + 9 * q[2] - q[3]) / 16
        cols.append(np.clip((t.v - cub) / eb, -cl, cl))
    return np.stack(cols + [t.v, np.ones(len(t.v))], 1)


def lstsq(a, r):
    w, *_ = np.linalg.lstsq(a, r, rcond=None)
    return w


def ridge(a, r):
    """Least squares with a small ridge on standardised features (the
    neighbour differences of a smooth field are nearly collinear: without it
    a fit can be exact on its values and explode on others)."""
    sd = a.std(0)
    sd[sd == 0] = 1.0
    z = a / sd
    g = z.T @ z + 1e-3 * len(r) * np.eye(len(sd))
    return lstsq(g, z.T @ r) / sd


def gain(a, r, groups, eb, heldout=False):
    """dB removed by one model per group, predictions clamped to [-eb, eb]
    (where the residual lies). In sample: least squares fitted and scored on
    all values. Held out: ridge fitted on the even-numbered values, scored
    on the odd-numbered ones. No correction where a group has too few values
    to fit."""
    fit = np.arange(len(r)) % 2 == 0 if heldout else np.ones(len(r), bool)
    score = ~fit if heldout else fit
    solve = ridge if heldout else lstsq
    left = r.copy()
    for g in np.unique(groups):
        m = groups == g
        mf, ms = m & fit, m & score
        if mf.sum() < 2 * a.shape[1]:
            continue
        left[ms] = r[ms] - np.clip(a[ms] @ solve(a[mf], r[mf]), -eb, eb)
    rs, ls = r[score], left[score]
    return 10 * np.log10(np.mean(rs**2) / max(np.mean(ls**2), 1e-300))


def value_bins(v, nbins):
    q = np.quantile(v, np.linspace(0, 1, nbins + 1))
    return np.clip(np.searchsorted(q, v) - 1, 0, nbins - 1)


def gwlz_run(gwlz, path, dims, dt, eb, groups, tmp, x, rng):
    """PSNR and stream size of the CLI at -M ABS eb -G groups."""
    z, o = os.path.join(tmp, "s.gwlz"), os.path.join(tmp, "o.raw")
    flag = "-f" if dt == "f32" else "-d"
    subprocess.run([gwlz, flag, "-i", path, "-z", z, "-o", o, "-%d" % len(dims),
                    *[str(d) for d in dims[::-1]], "-M", "ABS", repr(eb), "-G", str(groups),
                    "-q"], check=True)
    return psnr(x, load(o, dims, dt).astype(np.float64), rng), os.path.getsize(z)


COLS = ["global_3", "value20_3", "value20_5", "aux8_3", "aux8_5", "aux32_5r3",
        "aux32_5r3_heldout", "aux8_5_heldout", "aux8_3_heldout", "aux32_clamped",
        "aux32_clamped_heldout", "aux8_clamped_heldout"]


def oracles(xr, aux, idx, r, eb):
    """The oracle columns of one field and bound (NaN where not computed:
    the 5^d families above 3-D)."""
    t = Taps(xr, idx)
    vb = value_bins(t.v, 20)
    ag = aux[idx].astype(np.int64) * 8 + value_bins(t.v, 8)
    a3 = features(t, 1)
    out = {"global_3": gain(a3, r, np.zeros(len(r), np.int64), eb),
           "value20_3": gain(a3, r, vb, eb),
           "aux8_3": gain(a3, r, ag, eb),
           "aux8_3_heldout": gain(a3, r, ag, eb, heldout=True)}
    if xr.ndim <= 3:
        a5 = features(t, 2)
        out.update(value20_5=gain(a5, r, vb, eb), aux8_5=gain(a5, r, ag, eb),
                   aux8_5_heldout=gain(a5, r, ag, eb, heldout=True))
        del a5
        # the reach of the version 2 enhancer (3 cells along each axis), finer bins
        ag32 = aux[idx].astype(np.int64) * 32 + value_bins(t.v, 32)
        a7 = features(t, 2, 3)
        out.update(aux32_5r3=gain(a7, r, ag32, eb),
                   aux32_5r3_heldout=gain(a7, r, ag32, eb, heldout=True))
        del a7
        # clamped features: the clamp level that gains most in sample, then
        # the same level held out
        best = None
        for cl in (2.0, 16.0):
            ac = features_clamped(t, eb, cl)
            gin = gain(ac, r, ag32, eb)
            if best is None or gin > best[0]:
                best = (gin, gain(ac, r, ag32, eb, heldout=True), gain(ac, r, ag, eb, heldout=True))
            del ac
        out.update(aux32_clamped=best[0], aux32_clamped_heldout=best[1],
                   aux8_clamped_heldout=best[2])
    return [out.get(c, float("nan")) for c in COLS]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manifest")
    ap.add_argument("data_dir")
    ap.add_argument("--gwlz", default="build/gwlz")
    ap.add_argument("--headroom", default="build/enh_headroom")
    ap.add_argument("--rels", default="1e-2,1e-3,1e-4")
    ap.add_argument("--exclude", default="")
    ap.add_argument("--sample", type=int, default=1 << 20)
    args = ap.parse_args()
    rels = [float(v) for v in args.rels.split(",")]
    exclude = set(filter(None, args.exclude.split(",")))
    rows = [l.rstrip("\n").split("\t") for l in open(args.manifest)][1:]
    rand = np.random.default_rng(1)
    print("\t".join(["file", "rel", "psnr_base", "gwlz_gain", "gwlz_bytes_ratio"] + COLS))
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            name, dims, dt = row[0], tuple(int(v) for v in row[1].split("x")), row[2]
            if name in exclude or dt not in NP_TYPE:
                continue
            path = os.path.join(args.data_dir, name)
            x = load(path, dims, dt).astype(np.float64)
            if not np.all(np.isfinite(x)):
                continue
            rng = float(x.max() - x.min())
            if rng <= 0:
                continue
            n = x.size
            m = min(n, args.sample)
            flat = rand.choice(n, m, replace=False) if m < n else np.arange(n)
            idx = np.unravel_index(flat, dims)
            for rel in rels:
                eb = rel * rng
                rp, auxp = os.path.join(tmp, "recon"), os.path.join(tmp, "aux")
                subprocess.run([args.headroom, path, dt, repr(eb), rp, auxp,
                                *[str(d) for d in dims]], check=True, stdout=subprocess.DEVNULL)
                xr = load(rp, dims, dt).astype(np.float64)
                aux = np.fromfile(auxp, dtype=np.uint8).reshape(dims)
                p0, s0 = gwlz_run(args.gwlz, path, dims, dt, eb, 0, tmp, x, rng)
                p1, s1 = gwlz_run(args.gwlz, path, dims, dt, eb, 20, tmp, x, rng)
                out = oracles(xr, aux, idx, (x - xr)[idx], eb)
                print("%s\t%g\t%.2f\t%+.2f\t%.4f\t%s" % (
                    name, rel, psnr(x, xr, rng), p1 - p0, s1 / s0,
                    "\t".join("%+.2f" % v for v in out)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
