"""Chinese in figures: a CJK font shipped by a PyPI package, registered with matplotlib.

Figures in Chinese (``lang="zh"``) need a font with CJK glyphs (中文字体); matplotlib's
own DejaVu Sans has none and draws empty boxes ("Glyph ... missing from font(s)").  The
PyPI package ``mplfonts`` ships Noto Sans CJK SC (思源黑体, SIL Open Font License) as
a plain file, so no system font is needed.  :func:`use_cjk_font` registers that file
with matplotlib by its path (``font_manager.addfont``) and puts the family first among
the sans-serif fonts.  Nothing is downloaded and nothing is written to disk: mplfonts's
own helpers (which copy fonts into matplotlib's folders) are not used, and the package
is not even imported, only located.

Noto Sans CJK SC has Latin letters, digits and the minus sign (U+2212) too, so every
label of a figure is drawn in it; DejaVu Sans stays next in the list.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

FONT_PACKAGE = "mplfonts"
FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"
LATIN_FALLBACK = "DejaVu Sans"


def font_file() -> Path:
    """The path of the CJK font file inside the installed font package."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"Chinese figures need the package {FONT_PACKAGE!r} for its CJK font: "
            "pip install 'mplfonts>=0.0.8,<0.1'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / FONT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"the font package {FONT_PACKAGE!r} has no {FONT_FILE}")
    return path


@cache
def _register() -> str:
    """Add the font file to matplotlib's font list (once); its family name."""
    path = str(font_file())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def use_cjk_font() -> str:
    """Draw figure text with the CJK font from now on; its family name.

    Idempotent: the font is registered once, and the family is put first in
    ``font.sans-serif`` (with DejaVu Sans after it) on every call, so a call after
    ``matplotlib.rcdefaults()`` restores it.
    """
    family = _register()
    others = [f for f in mpl.rcParams["font.sans-serif"] if f not in (family, LATIN_FALLBACK)]
    mpl.rcParams["font.sans-serif"] = [family, LATIN_FALLBACK, *others]
    return family
