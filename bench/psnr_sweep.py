#!/usr/bin/python3
"""PSNR mode over a manifest: for each field and target (default 40 60 80 dB), compress with the
default settings and with -G 0, decompress, and measure the PSNR here (range and MSE over the finite
non-fill values, as rd/gwlz_rows.py does). Columns: achieved PSNR, stream bytes, trial runs of the
bound search (base-only+enhanced, from -a), CPU seconds of the compress+decompress command, for both
settings; ok = both reach the target, size_ok = default <= -G 0, bound_ok = max error <= bound and
special cells exact.
usage: psnr_sweep.py GWLZ MANIFEST DATA [targets...]   env: FILES="a b" (subset), EXTRA="flags"
"""
import os, sys, subprocess, tempfile, time, re, resource
import numpy as np
binp, manifest, data = sys.argv[1:4]
targets = [float(t) for t in (sys.argv[4:] or ['40', '60', '80'])]
only = set(os.environ.get('FILES', '').split())
extra = os.environ.get('EXTRA', '').split()
rows = [l.rstrip('\n').split('\t') for l in open(manifest)]
hdr, rows = rows[0], rows[1:]
ix = {h: i for i, h in enumerate(hdr)}
print('\t'.join(['file', 'target', 'psnr', 'bytes', 'runs', 'cpu_s', 'psnr_G0', 'bytes_G0', 'runs_G0', 'cpu_G0', 'ok', 'size_ok', 'bound_ok']), flush=True)
for r in rows:
    f, dims, dt = r[ix['file']], r[ix['dims_c_order']], r[ix['dtype']]
    fill = r[ix['fill_value']] if 'fill_value' in ix else ''
    if only and f not in only: continue
    d = np.float32 if dt == 'f32' else np.float64
    x = np.fromfile(os.path.join(data, f), dtype=d)
    m = np.isfinite(x)
    if fill: m &= x != d(float(fill))
    xf = x[m].astype(np.float64)
    rng = float(xf.max() - xf.min()) if xf.size else 0.0
    dl = dims.split('x')
    dimflags = ['-%d' % len(dl)] + dl[::-1]
    for tg in targets:
        res = []
        for g in ([], ['-G', '0']):
            with tempfile.TemporaryDirectory() as t:
                c, o = os.path.join(t, 'c'), os.path.join(t, 'o')
                cmd = [binp, '-f' if dt == 'f32' else '-d', '-i', os.path.join(data, f), '-z', c, '-o', o] + dimflags + ['-M', 'PSNR', repr(tg), '-a', '-q'] + g + extra
                if fill: cmd += ['--fill', fill]
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                p = subprocess.run(cmd, capture_output=True, text=True)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0, t1 = 0.0, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
                if p.returncode:
                    res.append(('ERR', 0, p.stderr.strip()[:60], 0, False)); continue
                y = np.fromfile(o, dtype=d)
                yf = y[m].astype(np.float64)
                err = np.abs(xf - yf)
                mse = float(np.mean(err ** 2)) if err.size else 0.0
                psnr = 20 * np.log10(rng) - 10 * np.log10(mse) if mse > 0 and rng > 0 else float('inf')
                mm = re.search(r'PSNR search = (\d+) base-only \+ (\d+) enhanced', p.stdout)
                runs = '%s+%s' % (mm.group(1), mm.group(2)) if mm else '-'
                eb = float(re.search(r'error bound = (\S+)', p.stdout).group(1))
                nonreg = ~m
                keep_ok = bool(np.all((x[nonreg] == y[nonreg]) | (np.isnan(x[nonreg]) & np.isnan(y[nonreg]))))
                mr = re.search(r'max error / bound = ([0-9.]+)', p.stdout)
                res.append((psnr, os.path.getsize(c), runs, t1 - t0, keep_ok and (float(mr.group(1)) <= 1.0 if mr else True)))
        (p1, b1, r1, t1_, k1), (p0, b0, r0, t0_, k0) = res
        ok = isinstance(p1, float) and p1 >= tg and isinstance(p0, float) and p0 >= tg
        print('\t'.join([f, '%g' % tg, '%.3f' % p1 if isinstance(p1, float) else p1, str(b1), r1, '%.2f' % t1_,
                         '%.3f' % p0 if isinstance(p0, float) else p0, str(b0), r0, '%.2f' % t0_,
                         'yes' if ok else 'NO', 'yes' if b1 <= b0 else 'NO', 'yes' if k1 and k0 else 'NO']), flush=True)
