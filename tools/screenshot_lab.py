"""PNG screenshots of the exploration notebook running in real JupyterLab (headless Chromium).

    .venv/bin/python tools/screenshot_lab.py [--out docs/img/explore] \\
        [--levers fiscal_cap=0.025,new_beds_per_year=800] [--chromium /usr/bin/chromium]

writes ``docs/img/explore.png`` (the levers, moved as a researcher would, and the redrawn
figure) and ``docs/img/explore-2.png`` (the walk through the model).  What it does:

1. copies ``notebooks/explore.ipynb`` into a temporary folder (with ``params/`` linked
   beside it), so that JupyterLab's autosave never writes outputs into the repository;
2. starts ``jupyter lab`` from this venv on a free localhost port with a random token;
3. opens the notebook in headless Chromium (driven by Playwright), runs all cells and
   waits for the first figure;
4. types each ``--levers`` value into its slider's readout, presses **Run**, waits for the
   redrawn figure and takes the first screenshot; scrolls to part 2 for the second;
5. stops JupyterLab and the browser.

Needs Chromium (Debian: ``apt-get install chromium``) and the Python package ``playwright``
(``.venv/bin/pip install playwright``; its own browser download, ``playwright install``, is
not needed: the system Chromium is used).  Chinese labels are drawn with the Noto Sans CJK
font that simlib ships through mplfonts (fontconfig is pointed at it), so no system CJK
font is needed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from simlib.fonts import font_file
from simlib.levers import LEVERS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{folder}</dir><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<cachedir>{cache}</cachedir></fontconfig>
"""
STATUS = ".widget-html-content:has-text('run {n}: re-run and redraw in')"
"""The Explorer's status line after its n-th run."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workspace(folder: Path) -> Path:
    """A copy of the notebook in ``folder/notebooks`` with ``params`` linked beside it."""
    (folder / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, folder / "notebooks" / NOTEBOOK.name)
    (folder / "params").symlink_to(ROOT / "params")
    return folder / "notebooks" / NOTEBOOK.name


def start_lab(root: Path, port: int, token: str, env: dict[str, str]) -> subprocess.Popen:
    lab = Path(sys.executable).with_name("jupyter")
    command = [
        str(lab),
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root otherwise (containers)
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=2)
            return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError("JupyterLab did not start within a minute")


def shoot(url: str, out: Path, levers: dict[str, str], chromium: str, env: dict) -> list[Path]:
    """Open the notebook, run it, move the levers, run again; the screenshots (on a failure,
    ``<out>-failed.png`` of the whole page, then the error)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, env=env)
        page = browser.new_page(viewport={"width": 1480, "height": 1130})
        try:
            return _drive(page, url, out, levers)
        except Exception:
            page.screenshot(path=str(out.with_name(out.name + "-failed.png")), full_page=True)
            raise
        finally:
            browser.close()


def _drive(page: Any, url: str, out: Path, levers: dict[str, str]) -> list[Path]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    written = []
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    select = page.locator(".jp-Dialog button:has-text('Select')")
    try:  # JupyterLab asks which kernel to start: the notebook's (python3, this venv)
        select.wait_for(timeout=15_000)
        select.click()
    except PlaywrightTimeout:
        pass
    no_news = page.locator(".jp-toast-button:has-text('No')")
    if no_news.count():
        no_news.first.click()
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    page.keyboard.press("Control+b")  # hide the file browser: more room for the notebook
    page.click("li.lm-MenuBar-item:has-text('Run')")
    page.click("li.lm-Menu-item:has-text('Run All Cells')")
    page.wait_for_selector(STATUS.format(n=1), timeout=300_000)
    for name, value in levers.items():
        readout = page.locator(f".widget-slider:has-text('{LABELS[name]}') .widget-readout")
        readout.click()
        page.keyboard.press("Control+a")
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    page.click(".widget-button:has-text('Run')")
    page.wait_for_selector(STATUS.format(n=2), timeout=300_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    print(page.inner_text(STATUS.format(n=2)))  # the time the re-run took
    time.sleep(1.0)
    page.locator(".widget-vbox").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.wheel(0, -60)
    time.sleep(0.5)
    out.parent.mkdir(parents=True, exist_ok=True)
    first_png = out.with_suffix(".png")
    page.screenshot(path=str(first_png))
    written.append(first_png)
    page.locator("h3:has-text('2.2 One year')").evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.5)
    second_png = out.with_name(out.name + "-2.png")
    page.screenshot(path=str(second_png))
    written.append(second_png)
    return written


LABELS = {name: lever.label.split("{")[0].split(" (")[0] for name, lever in LEVERS.items()}
"""The start of each slider's description (simlib.levers.LEVERS labels)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "explore")
    parser.add_argument("--levers", default="fiscal_cap=0.025,new_beds_per_year=800")
    default_chromium = "/usr/lib/chromium/chromium"
    if not Path(default_chromium).exists():
        default_chromium = "/usr/bin/chromium"
    parser.add_argument("--chromium", default=default_chromium)
    args = parser.parse_args()
    levers = dict(item.split("=", 1) for item in args.levers.split(",") if item)
    unknown = set(levers) - set(LABELS)
    if unknown:
        parser.error(f"unknown lever(s) {sorted(unknown)}: use {', '.join(LABELS)}")
    with tempfile.TemporaryDirectory(prefix="simlib-lab-") as tmp:
        folder = Path(tmp)
        notebook = workspace(folder / "work")
        conf = folder / "fonts.conf"
        conf.write_text(FONTS_CONF.format(folder=font_file().parent, cache=folder / "fc"))
        env = dict(os.environ, FONTCONFIG_FILE=str(conf), JUPYTER_CONFIG_DIR=str(folder / "cfg"))
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(folder / "workspaces")
        env["JUPYTERLAB_SETTINGS_DIR"] = str(folder / "settings")
        port, token = free_port(), secrets.token_hex(16)
        lab = start_lab(folder / "work", port, token, env)
        try:
            rel = notebook.relative_to(folder / "work").as_posix()
            url = f"http://127.0.0.1:{port}/lab/tree/{rel}?token={token}"
            for path in shoot(url, args.out, levers, args.chromium, env):
                print(path)
        finally:
            lab.terminate()
            lab.wait(timeout=30)


if __name__ == "__main__":
    main()
