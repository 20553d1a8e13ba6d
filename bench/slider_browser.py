"""The threshold slider in a real browser (issue 11): `python bench/slider_browser.py`.

Serves `bench/slider_page.ipynb` with Voilà on loopback (a live kernel runs the notebook: a `ThresholdExplorer`
over a synthetic validation pass), opens it in Debian's headless Chromium driven by Playwright, and checks the
widget the way a user meets it:

1. the page shows the slider, the ratio selector, the readout, the PR curve and the gallery;
2. the readout at the start (threshold 0.5) is what `Evaluator` gives at that threshold and ratio, computed here
   from the same pixels, and what the explorer's own `readout` gives;
3. the slider handle is dragged with the mouse, then stepped with the arrow keys, then the ratio is changed: after
   each, the readout is checked again the same way at the threshold the slider now shows, the PR-curve picture is
   checked to be the figure `pr_figure` draws at that threshold (pixel for pixel), its black star marker to sit at
   (recall, precision) of the readout's operating metric and no longer where it was, and the gallery to be redrawn;
4. a screenshot is saved to bench/_out/slider_browser.png.

Exits non-zero on any failure. The browser must be /usr/bin/chromium (`apt-get install chromium`); Playwright is
pointed at it and never downloads one. The module's `synthetic_pass` is also what the notebook imports, so the
page and the references here are built from the same numbers.
"""
from __future__ import annotations
import base64, io, os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request
from pathlib import Path

import numpy as np
from scipy.special import expit, logit

HERE = Path(__file__).resolve().parent
PAGE = HERE / 'slider_page.ipynb'
OUT = HERE / '_out'
CHROMIUM = os.environ.get('RTS_CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
RATIOS = ('1:10', '1:50', '1:200')
MIN_AREA, T_OVER, START = 4, 2., 0.5
DPI = 100          # the notebook sets figure.dpi to this, so the references here draw the same pictures


def synthetic_split(n_pos=8, n_neg=40, size=48, T=T_OVER, seed=0, mu=(-5., 3., 0.), sd=1.):
    """Logits of a model over-confident by `T`, RTS targets, valid masks, calibrated probabilities (bin centres).
    As `synthetic_split` in nbs/12_threshold.ipynb: RTS squares on the positive tiles, look-alike blobs on half the
    negative ones; `mu` the mean calibrated logit of background, RTS and look-alikes"""
    g = np.random.default_rng(seed)
    n = n_pos + n_neg
    z, y = g.normal(mu[0], 1.2, (n, size, size)), np.zeros((n, size, size), bool)
    for i in range(n):
        for _ in range(g.integers(1, 4)):
            r, c, s = *g.integers(0, size - 12, 2), g.integers(4, 12)
            if i < n_pos: y[i, r:r+s, c:c+s] = True; z[i, r:r+s, c:c+s] = g.normal(mu[1], sd, (s, s))
            elif g.random() < 0.5: z[i, r:r+s, c:c+s] = g.normal(mu[2], sd, (s, s))      # a look-alike
    valid = g.random((n, size, size)) > 0.05
    p = (np.floor(expit(z) * 1000) + 0.5) / 1000
    return (T * logit(p)).astype(np.float32), y, valid, p


def synthetic_pass():
    "The page's data: (ValidationPass at T = 2, its thresholds table, the ratios, and the pixels p, y, valid)"
    from rts_seg.threshold import ValidationPass, select_thresholds
    logits, y, valid, p = synthetic_split()
    # pictures for the gallery: grey ground, brighter where the model is confident (RTS and look-alikes), a little texture
    g = np.random.default_rng(1)
    images = (0.35 + 0.3 * p[:, None] + 0.06 * g.random((len(p), 3) + p.shape[1:])).astype(np.float32)
    vp = ValidationPass('val_realistic', temperature=T_OVER, min_area=MIN_AREA)
    vp.update(logits, y, valid, tile_ids=[f'tile_{k:03d}' for k in range(len(p))], images=images)
    table = select_thresholds(vp, RATIOS, n_boot=200)
    return vp, table, RATIOS, (p, y, valid)


# ---------------------------------------------------------------------------------------------------------------
FIELDS = [('pixel_precision', r'pixel precision ([\d.]+|nan)'), ('pixel_recall', r', recall ([\d.]+|nan), IoU'),
          ('iou_rts', r'IoU_RTS ([\d.]+|nan)'), ('f05', r'F0\.5 ([\d.]+|nan)'),
          ('object_precision', r'objects: precision ([\d.]+|nan)'), ('object_recall', r'objects: precision [\d.na]+, recall ([\d.]+|nan)')]
EV_NAMES = dict(pixel_precision='pixel_precision', pixel_recall='pixel_recall', iou_rts='iou_rts', f05='f05',
                object_precision='object_precision', object_recall='object_recall')


class Failed(Exception): pass


def check(ok, what):
    print(('  ok    ' if ok else '  FAIL  ') + what, flush=True)
    if not ok: raise Failed(what)


def parse_readout(text):
    "The readout's threshold, ratio and six figures"
    m = re.search(r'threshold ([\d.]+) at (\d+:\d+)(?: \(estimate\))?:', text)
    if not m: raise Failed(f'readout not understood: {text!r}')
    out = dict(threshold=float(m[1]), ratio=m[2])
    for k, rx in FIELDS:
        f = re.search(rx, text)
        if not f: raise Failed(f'readout has no {k}: {text!r}')
        out[k] = float(f[1])
    return out


def references(data, ex, t, r):
    "The figures at threshold `t` and ratio `r`: from an `Evaluator` fed the pixels, and from the explorer's `readout`"
    from rts_seg.core import ratio_name
    from rts_seg.metrics import Evaluator
    p, y, valid = data
    s = Evaluator(threshold=t, min_area=MIN_AREA).update(p, y, valid).summary(r)
    ev = {k: float(s[f'{e}_{ratio_name(r)}']) for k, e in EV_NAMES.items()}
    return ev, ex.readout(t, r)


def check_readout(text, data, ex, want_t=None, want_r=None):
    "The browser's readout text against the references at the threshold and ratio it names"
    got = parse_readout(text)
    t, r = got['threshold'], got['ratio']
    if want_t is not None: check(abs(t - want_t) < 5e-4, f'readout threshold {t:.3f} is the slider value {want_t:.3f}')
    if want_r is not None: check(r == want_r, f'readout ratio {r} is the selected {want_r}')
    ev, ro = references(data, ex, t, r)
    for k, _ in FIELDS:
        check(f'{ev[k]:.3f}' == f'{got[k]:.3f}' == f'{ro[k]:.3f}',
              f'{k:16s} page {got[k]:.3f} = Evaluator {ev[k]:.3f} = explorer.readout {ro[k]:.3f}  (t {t:.3f}, {r})')
    return got


def png_array(png: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(np.int16)


def reference_pr(ex, t, r):
    """The PR figure the kernel displays at (`t`, `r`) drawn here as IPython's inline backend draws it (PNG, tight
    bbox), and where its star marker lands on that picture (column, row), from the figure's own transforms"""
    from IPython.core.pylabtools import print_figure
    fig = ex.pr_figure(t, r)
    png = print_figure(fig, 'png', bbox_inches='tight')
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)                                      # the layout of the saved picture, at the same dpi
    bb = fig.get_tightbbox(renderer).padded(rcParams['savefig.pad_inches'])
    ro = ex.readout(t, r)
    x, yy = fig.axes[0].transData.transform((ro['recall'], ro['precision']))   # the operating metric's point
    return png, (x - bb.x0 * fig.dpi, bb.y1 * fig.dpi - yy)


def dark_at(a, xy, half=1):
    "Share of near-black pixels in a (2·half+1)² window at (column, row) `xy` of picture `a`"
    c, r = int(round(xy[0])), int(round(xy[1]))
    w = a[max(r - half, 0):r + half + 1, max(c - half, 0):c + half + 1]
    return float((w.max(-1) < 60).mean()) if w.size else 0.


# ---------------------------------------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def start_voila(port, log):
    cmd = [sys.executable, '-m', 'voila', str(PAGE), '--no-browser', f'--port={port}', '--Voila.ip=127.0.0.1']
    env = dict(os.environ, MPLBACKEND='module://matplotlib_inline.backend_inline', PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get('PYTHONPATH')])))
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=HERE, env=env, start_new_session=True)


def wait_http(url, proc, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise Failed(f'voila exited with code {proc.returncode}')
        try:
            with urllib.request.urlopen(url + 'api/kernelspecs', timeout=2): return time.time() - t0
        except urllib.error.HTTPError: return time.time() - t0        # an answer (403/404): the server is up
        except OSError: time.sleep(0.3)
    raise Failed(f'voila did not answer on {url} in {timeout} s')


def main() -> int:
    t_all = time.time()
    OUT.mkdir(exist_ok=True)
    if not Path(CHROMIUM).exists():
        print(f'FAIL: {CHROMIUM} not found: install Debian\'s chromium (apt-get install -y chromium)', file=sys.stderr)
        return 1
    try:
        from playwright.sync_api import sync_playwright
        import voila  # noqa: F401
    except ImportError as e:
        print(f'FAIL: {e}: pip install -e ".[dev]" brings playwright and voila', file=sys.stderr); return 1
    from rts_seg.threshold import ThresholdExplorer
    import matplotlib
    matplotlib.rcParams['figure.dpi'] = DPI
    vp, table, ratios, data = synthetic_pass()
    ex = ThresholdExplorer(vp, ratios, table=table)          # the references, in this process
    print(f'synthetic pass: {int(vp.tiles[1])} positive + {int(vp.tiles[0])} negative tiles, '
          f'ratios {", ".join(ratios)}; page {PAGE.relative_to(HERE.parent)}')

    port, tmp = free_port(), tempfile.mkdtemp(prefix='rts_slider_')
    url = f'http://127.0.0.1:{port}/'
    log_path = OUT / 'slider_browser_voila.log'
    log = open(log_path, 'w')
    proc = start_voila(port, log)
    shot = OUT / 'slider_browser.png'
    try:
        t_up = wait_http(url, proc)
        print(f'voila up on {url} in {t_up:.1f} s')
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(str(Path(tmp) / 'profile'), executable_path=CHROMIUM, headless=True,
                                                        args=CHROMIUM_ARGS, viewport=dict(width=1100, height=1100))
            try:
                page = ctx.pages[0] if ctx.pages else ctx.new_page()
                errors = []
                page.on('pageerror', lambda e: errors.append(str(e)))
                t0 = time.time()
                page.goto(url, timeout=60_000)
                readout = page.locator('.widget-html-content', has_text='pixel precision')
                readout.wait_for(timeout=90_000)
                imgs = page.locator('.widget-output img')
                page.wait_for_function("document.querySelectorAll('.widget-output img').length >= 2", timeout=60_000)
                print(f'page rendered in {time.time() - t0:.1f} s (kernel ran the notebook)')
                check(page.locator('.widget-slider .noUi-handle').count() == 1, 'the threshold slider is on the page')
                check(page.locator('.widget-dropdown select').count() == 1, 'the ratio selector is on the page')
                check(imgs.count() == 2, 'two pictures in the outputs: PR curves and gallery')
                text = lambda: readout.inner_text()
                slider_value = lambda: float(page.locator('.widget-slider .widget-readout').inner_text())
                src = lambda i: imgs.nth(i).get_attribute('src')

                def pr_check(state, prev):
                    "The PR picture on the page against the reference at the readout's (t, r); the marker moved"
                    s = src(0)
                    check(s.startswith('data:image/png;base64,'), 'the PR curve is a PNG picture')
                    got = png_array(base64.b64decode(s.split(',', 1)[1]))
                    ref_png, xy = reference_pr(ex, state['threshold'], state['ratio'])
                    ref = png_array(ref_png)
                    same = got.shape == ref.shape and int(np.abs(got - ref).max()) <= 8
                    check(same, f'PR picture {got.shape[1]}x{got.shape[0]} is pr_figure at ({state["threshold"]:.3f}, '
                                f'{state["ratio"]}) drawn here {ref.shape[1]}x{ref.shape[0]}'
                                + (f', max pixel difference {int(np.abs(got - ref).max())}' if got.shape == ref.shape else ''))
                    check(dark_at(ref, xy) > 0.9, 'the reference picture has its star where the transforms put it')
                    d = dark_at(got, xy)
                    check(d > 0.9, f'star marker at the readout\'s operating point ({state["ratio"]})'
                                   f' = pixel ({xy[0]:.0f}, {xy[1]:.0f}): {d:.0%} black')
                    if prev is not None:
                        pxy = prev[1]
                        if np.hypot(xy[0] - pxy[0], xy[1] - pxy[1]) > 20:
                            d0 = dark_at(got, pxy)
                            check(d0 < 0.5, f'and no longer at its old pixel ({pxy[0]:.0f}, {pxy[1]:.0f}): {d0:.0%} black')
                        else:
                            print(f'  note  the marker moved by under 20 px: its old place is not checked')
                        check(s != prev[0], 'the PR picture changed')
                    return s, xy

                print('start:')
                st = check_readout(text(), data, ex, want_t=slider_value(), want_r=ratios[0])
                check(abs(st['threshold'] - START) < 5e-4, f'the slider starts at {START}')
                pr = pr_check(st, None)

                def settle(what, before, timeout=30):
                    """Wait until the page answered `what`: the readout differs from `before` (readout, PR, gallery) and
                    names the slider's value, and readout and pictures have stayed the same for a second (a kernel
                    callback sets the readout, then redraws the PR curve, then the gallery)"""
                    t0, last, since = time.time(), None, time.time()
                    while time.time() - t0 < timeout:
                        now = (text(), src(0), src(1), slider_value())
                        if now != last: last, since = now, time.time()
                        elif (now[0] != before[0] and time.time() - since > 1.0
                              and abs(parse_readout(now[0])['threshold'] - now[3]) < 5e-4): return now
                        time.sleep(0.1)
                    raise Failed(f'the page did not settle after {what} in {timeout} s: readout {last[0]!r}')

                state = lambda: (text(), src(0), src(1), slider_value())

                # 1. drag the handle with the mouse, to about 3/4 of the track
                handle, track = page.locator('.widget-slider .noUi-handle'), page.locator('.widget-slider .noUi-target')
                hb, tb = handle.bounding_box(), track.bounding_box()
                before = state()
                page.mouse.move(hb['x'] + hb['width'] / 2, hb['y'] + hb['height'] / 2)
                page.mouse.down()
                page.mouse.move(tb['x'] + 0.75 * tb['width'], hb['y'] + hb['height'] / 2, steps=12)
                page.mouse.up()
                now = settle('dragging the slider', before)
                v = now[3]
                print(f'slider dragged with the mouse: {START:.3f} -> {v:.3f}')
                check(v > START + 0.1, 'the slider moved right')
                st = check_readout(now[0], data, ex, want_t=v, want_r=ratios[0])
                pr = pr_check(st, pr)
                check(now[2] != before[2], 'the gallery was redrawn')

                # 2. three steps left with the keyboard
                before, v0 = state(), v
                handle.focus()
                for _ in range(3): page.keyboard.press('ArrowLeft')
                now = settle('pressing ArrowLeft 3 times', before)
                v = now[3]
                print(f'slider stepped with the keyboard (3 x ArrowLeft): {v0:.3f} -> {v:.3f}')
                grid = vp.calibrated(vp.thresholds)
                want = float(grid[int(np.abs(grid - v0).argmin()) - 3])
                check(abs(v - want) < 5e-4, f'three steps down the threshold grid: {want:.3f}')
                st = check_readout(now[0], data, ex, want_t=v, want_r=ratios[0])
                pr = pr_check(st, pr)
                check(now[2] != before[2], 'the gallery was redrawn')

                # 3. another prevalence: the same threshold, negative tiles weighted to the last ratio
                before = state()
                page.locator('.widget-dropdown select').select_option(ratios[-1])
                now = settle(f'selecting {ratios[-1]}', before)
                print(f'ratio selected: {ratios[0]} -> {ratios[-1]}')
                st = check_readout(now[0], data, ex, want_t=v, want_r=ratios[-1])
                check('(estimate)' in now[0], 'the readout says the re-weighted figures are an estimate')
                pr = pr_check(st, pr)
                check(now[2] == before[2], 'the gallery, which depends on the threshold only, is the same')

                check(not errors, f'no JavaScript errors on the page{": " + "; ".join(errors) if errors else ""}')
                page.screenshot(path=str(shot), full_page=True)
                print(f'screenshot: {shot} ({shot.stat().st_size // 1024} KiB)')
            except Exception:
                try: page.screenshot(path=str(OUT / 'slider_browser_failed.png'), full_page=True); print(f"screenshot of the failure: {OUT / 'slider_browser_failed.png'}")
                except Exception: pass
                raise
            finally:
                ctx.close()
    except Failed as e:
        print(f'FAIL: {e} (voila log: {log_path})', file=sys.stderr)
        return 1
    finally:
        try: os.killpg(proc.pid, 15); proc.wait(10)
        except Exception: proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'slider browser check passed in {time.time() - t_all:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
