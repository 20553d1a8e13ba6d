"""Write README.md from nbs/index.ipynb without Quarto, and check that it is up to date.

`nbdev-readme` renders the README with Quarto, which is not on every machine (nor on this project's CI). This does
the same job with nbdev's own notebook processors and nbconvert's Markdown exporter:

1. nbdev's docs processors (`nbdev.processors.FilterDefaults`, as `nbdev-docs` and `nbdev-readme` use them): the
   title cell becomes the front matter, `#| hide` / `#| export` cells are dropped, `#| hide_line` lines removed,
   `show_doc` cells executed and shown as their Markdown output, housekeeping magics stripped.
2. The Quarto cell options that are left (what Quarto itself would honour): `include: false` drops a cell,
   `echo: false` drops its code, `output: false` drops its outputs; the `#|` lines are then removed.
3. nbconvert's `MarkdownExporter` writes GitHub-flavoured Markdown; image outputs are extracted to
   `nbs/images/readme/` (committed beside the README), relative links and images in Markdown cells are rewritten
   to be relative to the repository root, and the front matter's title and description open the file.

Not done, on purpose: nbdev's `add_links` (backticked names linked to the docs site): a README on GitHub should not
link to pages that exist only once the site is deployed; pass `--links` to add them as `nbdev-readme` would.

Usage, from anywhere in the repository:

    python tools/make_readme.py           # write README.md (and nbs/images/readme/*.png)
    python tools/make_readme.py --check   # exit 1 with a diff when README.md is stale
"""
from __future__ import annotations

import argparse, difflib, re, sys
from pathlib import Path

README_IMAGES = 'images/readme'  # under nbs/: the README's figures that come from cell outputs
_OMIT_PROCS = {'insert_warning', 'add_fold'}  # Quarto-page furniture, not README content
_CELL_KEYS = {'code': {'cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source'},
              'markdown': {'cell_type', 'id', 'metadata', 'source', 'attachments'}, 'raw': {'cell_type', 'id', 'metadata', 'source', 'attachments'}}
_re_opt = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_re_md_link = re.compile(r'(!?\[[^\]]*\]\()([^)\s]+)((?:\s+"[^"]*")?\))')
_re_html_src = re.compile(r'''(<img\b[^>]*?\bsrc=["'])([^"']+)(["'])''')


def _config(root=None):
    from nbdev.config import get_config
    return get_config(root) if root else get_config()


def _cell_options(src: str) -> tuple[dict, str]:
    "Quarto options (`#| key: value` lines opening a code cell) and the source without them"
    lines, opts = src.splitlines(), {}
    i = 0
    while i < len(lines) and (m := _re_opt.match(lines[i])):
        opts[m.group(1)] = m.group(2).strip('"\'').lower()
        i += 1
    return opts, '\n'.join(lines[i:]).strip('\n')


def _rel_target(target: str, nb_dir: str) -> str:
    "A link target relative to the notebook, made relative to the repository root (absolute ones untouched)"
    if re.match(r'^([a-z][a-z0-9+.-]*:|/|#)', target, flags=re.I) or not nb_dir: return target
    return f'{nb_dir}/{target}'


def _rewrite_links(md: str, nb_dir: str) -> str:
    md = _re_md_link.sub(lambda m: m.group(1) + _rel_target(m.group(2), nb_dir) + m.group(3), md)
    return _re_html_src.sub(lambda m: m.group(1) + _rel_target(m.group(2), nb_dir) + m.group(3), md)


def _procs(links: bool):
    from nbdev.processors import FilterDefaults
    omit = _OMIT_PROCS | (set() if links else {'add_links'})
    return [p for p in FilterDefaults().procs() if getattr(p, '__name__', type(p).__name__) not in omit]


def process_nb(nb_path, links: bool = False):
    "The notebook at `nb_path` after nbdev's docs processors and Quarto's cell options: (front matter, notebook dict)"
    import json
    from fastcore.nbio import read_nb, nb2str
    from nbdev.process import NBProcessor
    nb = read_nb(nb_path)
    NBProcessor(nb=nb, procs=_procs(links), rm_directives='quarto').process()
    fm = dict(getattr(nb, 'frontmatter_', {}) or {})
    d = json.loads(nb2str(nb))
    cells = []
    for c in d['cells']:
        src = ''.join(c.get('source', ''))
        if c['cell_type'] == 'raw' and src.startswith('---'): continue  # the front matter nbdev put back as a cell
        if c['cell_type'] == 'code':
            opts, src = _cell_options(src)
            if opts.get('include') == 'false': continue
            if opts.get('output') == 'false': c['outputs'] = []
            if opts.get('echo') == 'false': c.setdefault('metadata', {})['transient'] = {'remove_source': True}
            if not src.strip() and not c.get('outputs'): continue
        c['source'] = src
        c.get('metadata', {}).pop('execution', None)  # execnb's timings (show_doc cells just run): not nbformat's types
        cells.append({k: v for k, v in c.items() if k in _CELL_KEYS[c['cell_type']]})  # nbdev's working keys (has_sd …) dropped
    d['cells'] = cells
    d['metadata'] = {**d.get('metadata', {}), 'language_info': {'name': 'python'}}
    return fm, d


def render_readme(root=None, links: bool = False) -> tuple[str, dict[str, bytes]]:
    "README.md's text and its extracted figures ({path relative to the root: bytes}), from the config's readme_nb"
    import json, nbformat
    from nbconvert import MarkdownExporter
    from traitlets.config import Config
    cfg = _config(root)
    root, nb_path = cfg.config_path, cfg.nbs_path/cfg.readme_nb
    nb_dir = nb_path.parent.relative_to(root).as_posix()
    from fastcore.xtras import working_directory
    with working_directory(root): fm, d = process_nb(nb_path, links=links)  # nbdev's processors read the config from the cwd
    for c in d['cells']:
        if c['cell_type'] == 'markdown': c['source'] = _rewrite_links(c['source'], nb_dir)
    img_dir = f'{nb_dir}/{README_IMAGES}'
    c = Config()
    c.ExtractOutputPreprocessor.output_filename_template = 'cell-{cell_index}-output-{index}{extension}'
    body, res = MarkdownExporter(config=c).from_notebook_node(
        nbformat.reads(json.dumps(d), as_version=4), resources={'output_files_dir': img_dir, 'unique_key': 'cell'})
    head = [f"# {fm.get('title', cfg.lib_name)}", '']
    if fm.get('description'): head += [f"> {fm['description']}", '']
    head += [f'<!-- WARNING: written from {nb_path.relative_to(root).as_posix()} by tools/make_readme.py: '
             'edit the notebook, then run `python tools/make_readme.py`. -->', '']
    text = '\n'.join(head) + '\n' + body
    text = '\n'.join(l.rstrip() for l in text.splitlines())
    text = re.sub(r'\n{3,}', '\n\n', text).strip() + '\n'
    return text, dict(res.get('outputs', {}))


def _diff(old: str, new: str, name: str) -> str:
    return ''.join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f'{name} (committed)', f'{name} (from the notebook)'))


def make_readme(root=None, check: bool = False, links: bool = False) -> str:
    "Write README.md and its figures; with `check`, write nothing and return what differs ('' when in sync)"
    cfg = _config(root)
    root = cfg.config_path
    text, images = render_readme(root, links=links)
    readme = root/'README.md'
    img_dir = cfg.nbs_path/README_IMAGES
    stale = sorted(p for p in img_dir.glob('*') if p.relative_to(root).as_posix() not in images) if img_dir.exists() else []
    if check:
        report = _diff(readme.read_text() if readme.exists() else '', text, 'README.md')
        for rel, data in sorted(images.items()):
            p = root/rel
            if not p.exists() or p.read_bytes() != data: report += f'figure {rel}: missing or different\n'
        report += ''.join(f'figure {p.relative_to(root).as_posix()}: no longer in the README\n' for p in stale)
        return report
    for p in stale: p.unlink()
    for rel, data in images.items():
        (root/rel).parent.mkdir(parents=True, exist_ok=True)
        if not (root/rel).exists() or (root/rel).read_bytes() != data: (root/rel).write_bytes(data)
    if not readme.exists() or readme.read_text() != text: readme.write_text(text)
    return ''


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description='Write README.md from the readme notebook (nbs/index.ipynb) without Quarto')
    ap.add_argument('--check', action='store_true', help='write nothing; exit 1 and print a diff when README.md is stale')
    ap.add_argument('--links', action='store_true', help="link backticked names to the docs site, as nbdev-readme does")
    ap.add_argument('--root', default=None, help='the project root (default: found from the current folder)')
    a = ap.parse_args(argv)
    if a.root is None:  # run from anywhere: the repository holding this script
        a.root = str(Path(__file__).resolve().parents[1])
    report = make_readme(a.root, check=a.check, links=a.links)
    if report:
        print(report, end='')
        print('README.md is stale: run `python tools/make_readme.py` and commit README.md and nbs/images/readme/',
              file=sys.stderr)
        return 1
    if not a.check: print('README.md written from', _config(a.root).readme_nb)
    return 0


if __name__ == '__main__':
    sys.exit(main())
