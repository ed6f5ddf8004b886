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
of each household) is kept with a copy of those columns and served again while they
hold the same values (:meth:`Columns.derived`): rules read such values many times a
year, and checking the columns is far cheaper than recomputing them.  Because the
check is on the values, a column changed in place is noticed as well as one replaced.
"""

from __future__ import annotations

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
    ) -> np.ndarray:
        """``compute()``, a value that depends only on the columns ``inputs`` (and on
        ``key``), computed again only when one of them has changed; read-only."""
        current = [self._cols[c] for c in inputs]
        held = self._derived.get(name)
        if held is not None and held[0] == key and all(map(_same, held[1], current)):
            return held[2]
        value = np.asarray(compute())
        value.setflags(write=False)
        self._derived[name] = (key, [c.copy() for c in current], value)
        return value

    def keep(self, mask: np.ndarray) -> None:
        """Keep the rows where ``mask`` is true, in every column."""
        for name, values in self._cols.items():
            self._cols[name] = values[mask]

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
        n = len(next(iter(rows.values()))) if rows else 0
        unknown = set(rows) - set(self._cols)
        if unknown:
            raise KeyError(f"rows have columns the table lacks: {sorted(unknown)}")
        for name, values in self._cols.items():
            new = rows.get(name)
            if new is None:
                new = np.full(n, self._fresh.get(name, 0), dtype=values.dtype)
            self._cols[name] = np.concatenate([values, np.asarray(new, dtype=values.dtype)])


def _same(held: np.ndarray, current: np.ndarray) -> bool:
    return held.shape == current.shape and held.dtype == current.dtype and bool(
        np.array_equal(held, current)
    )
