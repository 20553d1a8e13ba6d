"""Run a notebook's test cells with nbdev's test flags on a machine that lacks some of the project's packages: a bare
GPU machine with torch, fastai and smp, where `nbdev-test` itself and the geospatial/MLflow stacks are not installed
(and too big to carry there).

Cells run in order, in one namespace, top-level statement by statement, as `nbdev-test --flags ...` runs them: a cell
flagged with a test flag that was not asked for, or `#| eval: false`, is left out. An import of a package this machine
lacks is skipped and listed; a statement that then fails for that import (a NameError for a name it would have made, or
the missing package imported deeper down) skips the rest of its cell, listed too. Every cell carrying one of the
asked-for flags must run to its end, with no statement skipped: one that fails fails the run, and so does a notebook
with no such cell. Other cells that fail (a subprocess
needing a missing package, say) are listed but decide nothing: they are CPU tests that CI runs with everything
installed, here only the set-up of the flagged cells.
Usage: python bench/notebook_cells.py nbs/10_learner.ipynb [--flags cuda] [--stop-after-last-flagged]
Exit status: 0 when every flagged cell ran to its end.
"""
import argparse, ast, codeop, json, os, sys, time, traceback

def directives(src: str) -> dict:
    "nbdev's `#| key value` lines at the top of a cell, as {key: value}"
    out = {}
    for line in src.splitlines():
        if not line.startswith('#|'): break
        k, _, v = line[2:].strip().partition(' ')
        out[k.rstrip(':')] = v.strip()
    return out

def run_cell(src: str, ns: dict, missing: set, comp: codeop.Compile, strict: bool = False) -> str | None:
    "Run one cell statement by statement; the reason it stopped early, or None when it ran to its end (`strict`: no skipping)"
    for node in ast.parse(src).body:
        code = comp(ast.Module([node], []), '<cell>', 'exec')  # remembers `from __future__` imports, as IPython does
        if strict: exec(code, ns); continue
        try: exec(code, ns)
        except ModuleNotFoundError as e:
            missing.add(e.name.split('.')[0] if e.name else str(e))
            if not isinstance(node, (ast.Import, ast.ImportFrom)): return f"needs {e.name}"
        except NameError as e:
            if missing: return f"{e} (made by a skipped import or cell)"
            raise
    return None

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebook'); ap.add_argument('--flags', nargs='*', default=['cuda'])
    ap.add_argument('--all-flags', default='slow cuda', help="the project's tst_flags")
    ap.add_argument('--stop-after-last-flagged', action='store_true')
    args = ap.parse_args()
    nb, flags, known = json.load(open(args.notebook)), set(args.flags), set(args.all_flags.split())
    cells = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']
    os.chdir(os.path.dirname(os.path.abspath(args.notebook)))  # nbdev-test runs a notebook in its folder
    flagged = [i for i, s in enumerate(cells) if flags & set(directives(s))]
    if not flagged: print(f"{args.notebook}: no cell carries {' '.join(sorted(flags))}"); sys.exit(1)
    last = flagged[-1] if flagged and args.stop_after_last_flagged else len(cells) - 1
    ns, missing, ran, skipped, failed, comp = {'__name__': '__main__'}, set(), [], [], [], codeop.Compile()
    for i, src in enumerate(cells[:last + 1]):
        d = directives(src)
        if (known & set(d)) - flags or d.get('eval') == 'false': continue
        t = time.perf_counter()
        try: why = run_cell(src, ns, missing, comp, strict=i in flagged)
        except BaseException as e:
            failed.append(i); print(f"cell {i}{' [flagged]' if i in flagged else ''}: FAILED\n{src}\n{''.join(traceback.format_exception(e))}", flush=True)
            if isinstance(e, KeyboardInterrupt): raise
            continue
        dt, tag = time.perf_counter() - t, ' [' + ' '.join(sorted(flags & set(d))) + ']' if i in flagged else ''
        if why: skipped.append(i); print(f"cell {i}{tag}: skipped, {why} ({dt:.1f} s)", flush=True)
        else: ran.append(i); print(f"cell {i}{tag}: ok ({dt:.1f} s)", flush=True)
    bad = [i for i in flagged if i <= last and i not in ran]
    print(f"{args.notebook}: {len(ran)} cells ran, {len(skipped)} skipped (missing here: {', '.join(sorted(missing)) or 'nothing'}), "
          f"{len(failed)} failed; cells flagged {' '.join(sorted(flags))}: {[i for i in flagged if i <= last]}, "
          f"{'all ran' if not bad else f'NOT RUN OR FAILED: {bad}'}")
    sys.exit(1 if bad else 0)

if __name__ == '__main__': main()
