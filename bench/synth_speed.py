"""Seconds per synthetic scene: `make_scene` (median of --n draws) at several sizes, and `write_synthetic` by step.

  make_scene        drawing one scene (terrain, features, look-alikes, clouds) on the 3 m grid
  make_scene bg     the same for a background scene (no RTS)
  write_synthetic   whole scenes written: image GeoTIFF, aux GeoTIFF (10 m), labels; split by step
With --ref REV the same `make_scene` timings for rts_seg/synthetic.py as committed at REV (e.g. the commit before a
change), imported from `git show`, so before/after come from one run on one machine.
Usage: python bench/synth_speed.py [--sizes 1024 2048] [--n 5] [--ref a8b1ccf]
"""
import argparse, importlib.util, subprocess, sys, tempfile, time, types
from pathlib import Path
import numpy as np

def load_ref(rev: str) -> types.ModuleType:
    "rts_seg.synthetic as committed at `rev`, imported as a module of its own"
    src = subprocess.run(['git', 'show', f'{rev}:rts_seg/synthetic.py'], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent).stdout
    f = Path(tempfile.mkdtemp())/f'synthetic_{rev}.py'
    f.write_text(src.replace('from .core import', 'from rts_seg.core import'))
    spec = importlib.util.spec_from_file_location(f.stem, f)
    mod = sys.modules[f.stem] = importlib.util.module_from_spec(spec)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod

def per_scene(make, size: int, n: int, **kw) -> float:
    "Median seconds of `make(i, size)` over scenes i = 1..n (after one warm-up draw)"
    make(0, size, **kw)
    ts = []
    for i in range(1, n + 1):
        t = time.perf_counter(); make(i, size, **kw); ts.append(time.perf_counter() - t)
    return float(np.median(ts))

def write_steps(S, size: int, n: int) -> dict:
    "Seconds per scene of each step of `write_synthetic` for `n` scenes of `size` px"
    steps = {k: 0. for k in ('make_scene', 'write_image', 'write_aux', 'scene_labels')}
    orig = {k: getattr(S, k) for k in steps}
    def timed(k):
        def f(*a, **kw):
            t = time.perf_counter(); r = orig[k](*a, **kw); steps[k] += time.perf_counter() - t; return r
        return f
    for k in steps: setattr(S, k, timed(k))
    try:
        t = time.perf_counter()
        S.write_synthetic(Path(tempfile.mkdtemp())/'s', scenes=n, size=size)
        total = time.perf_counter() - t
    finally:
        for k, f in orig.items(): setattr(S, k, f)
    return {k: v / n for k, v in steps.items()} | dict(total=total / n)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', type=int, nargs='+', default=[1024, 2048]); ap.add_argument('--n', type=int, default=5)
    ap.add_argument('--ref', default=None, help='a git revision to compare with')
    a = ap.parse_args()
    import rts_seg.synthetic as S
    for size in a.sizes:
        now = per_scene(S.make_scene, size, a.n)
        bg = per_scene(S.make_scene, size, a.n, background=True)
        line = f"make_scene {size:>5} px: {now:6.3f} s  (background {bg:.3f} s)"
        if a.ref: line += f"   at {a.ref}: {per_scene(load_ref(a.ref).make_scene, size, a.n):6.3f} s"
        print(line, flush=True)
    for size in a.sizes:
        st = write_steps(S, size, a.n)
        print(f"write_synthetic {size:>5} px, per scene: " + ', '.join(f"{k} {v:.3f} s" for k, v in st.items()), flush=True)

if __name__ == '__main__': main()
