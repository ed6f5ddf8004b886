"""Files that are whole or absent: every output is written under a temporary name and renamed.

A reader (a person, a batch that resumes, a comparison) never sees a half-written
table: the rename is atomic on one file system, so a file that exists is complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through ``write`` to a temporary name beside ``path``, then rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
