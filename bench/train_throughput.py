"""Training throughput of the baseline: images/s at 512², fp32 vs bf16 + channels-last, `rts_learner` (fastai) with
each optimiser (`adamw`: torch's fused AdamW; `adamw_fastai`: fastai's Adam) against a plain PyTorch loop on the same
model, loss and batches (the target: fastai's overhead under 3 %), `compile: true` against eager, the profiler's top
kernels of one training step, peak GPU memory per batch size with the batch `max_that_fits` picks, and the augmenting
DataLoader's tiles/s with the default workers against the GPU's images/s.

Training data are random tensors already on the device, so those figures are the model's; `--loader` times the real
loader on synthetic tiles (needs rasterio and the geospatial stack; everything else needs only torch, fastai and smp).
Run it on a GPU machine; `--tiny` is the CPU smoke mode CI runs (every path, tiny shapes: not a measurement).
Usage: python bench/train_throughput.py [--arch unet++ --backbone efficientnet-b7 --size 512 --bs 16 --steps 15]
                                        [--precisions fp32 bf16] [--no-loops] [--no-compile] [--no-profile]
                                        [--no-memory] [--loader] [--cudnn-benchmark] [--tf-padding]
       python bench/train_throughput.py --tiny
"""
import argparse, os, time
import torch

def config(args, mode='none', channels_last=False, **kw):
    from rts_seg.core import load_config
    return load_config(architecture=args.arch, backbone=args.backbone, encoder_weights=None, mixed_precision=mode,
                       channels_last=channels_last, **kw)

def make(args, device, channels_last):
    from rts_seg.models import build_model
    torch.manual_seed(0)
    m = build_model(config(args)).to(device)
    return m.to(memory_format=torch.channels_last) if channels_last else m

def batches(args, device, channels_last, n):
    g = torch.Generator(device='cpu').manual_seed(0)
    out = []
    for _ in range(n):
        x = torch.randn(args.bs, 3, args.size, args.size, generator=g).to(device)
        if channels_last: x = x.contiguous(memory_format=torch.channels_last)
        y = (torch.rand(args.bs, 1, args.size, args.size, generator=g) < 0.01).float().to(device)
        out.append((x, y, torch.ones_like(y, dtype=torch.bool)))
    return out

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

def plain_loop(args, device, mode, channels_last):
    "Images/s of a hand-written loop: autocast, focal loss, torch's AdamW (fused where available), GradScaler for fp16"
    from rts_seg.losses import FocalLoss
    model, loss_f = make(args, device, channels_last).train(), FocalLoss()
    try: opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-2, fused=True)
    except (RuntimeError, ValueError): opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-2, foreach=True)
    dt = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(mode)
    scaler = torch.amp.GradScaler(enabled=mode == 'fp16')
    data = batches(args, device, channels_last, args.steps + args.warmup)
    for i, (x, y, v) in enumerate(data):
        if i == args.warmup: sync(device); t = time.perf_counter()
        with torch.autocast(device.type, dtype=dt, enabled=dt is not None):
            loss = loss_f(model(x), y, v)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    sync(device)
    return args.steps * args.bs / (time.perf_counter() - t)

def fastai_learner(args, device, mode, channels_last, data, cbs=(), **cfg_kw):
    "`rts_learner` (with the callbacks training uses) over pre-made batches, without validation or progress bar"
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.callback.core import Callback, CancelValidException
    from fastai.callback.progress import ProgressCallback
    from rts_seg.learner import rts_learner
    class Pre(DataLoader):  # pre-made batches, as in the plain loop
        n_inp = 1
        def __iter__(self): yield from data
        def __len__(self): return len(data)
    class NoValidate(Callback):
        def before_validate(self): raise CancelValidException
    dl = Pre(bs=args.bs); dl.n = len(data) * args.bs
    learn = rts_learner(DataLoaders(dl, dl, device=device), config(args, mode, channels_last, **cfg_kw),
                        make(args, device, channels_last), cbs=[*cbs, NoValidate()])
    learn.remove_cb(ProgressCallback)
    return learn

def fastai_loop(args, device, mode, channels_last, **cfg_kw):
    "Images/s of `rts_learner` over the same batches as the plain loop, after warm-up, and the seconds to the end of the first step (compile happens there)"
    from fastai.callback.core import Callback
    class Timer(Callback):
        def before_fit(self): self.t0 = time.perf_counter()
        def after_batch(self):
            if self.iter == 0: sync(device); self.first = time.perf_counter() - self.t0
        def before_batch(self):
            if self.iter == args.warmup: sync(device); self.t = time.perf_counter()
        def after_epoch(self): sync(device); self.ips = args.steps * args.bs / (time.perf_counter() - self.t)
    timer = Timer()
    learn = fastai_learner(args, device, mode, channels_last, batches(args, device, channels_last, args.steps + args.warmup),
                           cbs=[timer], **cfg_kw)
    with learn.no_logging(): learn.fit(1)
    return timer.ips, timer.first

def eval_rate(args, device, mode, channels_last, compile_model: bool):
    "Inference images/s (autocast, no grad) of the model, eager or compiled, and the time to the first batch"
    from rts_seg.models import compile_model as compiled
    model = make(args, device, channels_last).eval()
    if compile_model: compiled(model, args.compile_mode)
    dt = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(mode)
    data = batches(args, device, channels_last, args.steps + args.warmup)
    t0 = time.perf_counter()
    with torch.no_grad(), torch.autocast(device.type, dtype=dt, enabled=dt is not None):
        for i, (x, _, _) in enumerate(data):
            if i == 1: sync(device); first = time.perf_counter() - t0
            if i == args.warmup: sync(device); t = time.perf_counter()
            model(x)
    sync(device)
    return args.steps * args.bs / (time.perf_counter() - t), first

def profile(args, device, mode, channels_last, top: int = 15):
    "The top kernels (self device time) of three training steps of `rts_learner`, as the profiler's table"
    from torch.profiler import profile as prof, ProfilerActivity
    data = batches(args, device, channels_last, args.warmup + 3)
    feed = data[:args.warmup]
    learn = fastai_learner(args, device, mode, channels_last, feed)
    with learn.no_logging(): learn.fit(1)  # warm-up: cuDNN algorithms, allocator
    feed[:] = data[args.warmup:]           # the loader yields from this list: three fresh steps
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda' else [])
    with prof(activities=acts, record_shapes=True) as p:
        with learn.no_logging(): learn.fit(1)
        sync(device)
    key = 'self_cuda_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    return p.key_averages().table(sort_by=key, row_limit=top, max_name_column_width=60) + '\n' + copy_sources(p, device)

def copy_sources(p, device, top: int = 8) -> str:
    "What the copy kernels are: time under dtype casts (`aten::_to_copy`) against layout copies (`aten::clone`, `contiguous`), and the largest casts by shape"
    key = 'device_time_total' if device.type == 'cuda' else 'cpu_time_total'   # microseconds, the op and what it calls
    ops = sorted((e for e in p.key_averages() if e.key in ('aten::_to_copy', 'aten::clone', 'aten::contiguous', 'aten::copy_', 'aten::cat')),
                 key=lambda e: -getattr(e, key))
    lines = [f"copies ({'device' if device.type == 'cuda' else 'CPU'} time, three steps):"]
    lines += [f"  {e.key:<20}{e.count:>7} calls {getattr(e, key) / 1e3:>9.1f} ms" for e in ops]
    casts = sorted((e for e in p.key_averages(group_by_input_shape=True) if e.key == 'aten::_to_copy'), key=lambda e: -getattr(e, key))
    lines += [f"  cast of {str(e.input_shapes[0] if e.input_shapes else '?'):<28}{e.count:>6} calls {getattr(e, key) / 1e3:>9.1f} ms" for e in casts[:top]]
    return '\n'.join(lines)

def peak_memory(args, device, mode, channels_last):
    "Peak GPU memory (GiB) of one training step at each batch size the finder tries, and the batch it picks"
    from rts_seg.learner import probe_step, largest_fitting, preserved, max_batch_size
    model = make(args, device, channels_last).train()
    step, res = probe_step(model, 3, args.size, mode, channels_last, device), {}
    def measured(bs):
        torch.cuda.reset_peak_memory_stats()
        try: step(bs)
        except torch.OutOfMemoryError: res[bs] = 'OOM'; raise
        res[bs] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    with preserved(model): best = largest_fitting(measured, limit=args.max_bs)
    return dict(sorted(res.items())), best, max_batch_size(model, 3, args.size, mode, channels_last, device, limit=args.max_bs)

def loader_rate(args, device, n_batches: int = 20):
    "Tiles/s of the real augmenting training DataLoader (synthetic tiles) with the default `num_workers` on this machine"
    import tempfile
    from rts_seg.core import load_config
    from rts_seg.data import rts_dataloaders, loader_workers
    out = os.environ.get('RTS_BENCH_DATA') or tempfile.mkdtemp()
    tile = max(args.size, 64)
    cfg = load_config(**{'synth.enabled': True, 'synth.scenes': 3, 'synth.size': max(4 * tile, 1024), 'synth.rts_per_km2': 1.0,
                         'data.images': f'{out}/scenes/images', 'data.labels': f'{out}/scenes/labels.gpkg',
                         'data.aux': f'{out}/scenes/aux', 'data.tiles': f'{out}/tiles{tile}', 'data.tile_size': tile,
                         'data.block_km': 1.0, 'data.buffer_m': 0., 'input_size': [tile, tile], 'train_pos_neg_ratio': '1:3'})
    workers = loader_workers('auto', device)
    dls = rts_dataloaders(cfg, bs=args.bs, device='cpu', num_workers=workers)  # batches stay on the host: the loader alone
    it, n, t = iter(dls.train), 0, None
    for i in range(n_batches + 2):
        try: b = next(it)
        except StopIteration: it = iter(dls.train); b = next(it)
        if i == 1: t = time.perf_counter()  # after the workers started
        elif i > 1: n += len(b[0])
    return n / (time.perf_counter() - t), workers

def compare_compile(args, device, name, mode, channels_last):
    "Print training and inference images/s, eager then compiled, each as soon as it is measured (a lease may end mid-way)"
    import torch._dynamo.utils
    e, first = fastai_loop(args, device, mode, channels_last)
    print(f"training, {name}, eager: {e:.1f} img/s (first step after {first:.1f} s)")
    torch._dynamo.utils.counters.clear()
    c, first = fastai_loop(args, device, mode, channels_last, compile=True, compile_mode=args.compile_mode)
    n = torch._dynamo.utils.counters['stats']['unique_graphs']
    print(f"training, {name}, compile ({args.compile_mode}): {c:.1f} img/s ({c / e:.2f}x eager; first step, the compile, after "
          f"{first:.0f} s; {n} graph{'s' * (n != 1)} compiled)")
    for comp in (False, True):
        r, first = eval_rate(args, device, mode, channels_last, comp)
        print(f"inference, {name}, {'compiled' if comp else 'eager'}: {r:.1f} img/s (first batch after {first:.1f} s)")

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', default='unet++'); ap.add_argument('--backbone', default='efficientnet-b7')
    ap.add_argument('--size', type=int, default=512); ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--steps', type=int, default=15); ap.add_argument('--warmup', type=int, default=4)
    ap.add_argument('--max-bs', type=int, default=256); ap.add_argument('--tiny', action='store_true')
    ap.add_argument('--precisions', nargs='+', choices=['fp32', 'bf16'], default=['fp32', 'bf16'],
                    help='fp32, and bf16 + channels-last (fp16 where the GPU lacks bf16); the CPU runs fp32 only')
    ap.add_argument('--no-loops', action='store_true', help='skip the plain-loop vs rts_learner comparison')
    ap.add_argument('--no-compile', action='store_true'); ap.add_argument('--no-profile', action='store_true')
    ap.add_argument('--no-memory', action='store_true'); ap.add_argument('--loader', action='store_true')
    ap.add_argument('--compile-mode', default='default'); ap.add_argument('--cudnn-benchmark', action='store_true')
    ap.add_argument('--tf-padding', action='store_true', help="EfficientNet's padded copies as smp makes them (not folded into the convolutions)")
    args = ap.parse_args()
    if args.tf_padding:
        import rts_seg.models
        rts_seg.models.fold_same_padding = lambda model: model   # what every model was before fold_same_padding
    if args.tiny: args.arch, args.backbone, args.size, args.bs, args.steps, args.warmup = 'unet', 'resnet18', 64, 2, 4, 2
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if args.cudnn_benchmark: torch.backends.cudnn.benchmark = True
    modes = [('fp32', 'none', False)] if 'fp32' in args.precisions or device.type != 'cuda' else []
    if device.type == 'cuda' and 'bf16' in args.precisions:
        modes.append(('bf16+channels_last', 'bf16' if torch.cuda.is_bf16_supported() else 'fp16', True))
        print(torch.cuda.get_device_name(0), f'torch {torch.__version__}', f'cudnn.benchmark {torch.backends.cudnn.benchmark}')
    else: print('CPU only: fp32. Tiny mode is a smoke test: at 2×64² the fixed per-batch cost of any training loop dominates, '
                'so its "overhead" is not a measurement of the < 3 % target (that needs 512² batches on a GPU)')
    print(f"{args.arch} / {args.backbone}, {args.size}², batch {args.bs}, {args.steps} timed steps after {args.warmup} warm-up"
          + (", EfficientNet's pads not folded" if args.tf_padding else ''))
    if not args.no_loops: print(f"{'precision':<20}{'plain img/s':>12}{'adamw img/s':>13}{'overhead':>10}{'adamw_fastai':>14}{'overhead':>10}")
    for name, mode, cl in modes * (not args.no_loops):
        p = plain_loop(args, device, mode, cl)
        (t, _), (f, _) = fastai_loop(args, device, mode, cl, optimizer='adamw'), fastai_loop(args, device, mode, cl, optimizer='adamw_fastai')
        print(f"{name:<20}{p:>12.1f}{t:>13.1f}{100 * (1 - t / p):>9.1f}%{f:>14.1f}{100 * (1 - f / p):>9.1f}%")
    name, mode, cl = modes[-1]
    if not args.no_compile: compare_compile(args, device, name, mode, cl)
    if not args.no_profile:
        print(f"top kernels of three training steps ({name}, rts_learner):")
        print(profile(args, device, mode, cl))
    if device.type == 'cuda' and not args.no_memory:
        for name, mode, cl in modes:
            res, best, picked = peak_memory(args, device, mode, cl)
            print(f"peak GiB per batch size ({name}): {res}; largest that fits {best}, max_that_fits picks {picked}")
    if args.loader:
        r, nw = loader_rate(args, device)
        print(f"augmenting DataLoader, {args.size}-px tiles, batch {args.bs}: {r:.1f} tiles/s with {nw} workers "
              f"(num_workers: auto on this {device.type} machine with {os.cpu_count()} cores)")

if __name__ == '__main__': main()
