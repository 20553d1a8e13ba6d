"""Temperature scaling over a whole validation set in bounded memory: the streaming pass of rts_seg.calibrate.

Synthetic logits for `--tiles` tiles of `--size`² pixels are drawn tile by tile on the CPU (never held together):
calibrated logits z ~ N(-8.5, 2) per pixel (~0.1 % RTS pixels, as the guide's data), labels drawn from sigmoid(z),
and the "model" outputs k · z, over-confident by `--k`. Each batch goes into one `LogitHistogram` as a torch tensor,
as `fit_temperature_learner` feeds it. Printed: the pass time (binning alone and with generation), the peak RSS after
the imports and after the pass (resource.getrusage), the histogram's size, the fitted T against k, and the ECE and
NLL before and after. Imports torch, numpy and rts_seg.calibrate only (no rasterio, no MLflow).
Usage: python bench/calibrate_memory.py [--tiles 2000] [--size 512] [--batch 16] [--k 2.0]
"""
import argparse, resource, time
import numpy as np, torch
from rts_seg.calibrate import LogitHistogram, ece

def peak_rss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KB on Linux

def tile_batch(first: int, n: int, size: int, k: float) -> tuple[torch.Tensor, torch.Tensor]:
    "Observed logits (N×1×H×W, float32) and labels for tiles first..first+n-1, each from its own seed, as tensors"
    z, u = np.empty((n, 1, size, size), np.float32), np.empty((n, 1, size, size), np.float32)
    for j in range(n):
        g = np.random.default_rng(first + j)
        g.standard_normal(out=z[j], dtype=np.float32); g.random(out=u[j], dtype=np.float32)
    z *= 2; z -= 8.5                                   # calibrated logits
    t = u < 1 / (1 + np.exp(-z))                       # labels drawn from them
    z *= k                                             # the over-confident model's output
    return torch.from_numpy(z), torch.from_numpy(t)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tiles', type=int, default=2000); ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--batch', type=int, default=16); ap.add_argument('--k', type=float, default=2.0)
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch chooses)')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    rss_imports = peak_rss_mb()
    hist = LogitHistogram()
    t0, t_bin, rts = time.perf_counter(), 0., 0
    for first in range(0, a.tiles, a.batch):
        z, t = tile_batch(first, min(a.batch, a.tiles - first), a.size, a.k)
        rts += int(t.sum())
        t1 = time.perf_counter(); hist.update(z, t); t_bin += time.perf_counter() - t1
    t_pass = time.perf_counter() - t0
    rss_pass = peak_rss_mb()
    t1 = time.perf_counter(); T = hist.fit(); t_fit = time.perf_counter() - t1
    pixels = a.tiles * a.size ** 2
    hist_mb = (hist.weight.nbytes + hist.logit_sum.nbytes) / 2 ** 20
    print(f"{a.tiles} tiles of {a.size}² = {pixels / 1e9:.2f} G pixels, {rts / pixels:.3%} RTS; batches of {a.batch}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'pass (generation + binning)':<34}{t_pass:>8.1f} s")
    print(f"{'  binning alone (update)':<34}{t_bin:>8.1f} s  {t_bin / a.tiles * 1e3:.2f} ms/tile, {pixels / t_bin / 1e6:.0f} M px/s")
    print(f"{'fit T from the histogram':<34}{t_fit:>8.3f} s")
    print(f"{'peak RSS after imports':<34}{rss_imports:>8.0f} MB")
    print(f"{'peak RSS after the pass':<34}{rss_pass:>8.0f} MB  (one batch of logits: {a.batch * a.size ** 2 * 4 / 2 ** 20:.0f} MB; "
          f"histogram: {hist.n_bins + 2} bins, {hist_mb:.1f} MB; all logits would be {pixels * 4 / 2 ** 30:.1f} GB)")
    print(f"{'fitted T':<34}{T:>8.4f}    (true factor k = {a.k}; off by {T / a.k - 1:+.3%})")
    print(f"{'NLL before / after':<34}{hist.nll():>8.5f} / {hist.nll(T):.5f}")
    for s in ('equal_width', 'equal_mass'):
        print(f"{'ECE ' + s + ' before / after':<34}{ece(hist, scheme=s):>8.2e} / {ece(hist, temperature=T, scheme=s):.2e}")

if __name__ == '__main__': main()
