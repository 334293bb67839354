#!/usr/bin/env python3
"""How much could a decoder still learn in the wavelet base's own domain?

The spatial oracles of bench/enh_headroom.py see X' and the side information
aux. This one sees what the wavelet decoder knows before its synthesis: every
coefficient's quantization integer k, its subband, its neighbours in the
subband, its parent (one level coarser) and its sibling (same level). It
replaces the base's dequantization (bin centre minus one fitted offset per
level for |k| = 1 and one for |k| >= 2; docs/format.md §9.9.6) by
predictions of the true coefficient from those contexts, synthesizes, and
reports the PSNR gain in the spatial domain (before the base's point-wise
corrections, which both sides would need about equally).

Columns (gains in dB over the base's dequantization, "base"):
  centroid      per detail subband, the mean of the coefficient (k = 0) or
                of |c| / q - |k| (k != 0) over each context class: for
                k != 0, |k| (1, 2, 3, >= 4) x non-zero face neighbours (0,
                1-2, 3-4, >= 5) x parent non-zero; for k = 0, the sign of the
                sum of the neighbours' and parent's k x the same neighbour
                count. In sample (no bytes).
  linear        per detail subband and per k = 0 / k != 0, least squares of
                the coefficient's error over: the dequantized value, its face
                neighbours, parent and sibling, sign(k) times the magnitude
                of those contexts, and a constant; predictions kept in the
                quantization cell. In sample (no bytes).
  linear_cv     the same, 2-fold cross-fitted: each coefficient predicted by
                the model fitted on the other half. What generalises.
  params        parameters of the linear model (all subbands); at 2 bytes
                each, the bytes it would cost.

  python3 bench/wv_headroom.py --tool build/wv_headroom MANIFEST DATA_DIR \\
      [--rels 1e-2,1e-3,1e-4] [--only F1,F2] [--exclude F1,F2] > wv.tsv

MANIFEST: the shared manifest (file, dims slowest first as d0xd1x..., dtype
f32/f64). Needs numpy (Debian: python3-numpy).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

NP_TYPE = {"f32": np.float32, "f64": np.float64}


def read_manifest(path):
    rows = []
    with open(path) as f:
        head = None
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if head is None:
                head = cols
                continue
            rows.append(dict(zip(head, cols)))
    return rows


class Bands:
    """The subbands of the dump (bands file): 4-D regions, dims right-aligned."""

    def __init__(self, path):
        self.b = []
        with open(path) as f:
            for line in f:
                v = [int(t) for t in line.split()]
                self.b.append(dict(level=v[0], orient=v[1], off=v[2:6], ext=v[6:10],
                                   parent=v[10], sibling=v[11], pshift=v[12:16]))

    @staticmethod
    def view(a, bd):
        return a[tuple(slice(o, o + e) for o, e in zip(bd["off"], bd["ext"]))]

    def _related(self, a, i, key, coord):
        """Band i's relative (key: parent or sibling) at every cell of band i:
        coord(extent, axis) gives the relative's coordinates along an axis,
        clamped to its extent (None: no such band)."""
        bd = self.b[i]
        if bd[key] < 0:
            return None
        rb = self.b[bd[key]]
        idx = [np.minimum(coord(e, ax), re - 1)
               for ax, (e, re) in enumerate(zip(bd["ext"], rb["ext"]))]
        return self.view(a, rb)[np.ix_(*idx)]

    def parent_of(self, a, i):
        """The parent band (one level coarser) at every cell of band i."""
        sh = self.b[i]["pshift"]
        return self._related(a, i, "parent", lambda e, ax: np.arange(e) >> sh[ax])

    def sibling_of(self, a, i):
        """The sibling band (same level) at every cell of band i."""
        return self._related(a, i, "sibling", lambda e, ax: np.arange(e))


def neighbours(v):
    """Face neighbours of every cell of v (edge-replicated), axes of length > 1."""
    out = []
    for ax in range(v.ndim):
        if v.shape[ax] < 2:
            continue
        p = np.pad(v, [(1, 1) if a == ax else (0, 0) for a in range(v.ndim)], mode="edge")
        for d in (0, 2):
            out.append(p[tuple(slice(d, d + v.shape[a]) if a == ax else slice(None)
                               for a in range(v.ndim))])
    return out


def base_dequant(k, bands, q, off):
    """The base's dequantization (docs/format.md §9.9.6): the bin centre,
    less the level's offset (off: 1/256 units, |k| = 1 then |k| >= 2 per
    detail level, as the compressor fitted them)."""
    a = np.abs(k).astype(np.float64)
    r = a * q
    for bd in bands.b:
        if not bd["orient"]:
            continue
        d1, d2 = off[2 * bd["level"]] / 256, off[2 * bd["level"] + 1] / 256
        av = Bands.view(a, bd)
        Bands.view(r, bd)[...] = np.where(av == 1, (1 - d1) * q, (av - d2) * q) * (av > 0)
    return np.where(k < 0, -r, r)


def band_features(A, K, bands, i, q):
    """Per-cell features of band i (flattened) and the cells' k."""
    bd = bands.b[i]
    a, kk = Bands.view(A, bd) / q, Bands.view(K, bd)
    nb = neighbours(a)
    kn = neighbours(kk)
    par = bands.parent_of(A, i)
    sib = bands.sibling_of(A, i)
    ctx = [x for x in (par, sib) if x is not None]
    ctx = [x / q for x in ctx]
    s = np.sign(kk).astype(np.float64)
    mag = sum(np.abs(x) for x in nb) / max(len(nb), 1)
    cols = [np.ones_like(a), a] + nb + ctx + [s, s * (np.abs(kk) == 1), s * mag]
    cols += [s * np.abs(x) for x in ctx]
    nnz = sum((x != 0).astype(np.int64) for x in kn)
    pk = bands.parent_of(K, i)
    ksum = sum(kn) + (pk if pk is not None else 0)
    return (np.stack([x.ravel() for x in cols], 1), kk.ravel(), nnz.ravel(),
            (pk.ravel() != 0) if pk is not None else np.zeros(kk.size, bool),
            np.sign(ksum).ravel())


def lstsq(X, y):
    if len(y) < 2 * X.shape[1]:
        return np.zeros(X.shape[1])
    return np.linalg.lstsq(X, y, rcond=None)[0]


def oracles(c, k, bands, q, off):
    A = base_dequant(k, bands, q, off)
    out = {"centroid": A.copy(), "linear": A.copy(), "linear_cv": A.copy()}
    params = 0
    for i, bd in enumerate(bands.b):
        if not bd["orient"]:
            continue
        X, kk, nnz, pnz, ssum = band_features(A, k, bands, i, q)
        cb = Bands.view(c, bd).ravel() / q
        ab = Bands.view(A, bd).ravel() / q
        lo = np.where(kk == 0, -0.5, np.abs(kk) - 0.5)
        hi = np.where(kk == 0, 0.5, np.abs(kk) + 0.5)
        sg = np.where(kk < 0, -1.0, 1.0)
        clo, chi = np.where(sg > 0, lo, -hi), np.where(sg > 0, hi, -lo)
        # centroid classes
        nb_b = np.digitize(nnz, [1, 3, 5])
        cls = np.where(kk != 0,
                       (np.minimum(np.abs(kk), 4) * 4 + nb_b) * 2 + pnz,
                       1000 + (ssum + 1) * 4 + nb_b)
        u, inv = np.unique(cls, return_inverse=True)
        tgt = np.where(kk != 0, np.abs(cb) - np.abs(kk), cb)
        means = np.bincount(inv, tgt) / np.maximum(np.bincount(inv), 1)
        val = means[inv]
        cen = np.where(kk != 0, sg * (np.abs(kk) + val), val)
        # linear, per population
        lin, cv = ab.copy(), ab.copy()
        half = (np.arange(len(kk)) * 2654435761 % 1000) < 500
        for pop in (kk == 0, kk != 0):
            if not pop.any():
                continue
            Xp, rp = X[pop], (cb - ab)[pop]
            w = lstsq(Xp, rp)
            params += X.shape[1]
            lin[pop] = ab[pop] + Xp @ w
            hp = half[pop]
            pred = np.empty(len(rp))
            for tr in (hp, ~hp):
                w2 = lstsq(Xp[tr], rp[tr])
                pred[~tr] = Xp[~tr] @ w2
            cv[pop] = ab[pop] + pred
        for name, v in (("centroid", cen), ("linear", lin), ("linear_cv", cv)):
            v = np.clip(v, clo, chi)
            Bands.view(out[name], bd)[...] = (v * q).reshape(Bands.view(c, bd).shape)
    out["base"] = A
    return out, params


def synth(tool, path, dt, eb, coefs, dims, tmp):
    f = os.path.join(tmp, "coefs.f64")
    coefs.astype(np.float64).tofile(f)
    r = subprocess.run([tool, "synth", path, dt, repr(eb), f] + [str(d) for d in dims],
                       capture_output=True, text=True, check=True).stdout.split()
    return float(r[1]), int(r[5])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("manifest")
    ap.add_argument("data")
    ap.add_argument("--rels", default="1e-2,1e-3,1e-4")
    ap.add_argument("--only", default="")
    ap.add_argument("--exclude", default="")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    excl = set(filter(None, a.exclude.split(",")))
    print("field\trel\tbase_psnr\tcentroid\tlinear\tlinear_cv\tparams\tover_base\tover_cv")
    for row in read_manifest(a.manifest):
        name = row["file"]
        if (only and name not in only) or name in excl:
            continue
        dims = [int(d) for d in row["dims_c_order"].split("x")]
        dt = row["dtype"]
        path = os.path.join(a.data, name)
        x = np.fromfile(path, dtype=NP_TYPE[dt]).astype(np.float64)
        if not np.all(np.isfinite(x)):
            continue
        vr = float(x.max() - x.min())
        del x
        for rel in [float(r) for r in a.rels.split(",")]:
            eb = rel * vr
            with tempfile.TemporaryDirectory() as tmp:
                pre = os.path.join(tmp, "d")
                r = subprocess.run([a.tool, "dump", path, dt, repr(eb), pre] + [str(d) for d in dims],
                                   capture_output=True, text=True, check=True).stdout.split()
                q = float(r[1])
                off = [int(v) for v in r[5].split(",")] if len(r) > 5 else []
                shape4 = [1] * (4 - len(dims)) + dims
                c = np.fromfile(pre + ".c", np.float64).reshape(shape4)
                k = np.fromfile(pre + ".k", np.int32).reshape(shape4)
                bands = Bands(pre + ".bands")
                out, params = oracles(c, k, bands, q, off)
                res = {n: synth(a.tool, path, dt, eb, v, dims, tmp) for n, v in out.items()}
            b = res["base"][0]
            print(f"{name}\t{rel:g}\t{b:.2f}\t{res['centroid'][0]-b:+.2f}\t{res['linear'][0]-b:+.2f}"
                  f"\t{res['linear_cv'][0]-b:+.2f}\t{params}\t{res['base'][1]}\t{res['linear_cv'][1]}",
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())
