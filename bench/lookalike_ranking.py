"""Which look-alikes a trained run ranks above slumps, on synthetic scenes it never saw (issue 20, item 7).

Generates `--scenes` fresh scenes (`--seed`, not the run's), maps each with the run's model (`scene_probabilities`,
probabilities at T = 1: the ranking is what matters, and T only rescales it) and scores every object the generator
drew by the highest probability within 2 px of it: each slump, each look-alike by kind, and each connected component
(8-connectivity) of background clear of every drawn object. Then, at the score that keeps half the slumps (object
recall 0.5 by this score), it counts the false objects per km² of scene and compares them with the density a map may
hold at 1:N for object precision P:  density <= m * r * (1 - P) / (P * N * tile_km2),  m = slumps per positive tile.
This is a ranking diagnostic of the objects the generator knows, not the pipeline's matching (IoU, minimum area);
it says which kind keeps a demo from establishing its operating point, and by how much.
Usage: python bench/lookalike_ranking.py RUN_FOLDER [--scenes 6] [--size 1024] [--seed 7] [--ratio 1:200]
                                                    [--precision 0.8] [--recall 0.5] [--slumps-per-tile 1.33] [--out DIR]
"""
import argparse, json, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from scipy import ndimage

def object_scores(p: np.ndarray, sc, pad: float = 2.) -> pd.DataFrame:
    "Highest probability within `pad` px of each slump and look-alike of scene `sc`; the mask of ground clear of them (3 px further)"
    from rts_seg.synthetic import _burn
    objs = [('rts', q) for q in sc.rts] + [(k, q) for k, q in sc.confusers if q is not None and k != 'road']
    rows, taken = [], np.zeros(p.shape, bool)
    for k, q in objs:
        m = _burn([q.buffer(pad)], p.shape)
        taken |= m
        if m.any(): rows.append(dict(scene=sc.scene_id, kind=k, area_px=float(q.area), score=float(p[m].max())))
    return pd.DataFrame(rows), ~ndimage.binary_dilation(taken, iterations=3)

def background_objects(p: np.ndarray, clear: np.ndarray, cut: float) -> int:
    "Connected components (8-connectivity) of `p >= cut` on `clear` ground: false objects no drawn feature explains"
    return int(ndimage.label((p >= cut) & clear, np.ones((3, 3), bool))[1])

def allowed_density(ratio: str, precision: float, recall: float, slumps_per_tile: float, tile_km2: float) -> float:
    "False objects per km² of negative ground that a map at 1:N may hold for object `precision` at `recall`"
    n = float(ratio.split(':')[1]) / float(ratio.split(':')[0])
    return slumps_per_tile * recall * (1 - precision) / (precision * n * tile_km2)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('run'); ap.add_argument('--scenes', type=int, default=6); ap.add_argument('--size', type=int, default=1024)
    ap.add_argument('--seed', type=int, default=7); ap.add_argument('--ratio', default='1:200')
    ap.add_argument('--precision', type=float, default=0.8); ap.add_argument('--recall', type=float, default=0.5)
    ap.add_argument('--slumps-per-tile', type=float, default=1.33, help="the demo's validation: 12 slumps in 9 positive tiles")
    ap.add_argument('--out', default=None, help='folder for the scenes and scores.csv (default: a temporary one)')
    a = ap.parse_args()
    from rts_seg.threshold import open_run
    from rts_seg.inference import scene_probabilities
    from rts_seg.synthetic import make_scene, write_synthetic, IMAGE_RES
    run = open_run(a.run); cfg = run['cfg']; model = run['model'].eval()
    out = Path(a.out or tempfile.mkdtemp(prefix='lookalike_'))
    seed = a.seed if a.seed != int(cfg.synth.seed) else a.seed + 1       # never the run's own scenes
    t0 = time.perf_counter()
    write_synthetic(out/'scenes', scenes=a.scenes, size=a.size, seed=seed, rts_per_km2=float(cfg.synth.rts_per_km2),
                    confusers_per_km2=float(cfg.synth.confusers_per_km2), nodata_fraction=0.)
    stats, bands, size = Path(cfg.data.tiles)/'stats.json', ['red', 'green', 'blue', *cfg.data.get('aux_bands', [])], int(cfg.data.tile_size)
    frames, maps = [], []
    for i in range(a.scenes):
        sc = make_scene(i, a.size, seed, float(cfg.synth.rts_per_km2), float(cfg.synth.confusers_per_km2))
        p = scene_probabilities(model, out/'scenes'/'images'/f'{sc.scene_id}.tif', stats=stats, bands=bands,
                                aux_path=out/'scenes'/'aux'/f'{sc.scene_id}.tif' if len(bands) > 3 else None,
                                size=size, overlap=size // 4, precision='none')
        p = np.nan_to_num(p, nan=0.)
        f, clear = object_scores(p, sc)
        frames.append(f); maps.append((p, clear))
    df = pd.concat(frames, ignore_index=True); df.to_csv(out/'scores.csv', index=False)
    rts = df[df.kind == 'rts'].score
    cut = float(np.quantile(rts, 1 - a.recall))
    bg = sum(background_objects(p, clear, cut) for p, clear in maps)
    km2 = a.scenes * (a.size * IMAGE_RES / 1000) ** 2
    table = df.groupby('kind').agg(objects=('score', 'size'), median_score=('score', 'median'),
                                   above_cut=('score', lambda s: int((s >= cut).sum())))
    table.loc['background (no drawn feature)'] = [np.nan, np.nan, bg]
    false = int(table.drop('rts', errors='ignore').above_cut.sum())
    need = allowed_density(a.ratio, a.precision, a.recall, a.slumps_per_tile, (size * IMAGE_RES / 1000) ** 2)
    print(f"run {a.run} ({cfg.architecture}/{cfg.backbone}, {cfg.data.get('aux_bands', [])}); {a.scenes} unseen scenes of {a.size} px "
          f"(seed {seed}), {km2:.1f} km², {len(rts)} slumps; {time.perf_counter() - t0:.0f} s")
    print(table.round(3).to_string())
    print(f"score keeping {a.recall:.0%} of slumps: {cut:.3f}; false objects above it: {false} = {false / km2:.3f} per km² "
          f"(Poisson 95 % upper bound {0.5 * _chi2(2 * false + 2) / km2:.3f})")
    print(f"a map at {a.ratio} with object precision {a.precision} at recall {a.recall} may hold {need:.4f} per km² "
          f"({a.slumps_per_tile} slumps per positive tile of {size} px): {false / km2 / need:.0f}x too many" if false else
          f"a map at {a.ratio} may hold {need:.4f} per km²: none seen in {km2:.0f} km² (rule of three: <= {3 / km2:.3f} per km²)")
    print(f"scores in {out/'scores.csv'}")

def _chi2(k: int) -> float:
    from scipy.stats import chi2
    return float(chi2.ppf(0.975, k))

if __name__ == '__main__':
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    main()
