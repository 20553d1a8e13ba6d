"""Make the README's pictures from a run of `rts-seg demo`, and the table of its figures.

    rts-seg demo --out /tmp/demo_docs          # ~10 minutes on 2 CPU cores
    python tools/make_figures.py /tmp/demo_docs

writes, under nbs/images/:
- `demo_pr_curves.png`: the demo's `runs/demo/calibration/pr_curves.png` (PR curves on validation at each
  val-realistic ratio, the operating points marked), as `rts-seg calibrate` drew it;
- `demo_prediction.png`: the held-out scene the demo mapped, its RGB beside the predicted RTS probability over it,
  with the reference outlines (the synthetic labels) and the predicted polygons at the operating threshold;
- `demo_figures.json`: where they came from (date, rts_seg version, git commit, torch threads, the demo's operating
  points with their intervals and the test figures with theirs, a hash of the demo config), from which `demo_table`
  writes the Markdown table that nbs/index.ipynb shows. nbs/98_docs.ipynb checks that the index holds exactly that
  table; nbs/15_demo.ipynb runs the demo again with the current code and checks that its figures agree with this
  file's within their intervals.

Each PNG is kept under 300 KB.
"""
from __future__ import annotations

import argparse, hashlib, json, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT/'nbs'/'images'
MAX_BYTES = 300_000


def _iv(f: dict) -> str: return f"{f['value']:.3f} [{f['lo']:.3f}, {f['hi']:.3f}]"

def demo_table(info: dict) -> str:
    "The Markdown table of a demo run's operating points and test figures with their intervals, from `demo_figures.json`'s content"
    m = info['test']
    rows = [f"| split, prevalence | threshold | object precision | object recall | pixel precision | pixel recall | slumps found | "
            f"{info['operating_metric']} precision ≥ {info['target_precision']:g} established |", '|---|---|---|---|---|---|---|---|']
    for t in info['thresholds']:
        rows.append(f"| validation {t['ratio']} | {t['threshold']:.3f} | {_iv(t['object_precision'])} | {_iv(t['object_recall'])} | "
                    f"{_iv(t['pixel_precision'])} | {_iv(t['pixel_recall'])} | {t['found']} | {'yes' if t['established'] else 'no'} |")
    f = m['figures']
    rows.append(f"| test {m['ratio']} (once) | {m['threshold']:.3f} | {_iv(f['object_precision'])} | {_iv(f['object_recall'])} | "
                f"{_iv(f['pixel_precision'])} | {_iv(f['pixel_recall'])} | | |")
    made = f"rts_seg {info['rts_seg']}" + (f" (trained at commit {info['commit']})" if info.get('commit') else '')
    mp = info.get('map')
    on_map = '' if not mp else (f" The thresholds are on validation's calibrated probabilities; the map's probabilities are calibrated for "
                                f"{mp['map_prevalence']} (prior shift {mp['prior_shift']:.3g} on the logit), where the {m['ratio']} point is "
                                f"threshold {mp['threshold']:.3g}.")
    return '\n'.join(rows) + (f"\n\nObjects matched one to one at IoU ≥ {info['object_iou']:g}; 95 % intervals.{on_map} Made on {info['made']} with "
                               f"{made}: `rts-seg demo --out DIR`, then `python tools/make_figures.py DIR`.")


def demo_config_sha256() -> str:
    "Hash of the demo config the package ships: the figures are stale once it changes"
    from rts_seg.demo import demo_config_path
    return hashlib.sha256(demo_config_path().read_bytes()).hexdigest()


def _run_commit(out: Path, run_id: str) -> str | None:
    "The code's git commit the demo's training run recorded in MLflow (short form)"
    try:
        from mlflow.tracking import MlflowClient
        tags = MlflowClient(f"sqlite:///{(out/'mlflow.db').absolute()}").get_run(run_id).data.tags
        return (tags.get('mlflow.source.git.commit') or '')[:7] or None
    except Exception: return None


def _small_png(src: Path, dst: Path):
    "Copy a PNG, re-saved at lower resolution until it is under MAX_BYTES"
    shutil.copyfile(src, dst)
    if dst.stat().st_size <= MAX_BYTES: return
    from PIL import Image
    im = Image.open(src)
    while dst.stat().st_size > MAX_BYTES:
        im = im.resize((im.width * 4 // 5, im.height * 4 // 5), Image.LANCZOS)
        im.save(dst, optimize=True)


def prediction_figure(out: Path, dst: Path, dpi: int = 72):
    "The held-out scene's RGB and its predicted probability map, reference outlines and predicted polygons"
    import geopandas as gpd, matplotlib, numpy as np, rasterio
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from rts_seg.inference import decode_probability
    report = json.loads((out/'predictions'/'report.json').read_text())
    name, scene = next(iter(report['scenes'].items()))
    with rasterio.open(scene['path']) as r:
        rgb, crs, b = r.read([1, 2, 3]).transpose(1, 2, 0), r.crs, r.bounds
    with rasterio.open(out/'predictions'/f'{name}_prob.tif') as r: prob = decode_probability(r.read(1))
    extent = (b.left, b.right, b.bottom, b.top)
    ref = gpd.read_file(Path(scene['path']).parents[1]/'labels.gpkg').to_crs(crs)
    pred = gpd.read_file(out/'predictions'/f'{name}_rts.gpkg').to_crs(crs)
    fig, axs = plt.subplots(1, 2, figsize=(10, 5.2), dpi=dpi, sharex=True, sharey=True)
    for ax in axs: ax.imshow(rgb, extent=extent)
    ref.boundary.plot(ax=axs[0], color='yellow', lw=1)
    axs[0].set_title(f'held-out scene {name}:\nRGB, reference RTS (yellow)', fontsize=10)
    shown = np.ma.masked_where(~(prob >= 0.05), prob)
    im = axs[1].imshow(shown, extent=extent, cmap='magma', vmin=0, vmax=1, alpha=0.75)
    ref.boundary.plot(ax=axs[1], color='yellow', lw=1)
    pred.boundary.plot(ax=axs[1], color='cyan', lw=1)
    at = f" at {report['map_prevalence']}" if report.get('map_prevalence') else ''
    shaky = '' if report.get('established') is not False else ', NOT established'
    axs[1].set_title(f"P(RTS{at}) ≥ 0.05;\npolygons at threshold {report['threshold']:.3g}{shaky} (cyan)", fontsize=10)
    for ax in axs: ax.set_axis_off()
    fig.colorbar(im, ax=axs, fraction=0.025, pad=0.03, label='calibrated P(RTS)' + at)
    fig.savefig(dst, bbox_inches='tight', dpi=dpi)
    plt.close(fig)


def figures_info(out: Path) -> dict:
    "Provenance and figures of the demo run under `out`"
    import pandas as pd, rts_seg
    run = out/'runs'/'demo'
    t = pd.read_csv(run/'calibration'/'thresholds.csv')
    m = json.loads((run/'test_report'/'metrics.json').read_text())
    rep = json.loads((out/'predictions'/'report.json').read_text())   # the held-out scene's map: its threshold on the map's probabilities
    iv = lambda r, k: {'value': float(r[k]), 'lo': float(r[f'{k}_lo']), 'hi': float(r[f'{k}_hi'])}
    rows = [dict(ratio=r['ratio'], threshold=float(r['threshold']), established=bool(r['established']), found=int(r['found']),
                 estimated=bool(r['estimated']), precision=iv(r, 'precision'), recall=iv(r, 'recall'),
                 **{k: iv(r, k) for k in ('object_precision', 'object_recall', 'pixel_precision', 'pixel_recall')})
            for r in t.to_dict('records')]
    return {'made': m['evaluated_at'][:10], 'rts_seg': rts_seg.__version__, 'commit': _run_commit(out, m['run_id']),
            'demo_config_sha256': demo_config_sha256(), 'torch_threads': _threads(out),
            'command': 'rts-seg demo --out DIR; python tools/make_figures.py DIR',
            'operating_metric': str(t.operating_metric.iloc[0]), 'target_precision': float(t.target_precision.iloc[0]),
            'object_iou': float(t.object_iou.iloc[0]), 'temperature': float(m['temperature']), 'thresholds': rows,
            'map': {k: rep.get(k) for k in ('ratio', 'threshold', 'validation_threshold', 'prior_shift', 'map_prevalence', 'established')},
            'test': {'ratio': m['ratio'], 'threshold': m['threshold'], 'estimated': m['estimated'],
                     'established_on_validation': m.get('established_on_validation'),
                     'figures': {k: m['figures'][k] for k in ['object_precision', 'object_recall', 'object_recall_iou50', 'pixel_precision',
                                                              'pixel_recall', 'iou_rts', 'pr_auc']}}}


def _threads(out: Path) -> int | None:
    "The torch CPU threads the demo's training ran with (its MLflow tag), if recorded"
    try:
        from mlflow.tracking import MlflowClient
        c = MlflowClient(f"sqlite:///{(out/'mlflow.db').absolute()}")
        run = c.search_runs([e.experiment_id for e in c.search_experiments()], max_results=1)[0]
        v = run.data.tags.get('rts_seg.torch_threads')
        return int(v) if v else None
    except Exception: return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Make the README's pictures and demo table from a `rts-seg demo` output folder")
    ap.add_argument('out', help='the folder `rts-seg demo --out` wrote')
    a = ap.parse_args(argv)
    out = Path(a.out)
    if not (out/'predictions'/'report.json').exists(): sys.exit(f'{out}: no finished demo there; run `rts-seg demo --out {out}` first')
    IMAGES.mkdir(parents=True, exist_ok=True)
    _small_png(out/'runs'/'demo'/'calibration'/'pr_curves.png', IMAGES/'demo_pr_curves.png')
    prediction_figure(out, IMAGES/'demo_prediction.png')
    info = figures_info(out)
    (IMAGES/'demo_figures.json').write_text(json.dumps(info, indent=1) + '\n')
    for p in ['demo_pr_curves.png', 'demo_prediction.png']:
        size = (IMAGES/p).stat().st_size
        print(f'nbs/images/{p}: {size/1000:.0f} KB')
        if size > MAX_BYTES: sys.exit(f'nbs/images/{p} is {size} bytes, over {MAX_BYTES}')
    print('\nthe table for nbs/index.ipynb:\n')
    print(demo_table(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
