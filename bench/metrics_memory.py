"""Metrics over many 512-px tiles at realistic sparsity: streaming (rts_seg.metrics) vs naive (concatenate + sklearn),
and connected-component labelling choices for large masks.

Each variant runs in its own process so its peak RSS is its own. Predictions are drawn tile by tile from a seed
(~0.1 % RTS pixels overall, ~1 tile in 11 positive, as at the guide's 1:10), so the streaming path never holds more
than one batch.
Usage: python bench/metrics_memory.py [--tiles 2000] [--size 512] [--skip-naive]
"""
import argparse, resource, subprocess, sys, time, json
import numpy as np

def tile(i, size):
    "Deterministic probability map and target for tile i"
    g = np.random.default_rng(i)
    t = np.zeros((size, size), bool)
    if i % 11 == 0:
        for _ in range(g.integers(1, 4)):
            r, c = g.integers(0, size - 40, 2); h, w = g.integers(8, 40, 2)
            t[r:r + h, c:c + w] = True
    p = np.clip(g.beta(1, 30, (size, size)).astype(np.float32) + t * g.normal(0.6, 0.2, (size, size)).astype(np.float32), 0, 1)
    return p, t

def streaming(n, size):
    from rts_seg.metrics import Evaluator
    ev = Evaluator()
    for i0 in range(0, n, 16):
        ps, ts = zip(*[tile(i, size) for i in range(i0, min(n, i0 + 16))])
        ev.update(np.stack(ps), np.stack(ts))
    s = ev.summary(); s.update(ev.summary('1:500'))
    return dict(pr_auc=s['pr_auc'], f05=s['f05'], iou_rts=s['iou_rts'], pr_auc_r500=s['pr_auc_r500'])

def generate_only(n, size):
    for i in range(n): tile(i, size)
    return {}

def imports_only(n, size):
    import rts_seg.metrics  # torch's CUDA build alone is ~500 MB of RSS
    return {}

def naive(n, size):
    from sklearn.metrics import average_precision_score, fbeta_score, jaccard_score
    ps, ts = zip(*[tile(i, size) for i in range(n)])
    p, t = np.concatenate([x.ravel() for x in ps]), np.concatenate([x.ravel() for x in ts])
    del ps, ts
    return dict(pr_auc=average_precision_score(t, p), f05=fbeta_score(t, p >= 0.5, beta=0.5), iou_rts=jaccard_score(t, p >= 0.5))

def components(n, size):
    "Label a large sparse mask with each library (size here is the mask side)"
    from scipy import ndimage
    import cv2
    g = np.random.default_rng(0)
    m = np.zeros((size, size), np.uint8)
    for _ in range(n):
        r, c = g.integers(0, size - 60, 2); m[r:r + g.integers(5, 60), c:c + g.integers(5, 60)] = 1
    res = {}
    t = time.perf_counter(); _, k1 = ndimage.label(m, structure=np.ones((3, 3))); res['scipy.ndimage.label s'] = time.perf_counter() - t
    t = time.perf_counter(); k2, _ = cv2.connectedComponents(m, connectivity=8); res['cv2.connectedComponents s'] = time.perf_counter() - t
    try:
        from skimage.measure import label
        t = time.perf_counter(); _, k3 = label(m, connectivity=2, return_num=True); res['skimage.measure.label s'] = time.perf_counter() - t
    except ImportError: res['skimage.measure.label s'] = 'not installed'
    res['objects (scipy, cv2)'] = (int(k1), int(k2) - 1)
    return res

def child(kind, n, size):
    t = time.perf_counter()
    out = globals()[kind](n, size)
    out['seconds'] = time.perf_counter() - t
    out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, default=str))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tiles', type=int, default=2000); ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--skip-naive', action='store_true')
    ap.add_argument('--naive-tiles', type=int, default=None, help='tiles for the naive path (it needs ~10 GB per 1000 tiles)'); ap.add_argument('--child', nargs=3)
    a = ap.parse_args()
    if a.child: return child(a.child[0], int(a.child[1]), int(a.child[2]))
    run = lambda kind, n, size: json.loads(subprocess.run([sys.executable, __file__, '--child', kind, str(n), str(size)],
                                                           capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    print(f"{a.tiles} tiles of {a.size}² = {a.tiles * a.size ** 2 / 1e9:.2f} G pixels")
    rows = [('tile generation alone', run('generate_only', a.tiles, a.size)), ('import rts_seg.metrics', run('imports_only', 0, 0)),
            ('streaming Evaluator', run('streaming', a.tiles, a.size))]
    if not a.skip_naive: rows.append(('naive concat + sklearn', run('naive', a.naive_tiles or a.tiles, a.size)))
    print(f"{'path':<26}{'seconds':>9}{'peak RSS MB':>13}  figures (naive: {a.naive_tiles or a.tiles} tiles)")
    for k, r in rows:
        figs = {x: round(v, 5) for x, v in r.items() if x not in ('seconds', 'peak_rss_mb')}
        print(f"{k:<26}{r['seconds']:>9.1f}{r['peak_rss_mb']:>13.0f}  {figs}")
    print("connected components on an 8192² mask with 3,000 objects:", run('components', 3000, 8192))

if __name__ == '__main__': main()
