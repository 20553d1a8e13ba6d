"""Full-scene inference throughput of `rts_seg.inference.predict_scene`: windows/s, MB/s, km²/s and peak memory.

Writes a synthetic RGB scene of --size px (3 m pixels; a 1024-px synthetic scene tiled, under bench/_out/inference),
then predicts it end to end in a fresh process (read in row bands, normalise, model, blend, write the COG probability
map and mask, vectorise, write GeoPackage and GeoJSON) and reports:
  windows/s     windows predicted per second (windows with no valid pixel are skipped and not counted)
  MB/s          input pixels (3 uint8 bands) per second; km²/s the scene area per second
  model only    windows/s of the model alone on random batches (no I/O, no blending): the ceiling for the pipeline
  peak RSS      the predicting process's high-water mark (and, as 'start', after imports and model): it should
                not grow with the scene's height
and, from windows/s, the hours for a pan-arctic run: 10 million km² of permafrost region at 3 m, windows of --window
px stepping by (--window - --overlap) px.
Models: conv (a fixed 1×1 convolution, sparse output: the pipeline's own cost), unet-r18 (smp UNet, ResNet-18, random weights),
baseline (UNet++ / EfficientNet-B7, the guide's baseline, random weights; meant for a GPU, with --compile to try
torch.compile). On a GPU the model runs in bf16 autocast with channels-last tensors.
Usage: python bench/inference_throughput.py [--size 4096] [--window 512] [--overlap 64] [--batch 8]
                                            [--model conv|unet-r18|baseline] [--device cpu|cuda] [--tta none|flips|dihedral]
Importable without MLflow (nothing here imports the learner).
"""
import argparse, json, multiprocessing as mp, resource, sys, time
from pathlib import Path

PAN_ARCTIC_KM2 = 10e6   # permafrost region mapped, km²
PIXEL_M = 3.0

def torch_seed(seed: int = 0):
    import torch
    torch.manual_seed(seed)

def make_model(name: str, c_in: int = 3):
    "The benchmarked model, random weights"
    import torch.nn as nn
    from rts_seg.models import smp_model
    match name:
        case 'conv':  # fixed weights: bright pixels (clouds) only, a sparse map like a trained model's
            import torch
            conv = nn.Conv2d(c_in, 1, 1)
            with torch.no_grad(): conv.weight.fill_(2. / c_in); conv.bias.fill_(-6.)
            return conv
        case 'unet-r18': torch_seed(); return smp_model('unet', 'resnet18', c_in)
        case 'baseline': torch_seed(); return smp_model('unet++', 'efficientnet-b7', c_in)
    raise ValueError(f"unknown model {name!r}: conv, unet-r18 or baseline")

def write_scene(out: Path, size: int) -> tuple[Path, dict]:
    "A synthetic RGB scene of `size`² px (a 1024-px scene tiled) and its band statistics"
    import numpy as np
    from rts_seg.synthetic import make_scene, write_image
    f = out/f'bench_{size}.tif'
    sc = make_scene(0, 1024, seed=7, nodata=True)
    v = sc.rgb[:, sc.valid].astype(np.float64)
    stats = dict(bands=['red', 'green', 'blue'], mean=v.mean(1).tolist(), std=v.std(1).tolist())
    if not f.exists():
        out.mkdir(parents=True, exist_ok=True)
        reps = -(-size // 1024)
        write_image(f, np.tile(sc.rgb, (1, reps, reps))[:, :size, :size], sc.transform, sc.crs)
    return f, stats

def model_only(model, size: int, batch: int, device, tta: str, n: int = 5) -> float:
    "Windows/s of the model alone (as `predict_scene` calls it) on random normalised windows"
    import numpy as np, torch
    from rts_seg.inference import WindowPredictor
    pred = WindowPredictor(model, tta=tta, device=device)
    x = np.random.default_rng(0).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    pred(x)  # warm-up (and compilation)
    if pred.device.type == 'cuda': torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n): pred(x)
    if pred.device.type == 'cuda': torch.cuda.synchronize()
    return n * batch / (time.perf_counter() - t)

def _worker(args: dict, q):
    "Predict the scene in this (fresh) process; report the summary and the peak RSS"
    import torch
    from rts_seg.inference import predict_scene, inference_device
    model = make_model(args['model'])
    device = inference_device(args['device'])
    if args['compile'] and device.type == 'cuda': model = torch.compile(model)
    kw = dict(size=args['window'], overlap=args['overlap'], batch_size=args['batch'], device=device, tta=args['tta'])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r = predict_scene(model, args['scene'], args['out'], stats=args['stats'], **kw)
    r['model_only_windows_per_s'] = model_only(model, args['window'], args['batch'], device, args['tta'])
    r['rss_before_mb'], r['peak_rss_mb'] = rss0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r['device'] = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'cpu ({torch.get_num_threads()} threads)'
    q.put(r)

def run(scene: Path, stats: dict, out: Path, model='conv', window=512, overlap=64, batch=8, device=None, tta='none',
        compile=False) -> dict:
    "`predict_scene` on `scene` in a fresh process: its summary plus throughput figures"
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    p = ctx.Process(target=_worker, args=(dict(scene=str(scene), stats=stats, out=str(out), model=model, window=window,
                                                overlap=overlap, batch=batch, device=device, tta=tta, compile=compile), q))
    p.start(); r = q.get(); p.join()
    h, w = r['shape']
    done = r['windows'] - r['windows_skipped']
    r['MB_per_s'] = h * w * 3 / 1e6 / r['seconds']
    r['km2_per_s'] = h * w * PIXEL_M ** 2 / 1e6 / r['seconds']
    step_km = (window - overlap) * PIXEL_M / 1000
    r['pan_arctic_windows'] = PAN_ARCTIC_KM2 / step_km ** 2
    r['pan_arctic_hours'] = r['pan_arctic_windows'] / (done / r['seconds']) / 3600
    return r

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, nargs='+', default=[2048, 4096], help='scene sizes (px); several show RSS vs size')
    ap.add_argument('--window', type=int, default=512); ap.add_argument('--overlap', type=int, default=64)
    ap.add_argument('--batch', type=int, default=8); ap.add_argument('--model', default='conv')
    ap.add_argument('--device', default=None); ap.add_argument('--tta', default='none')
    ap.add_argument('--compile', action='store_true'); ap.add_argument('--json', help='also write the figures here')
    ap.add_argument('--out', default=str(Path(__file__).parent/'_out'/'inference'))
    a = ap.parse_args(argv)
    out, rows = Path(a.out), []
    for size in a.size:
        scene, stats = write_scene(out, size)
        r = run(scene, stats, out/'maps', a.model, a.window, a.overlap, a.batch, a.device, a.tta, a.compile)
        rows.append(dict(size=size, **{k: v for k, v in r.items() if k != 'files'}))
    print(f"predict_scene, model {a.model}, window {a.window} px, overlap {a.overlap} px, batch {a.batch}, tta {a.tta}, "
          f"on {rows[0]['device']}")
    print(f"{'scene px':>9}{'windows':>9}{'skipped':>9}{'s':>8}{'win/s':>8}{'model win/s':>12}{'MB/s':>7}{'km²/s':>7}"
          f"{'RSS MB':>8}{'(start)':>8}{'pan-arctic h':>13}")
    for r in rows:
        print(f"{r['size']:>9}{r['windows']:>9}{r['windows_skipped']:>9}{r['seconds']:>8.1f}{r['windows_per_s']:>8.1f}"
              f"{r['model_only_windows_per_s']:>12.1f}{r['MB_per_s']:>7.2f}{r['km2_per_s']:>7.2f}{r['peak_rss_mb']:>8.0f}{r['rss_before_mb']:>8.0f}"
              f"{r['pan_arctic_hours']:>13,.0f}")
    print(f"pan-arctic: {PAN_ARCTIC_KM2:,.0f} km² at {PIXEL_M:g} m = {rows[0]['pan_arctic_windows']:,.0f} windows of "
          f"{a.window} px stepping {a.window - a.overlap} px, at the end-to-end windows/s above (one device)")
    if a.json: Path(a.json).write_text(json.dumps(rows, indent=1, default=str))
    return rows

if __name__ == '__main__': main()
