"""Full-scene inference throughput of `rts_seg.inference.predict_scene`: windows/s, MB/s, km²/s and peak memory.

Writes a synthetic RGB scene of --size px (3 m pixels; a 1024-px synthetic scene tiled, under bench/_out/inference),
then predicts it end to end in a fresh process (read in row bands, normalise, model, blend, write the COG probability
map and mask, vectorise, write GeoPackage and GeoJSON) and reports:
  windows/s     windows predicted per second (windows with no valid pixel are skipped and not counted)
  MB/s          input pixels (3 uint8 bands) per second; km²/s the scene area per second
  model only    windows/s of the model alone on random batches (no I/O, no blending): the ceiling for the pipeline
  peak RSS      the predicting process's high-water mark (and, as 'start', after imports and model): it should
                not grow with the scene's height
  warm-up s     before timing, the model is run once on a full and once on a partial batch, as predict_scene will call
                it (with --compile: the compilation, which predict_scene's padding of partial batches makes the only one;
                'graphs' counts the graphs compiled during the timed run, which should be 0)
and, from km²/s, the hours for a pan-arctic run: 10 million km² of permafrost region at 3 m, at the end-to-end km²/s of
the scene (compilation excluded; every scale and skipped window included, as a real run would have them).
Modes (--modes; each a line of a second table, same scene, same model):
  plain        one scale, no susceptibility filter (the line of the first table)
  multiscale   scales (1, 0.5): the scene also predicted on the 2x coarser grid, the two maps averaged
  two-stage    a susceptibility map in EPSG:4326 (cells of 0.05 x 0.02 degrees, 30 % of them 1, the rest 0, at random),
               resampled onto the scene; windows whose highest susceptibility is below 0.5 are skipped
  For each: windows (all scales), windows skipped (no valid pixel, or low susceptibility), those skipped for low
  susceptibility, seconds and km2/s, and the time relative to plain.
Models: conv (a fixed 1×1 convolution, sparse output: the pipeline's own cost), unet-r18 (smp UNet, ResNet-18, random weights),
baseline (UNet++ / EfficientNet-B7, the guide's baseline, random weights; meant for a GPU, with --compile to try
torch.compile, which predict_scene applies in place). --precision is the config's mixed_precision (auto: bf16 on a GPU
that has it, else fp16; float32 on the CPU); channels-last on a GPU.
Usage: python bench/inference_throughput.py [--size 4096] [--window 512] [--overlap 64] [--batch 8]
                                            [--model conv|unet-r18|baseline] [--device cpu|cuda] [--tta none|flips|dihedral]
                                            [--precision auto|bf16|fp16|none] [--compile] [--modes plain multiscale two-stage]
A worker that fails (bad option, out of memory, crash) ends the benchmark with its traceback or exit code, never a hang.
Importable without MLflow (nothing here imports the learner).
"""
import argparse, json, multiprocessing as mp, queue, resource, sys, time, traceback
from pathlib import Path

PAN_ARCTIC_KM2 = 10e6   # permafrost region mapped, km²
PIXEL_M = 3.0
MODELS, MODES = ('conv', 'unet-r18', 'baseline'), ('plain', 'multiscale', 'two-stage')
TTAS, PRECISIONS = ('none', 'flips', 'dihedral'), ('auto', 'bf16', 'fp16', 'none')
WORKER_TIMEOUT_S = 6 * 3600   # a worker silent this long is stopped

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

def write_susceptibility(out: Path, scene: Path, seed: int = 0) -> Path:
    "A susceptibility map in EPSG:4326 over `scene`: cells of 0.05° x 0.02°, 1 on 30 % of them at random, else 0"
    import numpy as np, rasterio
    from rasterio.transform import Affine
    from rasterio.warp import transform_bounds
    f = out/f'susceptibility_{scene.stem}.tif'
    with rasterio.open(scene) as d: w, s, e, n = transform_bounds(d.crs, 'EPSG:4326', *d.bounds)
    dx, dy = 0.05, 0.02
    nx, ny = int((e - w) / dx) + 3, int((n - s) / dy) + 3
    cells = (np.random.default_rng(seed).random((ny, nx)) < 0.3).astype('float32')
    with rasterio.open(f, 'w', driver='GTiff', width=nx, height=ny, count=1, dtype='float32', crs='EPSG:4326',
                       transform=Affine(dx, 0, w - dx, 0, -dy, n + dy)) as dst: dst.write(cells, 1)
    return f

def mode_options(mode: str, scene: Path, out: Path) -> dict:
    "`predict_scene` options of a benchmarked mode"
    match mode:
        case 'plain': return {}
        case 'multiscale': return dict(scales=(1.0, 0.5))
        case 'two-stage': return dict(susceptibility=str(write_susceptibility(out, scene)), susceptibility_cutoff=0.5)
    raise ValueError(f"unknown mode {mode!r}: plain, multiscale or two-stage")

def warm_up(model, size: int, batch: int, device, tta: str, precision: str = 'auto', compile: bool = False) -> float:
    "Seconds to run `model` as `predict_scene` will (same predictor settings) on a full and a partial batch: the compilation, with `compile`"
    import numpy as np, torch
    from rts_seg.inference import WindowPredictor
    pred = WindowPredictor(model, tta=tta, device=device, precision=precision, compile=compile, batch_size=batch)
    x = np.random.default_rng(1).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    t = time.perf_counter()
    for n in dict.fromkeys([batch, max(batch - 1, 1)]): pred(x[:n])
    if pred.device.type == 'cuda': torch.cuda.synchronize()
    return time.perf_counter() - t

def compiled_graphs() -> int:
    "Graphs torch.compile has compiled in this process so far"
    from torch._dynamo.utils import counters
    return int(counters['stats']['unique_graphs'])

def model_only(model, size: int, batch: int, device, tta: str, precision: str = 'auto', n: int = 5) -> float:
    "Windows/s of the model alone (as `predict_scene` calls it) on random normalised windows"
    import numpy as np, torch
    from rts_seg.inference import WindowPredictor
    pred = WindowPredictor(model, tta=tta, device=device, precision=precision, batch_size=batch)
    x = np.random.default_rng(0).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    pred(x)  # warm-up (and compilation)
    if pred.device.type == 'cuda': torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n): pred(x)
    if pred.device.type == 'cuda': torch.cuda.synchronize()
    return n * batch / (time.perf_counter() - t)

def _worker(args: dict, q):
    "Predict the scene in this (fresh) process; put the summary and the peak RSS on `q`, or dict(error=traceback)"
    try: q.put(_measure(args))
    except BaseException: q.put(dict(error=traceback.format_exc()))

def _measure(args: dict) -> dict:
    "The worker's measurements: warm-up (compilation) first, then `predict_scene` timed"
    import torch
    from rts_seg.inference import predict_scene, inference_device, inference_precision
    model = make_model(args['model'])
    device = inference_device(args['device'])
    inference_precision(args['precision'], device)   # resolving the precision imports the learner: not part of the timing
    kw = dict(size=args['window'], overlap=args['overlap'], batch_size=args['batch'], device=device, tta=args['tta'],
              precision=args['precision'], compile=args['compile'])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    warm = warm_up(model, args['window'], args['batch'], device, args['tta'], args['precision'], args['compile'])  # compiles in place
    g0 = compiled_graphs()
    r = predict_scene(model, args['scene'], args['out'], stats=args['stats'], **kw, **args['options'])
    r['warmup_s'], r['graphs_during_run'] = warm, compiled_graphs() - g0
    if args['model_only']:
        r['model_only_windows_per_s'] = model_only(model, args['window'], args['batch'], device, args['tta'], args['precision'])
    r['rss_before_mb'], r['peak_rss_mb'] = rss0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r['device'] = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'cpu ({torch.get_num_threads()} threads)'
    return r

def _result(p, q, timeout_s: float = WORKER_TIMEOUT_S, poll_s: float = 5.) -> dict:
    "The worker `p`'s result from `q`; `RuntimeError` with its traceback if it failed, its exit code if it died, or after `timeout_s` of silence"
    t0 = time.monotonic()
    while True:
        try: r = q.get(timeout=poll_s); break
        except queue.Empty:
            if not p.is_alive():
                try: r = q.get(timeout=1); break   # put just before it exited
                except queue.Empty: raise RuntimeError(f"the benchmark worker died with exit code {p.exitcode} (killed for memory?)") from None
            if time.monotonic() - t0 > timeout_s:
                p.kill(); raise RuntimeError(f"the benchmark worker gave no result in {timeout_s:.0f} s: stopped")
    p.join()
    if 'error' in r: raise RuntimeError(f"the benchmark worker failed:\n{r['error']}")
    return r

def run(scene: Path, stats: dict, out: Path, model='conv', window=512, overlap=64, batch=8, device=None, tta='none',
        compile=False, precision='auto', options: dict | None = None, with_model_only: bool = True) -> dict:
    "`predict_scene` on `scene` (with `options`) in a fresh process: its summary plus throughput figures"
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    p = ctx.Process(target=_worker, args=(dict(scene=str(scene), stats=stats, out=str(out), model=model, window=window,
                                                overlap=overlap, batch=batch, device=device, tta=tta, compile=compile,
                                                precision=precision, options=options or {}, model_only=with_model_only), q))
    p.start()
    r = _result(p, q)
    h, w = r['shape']
    r['MB_per_s'] = h * w * 3 / 1e6 / r['seconds']
    r['km2_per_s'] = h * w * PIXEL_M ** 2 / 1e6 / r['seconds']   # compilation excluded (warm-up); every scale and skipped window in
    r['pan_arctic_hours'] = PAN_ARCTIC_KM2 / r['km2_per_s'] / 3600
    return r

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, nargs='+', default=[2048, 4096], help='scene sizes (px); several show RSS vs size')
    ap.add_argument('--window', type=int, default=512); ap.add_argument('--overlap', type=int, default=64)
    ap.add_argument('--batch', type=int, default=8); ap.add_argument('--model', default='conv', choices=MODELS)
    ap.add_argument('--device', default=None); ap.add_argument('--tta', default='none', choices=TTAS)
    ap.add_argument('--compile', action='store_true'); ap.add_argument('--json', help='also write the figures here')
    ap.add_argument('--precision', default='auto', choices=PRECISIONS, help="the config's mixed_precision")
    ap.add_argument('--modes', nargs='+', default=list(MODES), choices=MODES)
    ap.add_argument('--out', default=str(Path(__file__).parent/'_out'/'inference'))
    a = ap.parse_args(argv)
    out, rows, mode_rows = Path(a.out), [], []
    for size in a.size:
        scene, stats = write_scene(out, size)
        for mode in dict.fromkeys(['plain', *a.modes]):
            r = run(scene, stats, out/'maps', a.model, a.window, a.overlap, a.batch, a.device, a.tta, a.compile, a.precision,
                    mode_options(mode, scene, out), with_model_only=mode == 'plain')
            (rows if mode == 'plain' else mode_rows).append(dict(size=size, mode=mode, **{k: v for k, v in r.items() if k != 'files'}))
    print(f"predict_scene, model {a.model}, window {a.window} px, overlap {a.overlap} px, batch {a.batch}, tta {a.tta}, "
          f"precision {rows[0]['precision']}{', compiled' if rows[0]['compiled'] else ''}, on {rows[0]['device']}")
    print(f"{'scene px':>9}{'windows':>9}{'skipped':>9}{'warm-up s':>10}{'graphs':>7}{'s':>8}{'win/s':>8}{'model win/s':>12}{'MB/s':>7}{'km²/s':>7}"
          f"{'RSS MB':>8}{'(start)':>8}{'pan-arctic h':>13}")
    for r in rows:
        print(f"{r['size']:>9}{r['windows']:>9}{r['windows_skipped']:>9}{r['warmup_s']:>10.1f}{r['graphs_during_run']:>7}{r['seconds']:>8.1f}"
              f"{r['windows_per_s']:>8.1f}{r['model_only_windows_per_s']:>12.1f}{r['MB_per_s']:>7.2f}{r['km2_per_s']:>7.2f}"
              f"{r['peak_rss_mb']:>8.0f}{r['rss_before_mb']:>8.0f}{r['pan_arctic_hours']:>13,.0f}")
    print(f"pan-arctic: {PAN_ARCTIC_KM2:,.0f} km² at {PIXEL_M:g} m, at the end-to-end km²/s above (one device, compilation excluded)")
    if mode_rows:
        plain = {r['size']: r for r in rows}
        print(f"\n{'scene px':>9} {'mode':<11}{'windows':>9}{'skipped':>9}{'low susc.':>10}{'warm-up s':>10}{'s':>8}{'km²/s':>7}"
              f"{'time/plain':>11}{'pan-arctic h':>13}")
        for r in sorted(rows + mode_rows, key=lambda r: r['size']):
            print(f"{r['size']:>9} {r['mode']:<11}{r['windows']:>9}{r['windows_skipped']:>9}{r['windows_low_susceptibility']:>10}"
                  f"{r['warmup_s']:>10.1f}{r['seconds']:>8.1f}{r['km2_per_s']:>7.2f}{r['seconds'] / plain[r['size']]['seconds']:>11.2f}"
                  f"{r['pan_arctic_hours']:>13,.0f}")
    if a.json: Path(a.json).write_text(json.dumps(rows + mode_rows, indent=1, default=str))
    return rows + mode_rows

if __name__ == '__main__': main()
