#!/usr/bin/python3
"""Per field and bound: enhanced vs base at equal bound and at equal bits per value, and what the
enhancer kept.  usage: rd_enhance_table.py GWLZ_BIN MANIFEST DATA_DIR BASE.tsv ENH.tsv
(the tables of gwlz_rows.py; the equal-bpv gain is rd_compare.py's: the base's PSNR interpolated
linearly in log2(bpv) along its own curve, '-' outside it)."""
import csv, math, os, subprocess, sys, tempfile

sys.path.insert(0, os.environ.get('GWLZ_RD') or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                                             'shared', 'tools', 'rd'))
from rd_compare import interp  # noqa: E402


def rows(path):
    out = {}
    for r in csv.DictReader(open(path), delimiter='\t'):
        if r.get('status', 'ok').startswith('ok') and r['bpv'] != 'NA':
            out[(r['file'], r['rel_eb'])] = r
    return out


def kept(binp, man, ddir, f, absb):
    """What the enhancer kept for field f at absolute bound absb (gwlz -a)."""
    m = {r['file']: r for r in csv.DictReader(open(man), delimiter='\t')}[f]
    dims = m['dims_c_order'].split('x')
    with tempfile.TemporaryDirectory() as t:
        cmd = [binp, '-f' if m['dtype'] == 'f32' else '-d', '-i', os.path.join(ddir, f), '-z',
               os.path.join(t, 'c'), '-%d' % len(dims)] + dims[::-1] + ['-M', 'ABS', absb, '-a', '-q']
        if m.get('fill_value'):
            cmd += ['--fill', m['fill_value']]
        txt = subprocess.run(cmd, capture_output=True, text=True).stdout
    info = dict(l.split(' = ', 1) for l in txt.splitlines() if ' = ' in l)
    enh = info.get('enhancer', 'none').split(' (')[0]
    if enh.startswith('none'):
        return 'none'
    g = info.get('enhancer', '').split('(')[-1].split(' of')[0]
    return '%s %s groups, %s + %s B' % (enh, g, info.get('model bytes', '?'),
                                      info.get('exceptions', '0 (0 bytes)').split('(')[-1].split(' ')[0])


def main():
    binp, man, ddir, bpath, epath = sys.argv[1:6]
    b, e = rows(bpath), rows(epath)
    curves = {}
    for (f, rel), r in b.items():
        curves.setdefault(f, []).append((float(r['bpv']), float(r['psnr'])))
    print('field\tREL\tbase bpv\tbase dB\tsize %\tdB @bound\tdB @bpv\tkept')
    for (f, rel) in sorted(e, key=lambda k: (k[0], -float(k[1]))):
        if (f, rel) not in b:
            continue
        rb, re_ = b[(f, rel)], e[(f, rel)]
        bb, eb_ = float(rb['bpv']), float(re_['bpv'])
        q = interp(curves[f], eb_)
        dq = '%+.2f' % (float(re_['psnr']) - q) if q is not None and math.isfinite(float(re_['psnr'])) else '-'
        print('%s\t%s\t%.4f\t%.2f\t%+.1f\t%+.2f\t%s\t%s' % (
            f[:40], rel, bb, float(rb['psnr']), 100 * (eb_ / bb - 1), float(re_['psnr']) - float(rb['psnr']),
            dq, kept(binp, man, ddir, f, re_['abs_eb'])))


main()
