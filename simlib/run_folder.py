"""One run into its folder: the manifest, the model, the tables, then the notebook.

``simlib run`` and each run of ``simlib batch`` go through :func:`execute`:

1. the manifest says ``running`` (with the process and host doing the work);
2. the model runs every replicate here, with a progress bar over replicates × years,
   and the tables are saved (each written under a temporary name and renamed);
3. with ``notebook``, the scenario notebook is executed with papermill; it reads the
   saved run (``simlib.load_run``) and adds the figures, ``scenario.ipynb`` and
   ``scenario.html``.  Its kernel is started before the model runs and imports what the
   notebook uses meanwhile (``simlib run`` starts it first thing, even before reading
   the scenario), so the two overlap;
4. the manifest says ``ok``, or ``failed`` with the error.

A run stopped half-way (Ctrl-C, a kill, a dead machine) leaves its manifest at
``running`` or ``failed``, never ``ok``: only a run whose manifest says ``ok`` is
complete (:func:`is_complete`), and ``simlib batch --resume`` redoes the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlib import runs

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class RunRequest:
    """What to run and where: picklable, so a worker process or a Dask worker can take it."""

    params_file: str
    run_dir: str
    seed: int
    replicates: int
    scale: float
    lang: str = "zh"
    notebook: bool = True
    quiet: bool = False
    workers: int = 1  # replicates in parallel processes (a batch runs its runs in parallel)
    notebooks_dir: str = str(NOTEBOOKS)


@dataclass(frozen=True)
class RunOutcome:
    run_dir: str
    status: str  # ok | failed
    error: str | None
    seconds: float


def is_complete(run_dir: Path) -> bool:
    """Whether the folder holds a finished run (its manifest says ``ok``)."""
    return runs.read_manifest(run_dir).get("status") == "ok"


def execute(request: RunRequest, kernel: Any = None, loaded: Any = None) -> RunOutcome:
    """Run the scenario into ``request.run_dir``; the manifest records how it ended.

    ``kernel``: the notebook's kernel if the caller has started it
    (:func:`simlib.notebooks.start_kernel`); it is stopped when the run ends.
    ``loaded``: ``request.params_file`` as the caller has loaded it, if it has.
    """
    from simlib.scenario import load_scenario

    start = time.perf_counter()
    run_dir = Path(request.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_scenario(request.params_file) if loaded is None else loaded
    runs.write_manifest(run_dir, _starting(request, loaded, run_dir))
    try:
        error = _work(request, loaded, run_dir, kernel)
    except KeyboardInterrupt:
        _finish(run_dir, "interrupted")
        raise
    except Exception as e:  # the model or a table failed: say so in the manifest
        error = f"{type(e).__name__}: {e}"
    _finish(run_dir, error)
    seconds = time.perf_counter() - start
    return RunOutcome(str(run_dir), "failed" if error else "ok", error, seconds)


def _work(request: RunRequest, loaded: Any, run_dir: Path, kernel: Any) -> str | None:
    """The model and its tables, then the notebook; the notebook's error, or None."""
    from simlib.notebooks import stop_kernel

    if kernel is None and request.notebook:
        kernel = _notebook_kernel(request)
    try:
        years = len(loaded.params.years.simulated)
        parallel = request.workers > 1  # then the bar counts replicates as they finish
        bar = _progress(loaded.name, request.replicates * years, request.quiet or parallel)
        with bar:
            result = runs.run_scenario(
                loaded,
                replicates=request.replicates,
                seed=request.seed,
                scale=request.scale,
                after_year=lambda _year: bar.update(1),
                workers=request.workers,
                quiet=request.quiet,
            )
        result.save(run_dir, lang=request.lang)
        if not request.notebook:
            return None
        return execute_notebook(request, run_dir, kernel)
    finally:
        if kernel is not None:
            stop_kernel(kernel)  # nothing if the notebook has stopped it


def _notebook_kernel(request: RunRequest) -> Any:
    """The notebook's kernel, started now so that it loads while the model runs."""
    from simlib.notebooks import SCENARIO_IMPORTS, start_kernel_if_possible

    return start_kernel_if_possible(Path(request.notebooks_dir), SCENARIO_IMPORTS)


def _progress(name: str, total: int, quiet: bool) -> Any:
    from simlib.parallel import progress_bar

    return progress_bar(total, f"{name}: replicates × years", quiet, unit="year")


def execute_notebook(request: RunRequest, run_dir: Path, kernel: Any = None) -> str | None:
    """Execute the scenario notebook into ``run_dir`` (it reads the saved run there), in
    ``kernel`` (:func:`simlib.notebooks.start_kernel`) or a new one; then its HTML copy,
    with an exporter made ready in a thread while the notebook runs."""
    from simlib.notebooks import execute as papermill_execute
    from simlib.notebooks import load_papermill

    notebook = Path(request.notebooks_dir) / "scenario.ipynb"
    output = run_dir / "scenario.ipynb"
    load_papermill()  # first: it imports nbformat and jsonschema, which the exporter shares
    with ThreadPoolExecutor(1) as thread:
        exporter = thread.submit(html_exporter, True)
        error = papermill_execute(
            notebook,
            output,
            {
                "params_file": request.params_file,
                "replicates": request.replicates,
                "seed": request.seed,
                "scale": request.scale,
                "run_id": run_dir.name,
                "output_dir": str(run_dir.parent.resolve()),
                "lang": request.lang,
            },
            kernel=kernel,
        )
        if error:
            return f"notebook: {error}"
        ready = None if exporter.exception() else exporter.result()
    export_html(output, ready)
    return None


def html_exporter(warm: bool = False) -> Any:
    """nbconvert's HTML exporter; ``warm``: ready to go, its templates compiled and its
    highlighter and Markdown loaded (it has converted a small notebook)."""
    from simlib.notebooks import deferred_iri_grammar

    with deferred_iri_grammar():
        import nbformat
        from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    if warm:
        v4 = nbformat.v4
        cell = v4.new_code_cell("print(1)", outputs=[v4.new_output("stream", text="1\n")])
        exporter.from_notebook_node(v4.new_notebook(cells=[v4.new_markdown_cell("# *a*"), cell]))
    return exporter


def export_html(notebook: Path, exporter: Any = None) -> Path:
    """An HTML copy of an executed notebook, beside it (with ``exporter``, one from
    :func:`html_exporter`, or a new one)."""
    from simlib.files import write_atomic

    exporter = exporter or html_exporter()  # first: it imports nbformat without the grammar
    import nbformat

    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    target = notebook.with_suffix(".html")
    return write_atomic(target, lambda p: p.write_text(body, encoding="utf-8"))


def _starting(request: RunRequest, loaded: Any, run_dir: Path) -> dict[str, Any]:
    return {
        "run_id": run_dir.name,
        "status": "running",
        "scenario": loaded.name,
        "scenario_file": str(loaded.file),
        "extends_chain": [str(p) for p in loaded.tree.chain],
        "parameter_hash": loaded.hash,
        "run_hash": run_hash(loaded.hash, request.seed, request.replicates, request.scale),
        "seed": request.seed,
        "replicates": request.replicates,
        "scale": request.scale,
        "lang": request.lang,
        "notebook": request.notebook,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "versions": runs.versions(),
        "start": runs.now(),
        "end": None,
    }


def _finish(run_dir: Path, error: str | None) -> None:
    manifest = runs.read_manifest(run_dir) | {"end": runs.now()}
    manifest["status"] = "failed" if error else "ok"
    if error:
        manifest["error"] = error
    else:
        manifest.pop("error", None)
    manifest["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    runs.write_manifest(run_dir, manifest)


def run_hash(parameter_hash: str, seed: int, replicates: int, scale: float) -> str:
    """The identity of a run request: resolved parameters, seed, replicates and scale.

    The same request always gives the same hash (and so the same batch folder); any
    change to a parameter, the seed, the replicates or the scale gives another.
    """
    key = json.dumps(
        {"parameters": parameter_hash, "seed": seed, "replicates": replicates, "scale": scale},
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def state(run_dir: Path) -> str:
    """``ok``, ``failed``, ``running``, ``stopped`` (a run whose process on this host is
    gone without finishing) or ``unknown`` (no readable manifest)."""
    manifest = runs.read_manifest(run_dir)
    status = manifest.get("status", "unknown")
    here = manifest.get("host") == socket.gethostname()
    if status == "running" and here and not _alive(manifest.get("pid")):
        return "stopped"
    return str(status)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
