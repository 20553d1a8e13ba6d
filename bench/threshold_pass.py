"""The one validation pass of rts_seg.threshold on CPU: time and peak RSS for thousands of 512² tiles.

Synthetic logits for `--tiles` tiles of `--size`² pixels are drawn batch by batch (never held together): background
calibrated logits ~ N(-8, 1.5); one tile in `--pos-every` holds 1–3 RTS squares (16–60 px) with logits ~ N(3, 1);
a third of the negative tiles hold a look-alike square with logits ~ N(-3, 1.5) (the false positives thresholds fight);
the "model" outputs k · z, over-confident by `--k`. Each batch goes into one `ValidationPass` as a torch tensor.
With `--fit-t` the pass also fills a `LogitHistogram` and fits T (temperature=None); else T = k is given.
Printed: the pass time (generation apart), ms per tile, peak RSS after the imports and after the pass
(resource.getrusage), the pass's own state, and the time of `select_thresholds` (1,000 replicates per
ratio), `sensitivity` and `write_threshold_outputs`. Imports numpy, torch and rts_seg.threshold only (no rasterio,
no MLflow: checked).
With `--grow` the pass also counts the hysteresis maps calibrate chooses a grow threshold from, and chooses it.
Usage: python bench/threshold_pass.py [--tiles 2000] [--size 512] [--batch 8] [--k 2.0] [--fit-t] [--grow]
"""
import argparse, resource, sys, tempfile, time
import numpy as np, torch
from rts_seg.threshold import ValidationPass, select_thresholds, sensitivity, write_threshold_outputs, choose_grow, GROW_CANDIDATES

def peak_rss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KB on Linux

def tile_batch(first: int, n: int, size: int, k: float, pos_every: int):
    "Observed logits (N×1×H×W float32), targets and valid masks for tiles first..first+n-1, each from its own seed"
    z = np.empty((n, 1, size, size), np.float32)
    y = np.zeros((n, 1, size, size), bool)
    for j in range(n):
        i, g = first + j, np.random.default_rng(first + j)
        g.standard_normal(out=z[j, 0], dtype=np.float32); z[j] *= 1.5; z[j] -= 8
        if i % pos_every == 0:
            for _ in range(g.integers(1, 4)):
                s = int(g.integers(16, 61)); r, c = g.integers(0, size - s, 2)
                y[j, 0, r:r+s, c:c+s] = True; z[j, 0, r:r+s, c:c+s] = g.normal(3, 1, (s, s))
        elif i % 3 == 1:
            s = int(g.integers(8, 41)); r, c = g.integers(0, size - s, 2)
            z[j, 0, r:r+s, c:c+s] = g.normal(-3, 1.5, (s, s))
    z *= k
    return torch.from_numpy(z), torch.from_numpy(y), torch.ones(n, 1, size, size, dtype=torch.bool)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tiles', type=int, default=2000); ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--batch', type=int, default=8); ap.add_argument('--k', type=float, default=2.0)
    ap.add_argument('--pos-every', type=int, default=20); ap.add_argument('--fit-t', action='store_true')
    ap.add_argument('--grow', action='store_true', help='also count the hysteresis maps of GROW_CANDIDATES (what calibrate does by default)')
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch chooses)')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    assert 'rasterio' not in sys.modules and 'mlflow' not in sys.modules, 'rts_seg.threshold pulled in rasterio or MLflow'
    rss_imports = peak_rss_mb()
    vp = ValidationPass('val_realistic', temperature=None if a.fit_t else a.k, grow=GROW_CANDIDATES if a.grow else ())
    t0, t_upd = time.perf_counter(), 0.
    for first in range(0, a.tiles, a.batch):
        batch = tile_batch(first, min(a.batch, a.tiles - first), a.size, a.k, a.pos_every)
        t1 = time.perf_counter(); vp.update(*batch, images=None); t_upd += time.perf_counter() - t1
    t_pass = time.perf_counter() - t0
    rss_pass = peak_rss_mb()
    t1 = time.perf_counter(); T = vp.temperature; t_fit = time.perf_counter() - t1
    t1 = time.perf_counter(); grow = choose_grow(vp, '1:500') if a.grow else None
    table = select_thresholds(vp, ('1:200', '1:500', '1:1000'), grow=grow); t_sel = time.perf_counter() - t1
    t1 = time.perf_counter(); sens = sensitivity(vp, table); t_sens = time.perf_counter() - t1
    with tempfile.TemporaryDirectory() as d:
        t1 = time.perf_counter(); write_threshold_outputs(d, table, sens, vp); t_write = time.perf_counter() - t1
    pixels = a.tiles * a.size ** 2
    obj_mb = sum(sum(o.nbytes for o in m.pos) + m.neg_sum.nbytes + m.neg_sumsq.nbytes for m in vp.maps.values()) / 2 ** 20
    hist_mb = (vp.hist.hist.nbytes + sum(h.nbytes for h in vp.tile_hist)) / 2 ** 20
    gal_mb = sum(d['bins'].nbytes + d['target'].nbytes + (0 if d['valid'] is None else d['valid'].nbytes) for d in vp.kept.values()) / 2 ** 20
    print(f"{a.tiles} tiles of {a.size}² = {pixels / 1e9:.2f} G pixels; tiles pos:neg {vp.tiles[1]}:{vp.tiles[0]}; "
          f"batches of {a.batch}; torch threads {torch.get_num_threads()}; T {'fitted in the pass' if a.fit_t else 'given'}"
          f"{'; hysteresis maps for grow ' + str(GROW_CANDIDATES) if a.grow else ''}")
    print(f"{'pass (generation + update)':<34}{t_pass:>8.1f} s")
    print(f"{'  ValidationPass.update alone':<34}{t_upd:>8.1f} s  {t_upd / a.tiles * 1e3:.1f} ms/tile, {pixels / t_upd / 1e6:.0f} M px/s")
    print(f"{'temperature':<34}{T:>8.4f}    ({t_fit:.2f} s; the model's factor k = {a.k}, but the labels are squares, not drawn from sigmoid(z): T need not be k)")
    print(f"{'select_thresholds (3 ratios)':<34}{t_sel:>8.1f} s  (1,000 replicates of every grid threshold each)")
    print(f"{'sensitivity / write outputs':<34}{t_sens:>8.2f} s / {t_write:.2f} s")
    print(f"{'peak RSS after imports':<34}{rss_imports:>8.0f} MB")
    print(f"{'peak RSS after the pass':<34}{rss_pass:>8.0f} MB  (one batch of logits: {a.batch * a.size ** 2 * 4 / 2 ** 20:.0f} MB; "
          f"histograms {hist_mb:.1f} MB, map counts at every threshold {obj_mb:.1f} MB, gallery {len(vp.kept)} tiles {gal_mb:.1f} MB; "
          f"all logits would be {pixels * 4 / 2 ** 30:.1f} GB)")
    print(table[['ratio', 'threshold', 'established', 'precision', 'precision_lo', 'precision_hi', 'recall', 'found',
                 'pixel_precision', 'pixel_recall', 'estimated']].round(3).to_string(index=False))

if __name__ == '__main__': main()
