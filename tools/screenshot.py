"""PNG screenshots of an HTML report (comparison.html, scenario.html) for the docs.

No browser is needed: WeasyPrint lays the page out (it ignores scripts; the figures are
embedded images) with the CJK font that simlib ships through mplfonts, and pypdfium2
rasterises the pages.  Install the extras first: ``.venv/bin/pip install -e '.[docs]'``.

    .venv/bin/python tools/screenshot.py outputs/cmp/comparison.html docs/img/comparison_zh \
        [--pages 3] [--width 1100] [--dpi 110]

writes ``docs/img/comparison_zh-1.png`` ... one file per page.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

from simlib.fonts import font_file

CJK_FAMILY = "Noto Sans CJK SC"

FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{folder}</dir><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<cachedir>{cache}</cachedir></fontconfig>
"""
PAGE_CSS = """
@page {{ size: {width}px {height}px; margin: 24px; }}
body, table, td, th, p, h1, h2, h3, h4, li, div, span, code {{
    font-family: "{family}", sans-serif !important;
}}
img {{ max-width: 100%; }}
.jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt, .prompt {{ display: none !important; }}
"""


def use_shipped_fonts(work: Path) -> None:
    """Point fontconfig at the folder of the font simlib ships (before WeasyPrint loads)."""
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "fonts.conf"
    conf.write_text(FONTS_CONF.format(folder=font_file().parent, cache=work), encoding="utf-8")
    os.environ["FONTCONFIG_FILE"] = str(conf)


def screenshot(html: Path, stem: Path, pages: int, width: int, dpi: int) -> list[Path]:
    use_shipped_fonts(Path(tempfile.gettempdir()) / "simlib-screenshot-fonts")
    from pypdfium2 import PdfDocument
    from weasyprint import CSS, HTML

    css = CSS(string=PAGE_CSS.format(width=width, height=int(width * 1.35), family=CJK_FAMILY))
    pdf = HTML(filename=str(html)).write_pdf(stylesheets=[css])
    document = PdfDocument(io.BytesIO(pdf))
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(min(pages, len(document))):
        image = document[i].render(scale=dpi / 72).to_pil()
        path = stem.with_name(f"{stem.name}-{i + 1}.png")
        image.save(path, optimize=True)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("stem", type=Path, help="output path without -N.png")
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--dpi", type=int, default=100)
    args = parser.parse_args()
    for path in screenshot(args.html, args.stem, args.pages, args.width, args.dpi):
        print(path)


if __name__ == "__main__":
    main()
