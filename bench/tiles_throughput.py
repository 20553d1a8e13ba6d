"""Tiles/s per core for loading + augmenting 512-px RGB tiles, and the storage choice behind it.

Prepares synthetic scenes into tiles (cached under bench/_out), then times in one process (one core):
  read/npy        TileStore.read of a tile from the per-scene memory-mapped .npy arrays (the format `prepare` writes)
  read/geotiff    the same tile as a window of the scene GeoTIFF (deflate, 256-px internal tiles), image + mask
  read+augment    TileDataset.__getitem__ with the guide's full augmentation (§5.2) and normalisation
  read+aug+soft   the same with distance-weighted soft labels
Usage: python bench/tiles_throughput.py [--tile 512] [--scenes 3] [--size 2048] [--n 200]
"""
import argparse, time, os, json
from pathlib import Path
import numpy as np, rasterio, torch
from rasterio.windows import Window

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tile', type=int, default=512); ap.add_argument('--scenes', type=int, default=3)
    ap.add_argument('--size', type=int, default=2048); ap.add_argument('--n', type=int, default=200)
    ap.add_argument('--out', default=str(Path(__file__).parent/'_out'))
    a = ap.parse_args()
    torch.set_num_threads(1); os.environ.setdefault('OMP_NUM_THREADS', '1')
    import cv2; cv2.setNumThreads(1)
    from rts_seg.core import load_config
    from rts_seg.tiles import ensure_prepared
    from rts_seg.data import TileStore, TileDataset
    from rts_seg.augment import SegAugment
    out = Path(a.out)
    cfg = load_config(**{'synth.enabled': True, 'synth.scenes': a.scenes, 'synth.size': a.size,
                         'data.images': str(out/'scenes/images'), 'data.labels': str(out/'scenes/labels.gpkg'),
                         'data.aux': str(out/'scenes/aux'), 'data.tiles': str(out/f'tiles{a.tile}'),
                         'data.tile_size': a.tile, 'data.block_km': 2.0, 'data.buffer_m': 0.})
    index = ensure_prepared(cfg, verbose=False)
    store = TileStore(cfg.data.tiles, index)
    stats = json.loads((Path(cfg.data.tiles)/'stats.json').read_text())
    ids = index.tile_id.to_numpy()
    g = np.random.default_rng(0)
    pick = g.choice(ids, size=a.n, replace=True)

    def rate(fn):
        fn(pick[0])  # warm-up (opens files)
        t = time.perf_counter()
        for tid in pick: fn(tid)
        return a.n / (time.perf_counter() - t)

    rows = [('read/npy (memory map)', rate(lambda t: store.read(t)))]
    imgs = {p.stem: p for p in Path(cfg.data.images).glob('*.tif')}
    by_id = index.set_index('tile_id')
    def geotiff(t):
        r = by_id.loc[t]
        with rasterio.open(imgs[r.scene]) as ds:
            return ds.read(window=Window(r.col_off, r.row_off, r.width, r.height)), ds.read_masks(1, window=Window(r.col_off, r.row_off, r.width, r.height))
    rows.append(('read/geotiff (window)', rate(geotiff)))
    aug = SegAugment(cfg.augment, seed=0)
    ds = TileDataset(store, ids, stats, aug=aug)
    pos = {t: i for i, t in enumerate(ids)}
    rows.append(('read+augment+normalise', rate(lambda t: ds[pos[t]])))
    ds_soft = TileDataset(store, ids, stats, aug=aug, soft=dict(method='distance', distance_px=3.))
    rows.append(('read+augment+soft labels', rate(lambda t: ds_soft[pos[t]])))
    print(f"{a.tile}-px RGB tiles, {a.n} random reads, one process (one core), {len(ids)} tiles from {a.scenes} scenes")
    print(f"{'step':<28}{'tiles/s/core':>14}{'ms/tile':>10}")
    for k, r in rows: print(f"{k:<28}{r:>14.1f}{1000 / r:>10.2f}")

if __name__ == '__main__': main()
