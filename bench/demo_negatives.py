"""Sizing the demo's validation: background scenes, where their tiles go, and what it costs.

Builds the demo config (`rts_seg.demo.demo_config`, the shipped demo.yaml untouched) with overrides, generates its
synthetic scenes (`ensure_scenes`) and prepares tiles (`prepare_from_config`), timing both, then prints per split:
positive and negative tiles, true slumps (positive label polygons) whose centroid lies in a tile of that split and
those that touch one ('drop': tiles the buffer removed), and the sampling sets `prepare` made.
Usage: python bench/demo_negatives.py OUT [--background 120] [--scenes 8] [--background-size 1024] [--rts-per-km2 0.35]
                                          [--negative-split-fractions 0.1 0.45 0.45 | none]
"""
import argparse, json, time
from pathlib import Path
import geopandas as gpd, pandas as pd
from shapely.geometry import box

def slumps_per_split(cfg, index: pd.DataFrame) -> tuple[dict, dict]:
    "Positive label polygons per split: by the split of the tile holding their centroid, and of any tile they touch"
    lab = gpd.read_file(cfg.data.labels)
    lab = lab[(lab.TrainClass == 'Positive')].to_crs(3413).reset_index(drop=True)  # the demo's scenes and blocks: EPSG:3413
    tiles = gpd.GeoDataFrame(index[['split']], geometry=[box(*r) for r in index[['minx', 'miny', 'maxx', 'maxy']].to_numpy()],
                             crs=3413)
    cen = gpd.sjoin(gpd.GeoDataFrame(geometry=lab.geometry.centroid, crs=3413), tiles, predicate='within')
    touch = gpd.sjoin(gpd.GeoDataFrame(geometry=lab.geometry, crs=3413), tiles, predicate='intersects')
    by_centroid = cen[~cen.index.duplicated()].split.value_counts().to_dict()
    touching = touch.reset_index().drop_duplicates(['index', 'split']).split.value_counts().to_dict()
    return by_centroid, touching

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('out'); ap.add_argument('--background', type=int, default=120)
    ap.add_argument('--background-size', type=int, default=None); ap.add_argument('--rts-per-km2', type=float, default=None)
    ap.add_argument('--scenes', type=int, default=None, help='RTS scenes (the demo: 8)')
    ap.add_argument('--negative-split-fractions', nargs='+', default=['0.1', '0.45', '0.45'], help="3 shares, or 'none'")
    a = ap.parse_args()
    from rts_seg.demo import demo_config
    from rts_seg.tiles import ensure_scenes, prepare_from_config, SPLITS
    ov = {'synth.background_scenes': a.background, 'synth.background_size': a.background_size,
          'data.negative_split_fractions': None if a.negative_split_fractions == ['none'] else [float(x) for x in a.negative_split_fractions]}
    if a.rts_per_km2 is not None: ov['synth.rts_per_km2'] = a.rts_per_km2
    if a.scenes is not None: ov['synth.scenes'] = a.scenes
    cfg = demo_config(a.out, **ov)
    t0 = time.perf_counter(); ensure_scenes(cfg)
    t1 = time.perf_counter(); index = prepare_from_config(cfg, verbose=False)
    t2 = time.perf_counter()
    pos = index.pos_pixels >= cfg.data.min_pos_pixels
    centred, touching = slumps_per_split(cfg, index)
    rows = [dict(split=s, pos_tiles=int((pos & (index.split == s)).sum()), neg_tiles=int((~pos & (index.split == s)).sum()),
                 slumps_centred=centred.get(s, 0), slumps_touching=touching.get(s, 0)) for s in (*SPLITS, 'drop')]
    print(f"overrides {ov}")
    print(f"write_synthetic {t1 - t0:.1f} s, prepare {t2 - t1:.1f} s; {len(index)} tiles, {index.block.nunique()} blocks")
    print(pd.DataFrame(rows).to_string(index=False))
    rep = json.loads((Path(cfg.data.tiles)/'report.json').read_text())
    for k, v in rep['sets'].items():
        print(f"  {k:<24} {v['ratio']:>7}: " + (f"{v['n_pos']} pos + {v['n_neg']} neg" if 'n_pos' in v else 'not made')
              + (f"  <- {v['note']}" if 'note' in v else ''))

if __name__ == '__main__': main()
