"""figures.show: one drawing for the notebook and the run folder's PNG."""

from __future__ import annotations

import base64
import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from simlib import figures


@pytest.fixture
def shown(monkeypatch):
    """What figures.show puts in the notebook: (png, text, width, height) per figure."""
    seen: list[tuple[bytes, str, int, int]] = []
    monkeypatch.setattr(
        figures, "_display_png", lambda png, text, w, h: seen.append((png, text, w, h))
    )
    yield seen
    plt.close("all")


def a_figure(size=(7, 3.8)):
    fig, ax = plt.subplots(figsize=size)
    ax.plot([2016, 2020, 2030], [1.0, 3.0, 2.0])
    ax.set_title("caseload")
    fig.tight_layout()
    return fig


def test_show_saves_the_png_it_shows(tmp_path, shown):
    fig = a_figure()
    assert figures.show(fig, tmp_path, "caseload") is None  # a cell ending with it shows nothing
    saved = (tmp_path / "caseload.png").read_bytes()
    assert [s[0] for s in shown] == [saved]
    # 7 × 3.8 inches at SAVE_DPI 120 -> 840 × 456 pixels in the file,
    # shown as matplotlib's inline display sizes it: 7 × 3.8 inches at the figure's 100 dpi
    assert Image.open(io.BytesIO(saved)).size == (840, 456)
    assert fig.dpi == mpl.rcParams["figure.dpi"] == 100
    assert shown[0][1:] == ("<Figure size 700x380 with 1 Axes>", 700, 380)
    assert not plt.fignum_exists(fig.number)  # closed: the inline backend does not draw it again
    assert [p.name for p in tmp_path.iterdir()] == ["caseload.png"]  # no temporary file left


def test_show_draws_what_save_draws(tmp_path, shown):
    figures.save(a_figure(), tmp_path, "by_save")
    figures.show(a_figure(), tmp_path, "by_show")
    pixels = [
        np.asarray(Image.open(tmp_path / f"{n}.png").convert("RGBA"))
        for n in ("by_save", "by_show")
    ]
    assert pixels[0].shape == (456, 840, 4)
    assert np.array_equal(pixels[0], pixels[1])


def test_without_a_folder_show_only_shows(tmp_path, monkeypatch, shown):
    monkeypatch.chdir(tmp_path)
    figures.show(a_figure((11, 6)), None, "beds")
    assert list(tmp_path.iterdir()) == []
    png, text, width, height = shown[0]
    assert Image.open(io.BytesIO(png)).size == (1320, 720) and (width, height) == (1100, 600)
    assert "1100x600" in text


def test_outside_ipython_nothing_is_printed(capsys):
    fig = a_figure()
    figures.show(fig, None, "quiet")
    assert capsys.readouterr().out == ""
    assert not plt.fignum_exists(fig.number)


def test_in_ipython_the_notebook_gets_the_png_and_its_size(monkeypatch):
    published = []
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    monkeypatch.setattr(
        "IPython.display.display",
        lambda data, metadata, raw: published.append((data, metadata, raw)),
    )
    figures._display_png(b"\x89PNG-bytes", "<Figure>", 700, 380)
    data, metadata, raw = published[0]
    assert raw and base64.b64decode(data["image/png"]) == b"\x89PNG-bytes"
    assert data["text/plain"] == "<Figure>"
    assert metadata == {"image/png": {"width": 700, "height": 380}}
