"""Structure of arrays: the storage for persons and households.

There are about 1.2 million persons in 450,000 households at full scale, far too
many for one Python object each.  A :class:`Columns` table keeps each attribute as
one numpy array; a rule is arithmetic over whole columns.  Rows are removed
(deaths, households that dissolve) and added (births, migrants, new households)
for every column at once, so attributes that other modules add later (income,
programme states) stay aligned without those modules knowing about demography.

A column registered with a *fresh* value is a state, not an attribute: rows
copied from an existing row (a migrant household modelled on a resident one)
start with the fresh value instead of the copy (a new household is not on dibao).

A value *derived* from some columns (each person's area × stratum cell, the members
of each household) is kept and served again while those columns are the same arrays
(:meth:`Columns.derived`): rules read such values many times a year.  A column a kept
value reads is made read-only, so it cannot change under the value: a rule that
changes some of its rows does so through :meth:`Columns.set_rows`, which puts a
changed copy in its place (or writes in place when no kept value reads it).  A
column replaced by an array of the same values keeps the value too.
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Callable, Hashable, Iterator

import numpy as np


class Columns:
    """Named numpy columns of equal length."""

    def __init__(self, **columns: np.ndarray) -> None:
        self._cols: dict[str, np.ndarray] = {}
        self._fresh: dict[str, object] = {}
        self._derived: dict[str, tuple[Hashable, list[np.ndarray], np.ndarray]] = {}
        for name, values in columns.items():
            self.add(name, values)

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    def __contains__(self, name: str) -> bool:
        return name in self._cols

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        if name not in self._cols:
            raise KeyError(f"no column {name!r}; add it first")
        if len(values) != len(self):
            raise ValueError(f"column {name!r} has {len(values)} rows, the table {len(self)}")
        self._cols[name] = values

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_derived"}  # values kept go

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _derived={})
        for name, values in self._cols.items():  # read-only for a value no longer kept
            if not values.flags.writeable:
                self._cols[name] = values.copy()

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["_cols"][name]
        except KeyError:
            raise AttributeError(name) from None

    def add(self, name: str, values: np.ndarray, fresh: object | None = None) -> None:
        """Add a column; with ``fresh``, copied rows start at that value (a state)."""
        values = np.asarray(values)
        if self._cols and len(values) != len(self):
            raise ValueError(f"column {name!r} has {len(values)} rows, the table {len(self)}")
        self._cols[name] = values
        if fresh is not None:
            self._fresh[name] = fresh

    def derived(
        self,
        name: str,
        inputs: tuple[str, ...],
        compute: Callable[[], np.ndarray],
        key: Hashable = None,
        update: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """``compute()``, a new array that depends only on the columns ``inputs`` (and on
        ``key``), computed again only when one of them has changed; read-only.

        With one input, ``update(value, rows, before)`` may give the new value from the
        one held when the column has kept its length and changed in some rows only
        (``rows``; ``before``: their values then), cheaper than computing it again.
        """
        current = [self._cols[c] for c in inputs]
        held = self._derived.get(name)
        if held is not None and held[0] == key:
            before, value = held[1], held[2]
            if all(map(operator.is_, before, current)):
                return value
            if all(map(_same, before, current)):
                return self._keep(name, inputs, value, key)
            if update is not None and len(inputs) == 1 and _comparable(before[0], current[0]):
                rows = np.flatnonzero(before[0] != current[0])
                return self._keep(name, inputs, update(value, rows, before[0][rows]), key)
        return self._keep(name, inputs, compute(), key)

    def known(
        self, name: str, inputs: tuple[str, ...], value: np.ndarray, key: Hashable = None
    ) -> None:
        """Keep ``value`` as the derived value ``name`` of the columns ``inputs`` as they are
        now: one the caller has worked out from the last (as rows came and went)."""
        self._keep(name, inputs, np.array(value), key)

    def _keep(
        self, name: str, inputs: tuple[str, ...], value: np.ndarray, key: Hashable
    ) -> np.ndarray:
        """Hold ``value`` with the columns it was worked out from, all made read-only."""
        value = np.asarray(value)
        value.setflags(write=False)
        current = [self._cols[c] for c in inputs]
        for column in current:
            column.setflags(write=False)
        self._derived[name] = (key, current, value)
        return value

    def set_rows(self, name: str, rows: np.ndarray, values: object) -> None:
        """Set column ``name`` to ``values`` at ``rows`` (indices or a mask): in place, or,
        when a kept derived value reads the column (it is read-only), in a changed copy
        that replaces it, so the value held sees the change."""
        column = self._cols[name]
        if not column.flags.writeable:
            column = self._cols[name] = column.copy()
        column[rows] = values

    def keep(self, mask: np.ndarray, then: dict[str, np.ndarray] | None = None) -> None:
        """Keep the rows where ``mask`` is true, in every column; with ``then``, append
        those rows after them (as :meth:`append`) in the same pass over each column."""
        mask = np.asarray(mask, dtype=bool)
        if then is None:
            for name, values in self._cols.items():
                self._cols[name] = values[mask]
            return
        kept = int(np.count_nonzero(mask))
        for name, values, new in self._appended(then):
            column = np.empty(kept + len(new), dtype=values.dtype)
            column[:kept] = values[mask]  # (np.compress into the slice is slower)
            column[kept:] = new
            self._cols[name] = column

    def copy_rows(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """New rows modelled on existing ones: attributes copied, states fresh."""
        rows = {}
        for name, values in self._cols.items():
            if name in self._fresh:
                rows[name] = np.full(len(index), self._fresh[name], dtype=values.dtype)
            else:
                rows[name] = values[index]
        return rows

    def append(self, rows: dict[str, np.ndarray]) -> None:
        """Append rows; a column missing from ``rows`` takes its fresh value, or zero."""
        for name, values, new in self._appended(rows):
            self._cols[name] = np.concatenate([values, new])

    def _appended(
        self, rows: dict[str, np.ndarray]
    ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Each column with the values ``rows`` give it (fresh or zero where they give none)."""
        n = len(next(iter(rows.values()))) if rows else 0
        unknown = set(rows) - set(self._cols)
        if unknown:
            raise KeyError(f"rows have columns the table lacks: {sorted(unknown)}")
        for name, values in list(self._cols.items()):
            new = rows.get(name)
            if new is None:
                new = np.full(n, self._fresh.get(name, 0), dtype=values.dtype)
            yield name, values, np.asarray(new, dtype=values.dtype)


def _comparable(held: np.ndarray, current: np.ndarray) -> bool:
    return held.shape == current.shape and held.dtype == current.dtype


def _same(held: np.ndarray, current: np.ndarray) -> bool:
    return _comparable(held, current) and bool(np.array_equal(held, current))


_HEAP_PAD_MB = 512
_heap_padded: bool | None = None


def keep_freed_memory() -> bool:
    """Let the C allocator keep freed memory at the top of the heap for reuse (Linux, glibc).

    A year's step makes and drops hundreds of person-length arrays.  By default glibc
    hands such memory back to the system and the next array faults fresh pages in (about
    a tenth of a full-city run went to page faults); with ``mallopt(M_TOP_PAD)`` it keeps
    up to ``SIMLIB_HEAP_PAD_MB`` (default 512; 0 turns this off) for the next arrays.
    The peak memory is unchanged; the process keeps what it touched until it ends.
    Once per process; returns whether the allocator took the setting.
    """
    global _heap_padded
    if _heap_padded is None:
        _heap_padded = False
        pad_mb = int(os.environ.get("SIMLIB_HEAP_PAD_MB", _HEAP_PAD_MB))
        if sys.platform.startswith("linux") and pad_mb > 0:
            import ctypes

            try:
                mallopt = ctypes.CDLL(None).mallopt  # glibc; absent from musl
            except (OSError, AttributeError):
                return False
            m_top_pad = -2
            _heap_padded = bool(mallopt(m_top_pad, pad_mb * 1024 * 1024))
    return _heap_padded
