"""How long the `rts-seg` command line takes to answer, in fresh processes (best of 3 each).

    python bench/cli_startup.py            # uses the rts-seg next to this Python, else `python -m rts_seg.cli`

A bench, not a test: the figures depend on the machine. The goal (issue 12 §3) is under 1 s for help and for a config
error, which holds as long as the command line imports torch, fastai, mlflow, rasterio… only inside the commands."""
from __future__ import annotations
import argparse, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

def rts_seg_cmd() -> list[str]:
    "The command that runs rts-seg: the console script beside this interpreter, else `python -m rts_seg.cli`"
    exe = Path(sys.executable).parent/'rts-seg'
    return [str(exe)] if exe.exists() else [sys.executable, '-m', 'rts_seg.cli']

def best_time(argv: list[str], n: int = 3, cwd: str | None = None) -> tuple[float, int]:
    "Best wall time in seconds of `n` fresh runs of `argv`, and the exit code of the last run"
    times, rc = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=dict(os.environ, MLFLOW_TRACKING_URI=f'sqlite:///{cwd}/b.db'))
        times.append(time.perf_counter() - t0); rc = r.returncode
    return min(times), rc

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('-n', type=int, default=3, help='runs per command (the best is shown)')
    a = p.parse_args()
    cmd, demo = rts_seg_cmd(), str(REPO/'configs'/'demo.yaml')
    cases = {'python -c pass (interpreter start)': [sys.executable, '-c', 'pass'],
             'rts-seg --help': cmd + ['--help'],
             'rts-seg train --help': cmd + ['train', '--help'],
             'rts-seg train --config demo.yaml max_epochs=0': cmd + ['train', '--config', demo, 'max_epochs=0']}
    tmp = tempfile.mkdtemp()  # run where a stray data/ or mlflow.db would do no harm
    try:
        print(f"{'command':<50} {'best s':>7}  exit  (of {a.n} runs, {os.cpu_count()} CPUs)")
        for name, argv in cases.items():
            t, rc = best_time(argv, a.n, tmp)
            print(f"{name:<50} {t:7.2f}  {rc:4d}")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
