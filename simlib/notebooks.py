"""Executing a notebook with papermill, as ``simlib run`` and ``simlib compare`` do.

A run never loses its notebook: the executed copy is kept whether the notebook ran or
failed, and the caller gets the error as one line (the exception, its message and the
cell) to put in its manifest or message.

Two things keep it quick:

- the kernel can be started ahead (:func:`start_kernel`), importing the modules the
  notebook will need while the caller does other work (``simlib run`` runs the model
  meanwhile); only modules are loaded, the notebook's namespace stays empty and its
  cells are numbered from 1 as usual;
- papermill and nbconvert are imported through :func:`deferred_iri_grammar`: jsonschema
  (which nbformat uses) imports ``rfc3987_syntax`` where it is installed, and that
  module builds about thirty Earley parsers of the IRI grammar when imported (3-4 s on
  this machine) for a format check no notebook uses; the parsers are built on first use
  instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KERNEL = "python3"
IRI_GRAMMAR = "rfc3987_syntax"
SCENARIO_IMPORTS = (
    "matplotlib.pyplot",
    "pandas",
    "pyarrow.parquet",
    "IPython.display",
    "simlib.runs",
    "simlib.budget_figures",
    "simlib.figures",
    "simlib.calibration",
)
"""The modules ``notebooks/scenario.ipynb`` imports (and ``simlib.load_run`` with them):
what its kernel loads as it starts."""


def start_kernel(cwd: Path, preload: Sequence[str] = ()) -> Any:
    """A kernel started now in ``cwd``, importing the modules ``preload`` as it starts.

    It starts in the background (a process of its own); pass it to :func:`execute`, which
    runs the notebook in it and shuts it down, or shut it down with :func:`stop_kernel`.
    A module that fails to import is skipped: the notebook's own import shows the error.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    names = ", ".join(repr(m) for m in preload)
    code = (  # one statement, run before the kernel answers; it leaves no name behind
        f"for _m in [{names}]:\n"
        "    try:\n"
        "        __import__(_m)\n"
        "    except Exception:\n"
        "        pass\n"
        "del _m"
    )
    arguments = ["--HistoryManager.hist_file=:memory:"]  # as nbclient starts its kernels
    if preload:
        arguments.append(f"--IPKernelApp.exec_lines={code}")
    kernel = AsyncKernelManager(kernel_name=KERNEL)
    run_sync(kernel.start_kernel)(cwd=str(cwd), extra_arguments=arguments)
    return kernel


def start_kernel_if_possible(cwd: Path, preload: Sequence[str] = ()) -> Any:
    """:func:`start_kernel`, or None if no kernel starts here: then papermill tries when
    the notebook runs, and its error is the run's."""
    try:
        return start_kernel(cwd, preload)
    except Exception:
        return None


def stop_kernel(kernel: Any) -> None:
    """Stop a kernel from :func:`start_kernel` (nothing if it has stopped).

    It is ended at once, not asked to shut down and waited for (which takes 1-3 s here):
    it is stopped when the notebook has run and every output is saved, or when the run
    failed before the notebook, so nothing in it is left to keep.
    """
    from jupyter_core.utils import run_sync

    if kernel.has_kernel:
        run_sync(kernel.shutdown_kernel)(now=True)


def _in_cell(output: Path) -> str:
    """`` (cell N)``: the last cell papermill started before the notebook stopped (the
    partial notebook it keeps records a start time for each cell it began), or nothing."""
    try:
        cells = json.loads(Path(output).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    started = [
        (number, cell)
        for number, cell in enumerate((c for c in cells if c.get("cell_type") == "code"), 1)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return ""
    number, cell = started[-1]
    return f" (cell {cell.get('execution_count') or number})"


def execute(
    notebook: Path, output: Path, parameters: dict[str, Any], kernel: Any = None
) -> str | None:
    """Execute ``notebook`` into ``output`` with ``parameters``; the error, or None if it ran.

    ``kernel``: one from :func:`start_kernel` to run it in (it is shut down here); None,
    a new one.
    """
    papermill = load_papermill()
    options = {} if kernel is None else {"km": kernel}
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            progress_bar=False,
            cwd=str(notebook.parent),
            **options,
        )
    except papermill.PapermillExecutionError as e:
        return f"{e.ename}: {e.evalue} (cell {e.exec_count})"
    except KeyboardInterrupt:
        return "interrupted"
    except Exception as e:  # the kernel died, the notebook could not be read, ...
        return f"{type(e).__name__}: {e}{_in_cell(output)}"
    finally:
        if kernel is not None:
            stop_kernel(kernel)
    return None


def load_papermill() -> types.ModuleType:
    """papermill (with nbformat and jsonschema), imported without the IRI grammar."""
    with deferred_iri_grammar():
        import papermill

    return papermill


@contextmanager
def deferred_iri_grammar() -> Iterator[None]:
    """Within: importing jsonschema does not build the IRI grammar of ``rfc3987_syntax``.

    A stand-in module takes its place while jsonschema is imported; its
    ``is_valid_syntax`` (the one function jsonschema takes from it) imports the real
    module on first use, so the "iri" format checks still work.  Nothing changes when
    jsonschema is already imported or the module is not installed.
    """
    if (
        "jsonschema" in sys.modules
        or IRI_GRAMMAR in sys.modules
        or importlib.util.find_spec(IRI_GRAMMAR) is None
    ):
        yield
        return
    stand_in = types.ModuleType(IRI_GRAMMAR, "stand-in: the real module loads on first use")

    def is_valid_syntax(term: str, value: str) -> bool:
        return importlib.import_module(IRI_GRAMMAR).is_valid_syntax(term, value)

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[IRI_GRAMMAR] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(IRI_GRAMMAR) is stand_in:
            del sys.modules[IRI_GRAMMAR]
