"""Executing a notebook with papermill, as ``simlib run`` and ``simlib compare`` do.

A run never loses its notebook: the executed copy is kept whether the notebook ran or
failed, and the caller gets the error as one line (the exception, its message and the
cell) to put in its manifest or message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def execute(notebook: Path, output: Path, parameters: dict[str, Any]) -> str | None:
    """Execute ``notebook`` into ``output`` with ``parameters``; the error, or None if it ran."""
    import papermill

    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(notebook.parent),
        )
    except papermill.PapermillExecutionError as e:
        return f"{e.ename}: {e.evalue} (cell {e.exec_count})"
    except KeyboardInterrupt:
        return "interrupted"
    except Exception as e:  # the kernel died, the notebook could not be read, ...
        return f"{type(e).__name__}: {e}"
    return None
