"""Columns: derived values kept while their columns hold, and never served stale."""

import pickle

import numpy as np
import pytest

from simlib.columns import Columns


def counted(table: Columns, calls: list[int]) -> np.ndarray:
    """Members per household 0-2 of ``table``'s persons, counting the computations."""

    def compute() -> np.ndarray:
        calls.append(1)
        return np.bincount(table.household, minlength=3)

    def moved(value: np.ndarray, rows: np.ndarray, before: np.ndarray) -> np.ndarray:
        value = value.copy()
        np.subtract.at(value, before, 1)
        np.add.at(value, table.household[rows], 1)
        return value

    return table.derived("members", ("household",), compute, update=moved)


def persons() -> Columns:
    return Columns(household=np.array([0, 0, 1, 2, 2, 2], dtype=np.int32), age=np.arange(6))


def test_a_derived_value_is_computed_once_while_its_columns_hold():
    table, calls = persons(), []
    assert counted(table, calls).tolist() == [2, 1, 3]
    table["age"] = table.age + 1  # not an input
    assert counted(table, calls).tolist() == [2, 1, 3]
    table["household"] = table.household.copy()  # replaced by the same values
    assert counted(table, calls).tolist() == [2, 1, 3]
    assert len(calls) == 1


def test_a_column_a_kept_value_reads_cannot_change_under_it():
    table, calls = persons(), []
    counted(table, calls)
    with pytest.raises(ValueError, match="read-only"):
        table.household[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        counted(table, calls)[0] = 5  # the value itself is read-only too
    table.age[0] = 40  # a column no value reads stays writable


def test_set_rows_changes_a_read_column_through_a_copy_the_value_sees():
    table, calls = persons(), []
    held = table.household
    counted(table, calls)
    table.set_rows("household", [0, 3], 1)
    assert held.tolist() == [0, 0, 1, 2, 2, 2]  # the array the value was kept with
    assert table.household.tolist() == [1, 0, 1, 1, 2, 2]
    assert counted(table, calls).tolist() == [1, 3, 2]  # by the update, not recomputed
    assert len(calls) == 1


def test_set_rows_writes_in_place_when_no_value_reads_the_column():
    table = persons()
    age = table.age
    table.set_rows("age", np.array([1]), 70)
    assert table.age is age and age[1] == 70


def test_rows_kept_or_appended_give_the_value_again():
    table, calls = persons(), []
    counted(table, calls)
    table.keep(table.household != 1, then={"household": np.array([1, 1]), "age": np.zeros(2)})
    assert counted(table, calls).tolist() == [2, 2, 3]
    assert len(calls) == 2  # new length: computed again


def test_a_table_pickled_comes_back_writable_without_its_values():
    table, calls = persons(), []
    counted(table, calls)
    back = pickle.loads(pickle.dumps(table, protocol=5))
    back.household[0] = 2
    assert counted(back, calls).tolist() == [1, 1, 4]
    assert len(calls) == 2
