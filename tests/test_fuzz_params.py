"""Fuzzing the scenario loader (issue 10, item 1): no input makes ``simlib validate`` crash.

Every shipped scenario (params/*.yaml) is read as a tree; a hypothesis test mutates a random
key path of it (drops it, changes its type, writes a huge, negative or non-finite number, a
year outside the horizon, unicode, thousands of levels of nesting, a YAML tag, an alias or an
alias bomb, a duplicate key, a bad ``extends:``, a data file that is missing or garbage) or
replaces the whole file (empty, binary garbage, a list, a scalar, a truncated copy), writes it
to a temporary folder and runs the command line in-process:
``simlib.cli.main(["validate", FILE])``.  The outcome must be either ``ok`` or exit status 2
with one ``simlib: FILE: KEY: what is wrong`` line per problem: never a traceback or any other
exception.  The model never runs.  Below the hypothesis test, one ordinary test (or a few) per
kind of mutation pins the message.

The shipped overlays (``extends: baseline.yaml``) are mutated both in their own keys and at key
paths of the baseline written into them, which exercises the merging; the baseline itself is
mutated as a whole file.  A mutated file is written in YAML flow style (``{key: value, ...}``),
strings double-quoted with escapes for characters YAML cannot hold raw (NUL, controls).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.cli import main
from simlib.parameters import (
    MAX_DEPTH,
    MAX_VALUES,
    ParameterError,
    _printable,
    load_tree,
    read_yaml,
)
from simlib.scenario import load_scenario
from tests.conftest import BASELINE, PARAMS

# --- the trees and a YAML writer ----------------------------------------------------------------


class Raw(str):
    """YAML text written as it is (a tag, an alias, an anchor, deep nesting)."""


class Pairs(list):
    """A mapping written from ``(key, value)`` pairs: a key may come twice."""


def _absolute_data_paths(node: Any, key: str = "") -> Any:
    """The baseline's data paths made absolute, so that a copy elsewhere still finds them."""
    if isinstance(node, dict):
        return {k: _absolute_data_paths(v, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_data_paths(v, key) for v in node]
    if isinstance(node, str) and key.endswith(("file", "files")):
        return str(PARAMS / node)
    return node


BASE_TREE = _absolute_data_paths(read_yaml(BASELINE))
OVERLAYS = {
    p.name: {**read_yaml(p), "extends": str(BASELINE)}
    for p in sorted(PARAMS.glob("*.yaml"))
    if p != BASELINE
}
assert len(OVERLAYS) >= 4 and all("extends" in t for t in OVERLAYS.values())


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path below ``node`` (dict keys and list indices)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        found.append((*prefix, k))
        if isinstance(v, dict | list) and v:
            found += _paths(v, (*prefix, k))
    return found


def _at(node: Any, path: tuple) -> Any:
    for k in path:
        node = node[k]
    return node


BASE_PATHS = _paths(BASE_TREE)
BASE_NUMBERS = [
    p for p in BASE_PATHS if isinstance(_at(BASE_TREE, p), int | float) and _at(BASE_TREE, p)
]
BASE_MAPPINGS = [p for p in BASE_PATHS if isinstance(_at(BASE_TREE, p), dict)]
BASE_DATED = [p for p in BASE_MAPPINGS if isinstance(_at(BASE_TREE, p).get("values"), dict)]
DATA_FILE_KEYS = [p for p in BASE_PATHS if str(p[-1]).endswith(("file", "files"))]
assert len(BASE_PATHS) > 2000 and len(BASE_DATED) > 20 and len(DATA_FILE_KEYS) >= 4


def _quote(text: str) -> str:
    """A YAML double-quoted string; characters YAML cannot hold raw are escaped."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for c in text:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= o <= 0x7E or (o >= 0xA0 and c.isprintable()):
            out.append(c)
        elif o <= 0xFF:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        mantissa, _, exponent = repr(value).partition("e")
        if "." not in mantissa:
            mantissa += ".0"  # YAML 1.1 floats need the point, and a signed exponent
        sign = "" if exponent[:1] in ("+", "-") else "+"
        return mantissa + (f"e{sign}{exponent}" if exponent else "")
    return _quote(str(value))


_EMITTED: dict[int, str] = {}
"""The YAML of every container of the shipped trees, by id (a mutated tree shares them)."""


def to_yaml(node: Any) -> str:
    """``node`` in YAML flow style."""
    text = _EMITTED.get(id(node))
    if text is not None:
        return text
    if isinstance(node, Pairs | dict):
        pairs = node if isinstance(node, Pairs) else node.items()
        return "{" + ", ".join(f"{to_yaml(k)}: {to_yaml(v)}" for k, v in pairs) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(to_yaml(v) for v in node) + "]"
    return _scalar(node)


def _remember(node: Any) -> None:
    if isinstance(node, dict | list):
        for v in node.values() if isinstance(node, dict) else node:
            _remember(v)
        _EMITTED[id(node)] = to_yaml(node)


for _tree in [BASE_TREE, *OVERLAYS.values()]:
    _remember(_tree)


def file_text(tree: Any) -> str:
    """A whole scenario file: one top-level key a line."""
    if not isinstance(tree, dict | Pairs):
        return to_yaml(tree) + "\n"
    pairs = tree if isinstance(tree, Pairs) else tree.items()
    return "".join(f"{to_yaml(k)}: {to_yaml(v)}\n" for k, v in pairs)


def edit(node: Any, path: tuple, change) -> Any:
    """A copy of ``node`` where the container holding ``path[-1]`` is ``change(copy, key)``;
    only the containers along the path are copied."""
    copy = Pairs(node) if isinstance(node, Pairs) else type(node)(node)
    if len(path) == 1:
        return change(copy, path[0])
    copy[path[0]] = edit(node[path[0]], path[1:], change)
    return copy


def setter(value: Any):
    def change(container, key):
        container[key] = value
        return container

    return change


def dropper(container, key):
    del container[key]
    return container


def renamer(new_key: Any):
    def change(container, key):
        return {(new_key if k == key else k): v for k, v in container.items()}

    return change


def duplicator(value: Any):
    def change(container, key):
        return Pairs([*container.items(), (key, value)])

    return change


def into_overlay(overlay: dict, path: tuple) -> dict:
    """The overlay with the containers above ``path`` (a key path of the baseline) present,
    so that a mutation at ``path`` is written into the overlay.  A mapping on the way is the
    overlay's own (the merge fills in the rest), except below a fact's ``value``/``values``
    (which an overlay replaces whole): there, as for a list, the baseline's is copied."""
    root = node = dict(overlay)
    base = BASE_TREE
    whole = False
    for k in path[:-1]:
        base = base[k]
        whole = whole or k in ("value", "values")
        mine = node.get(k) if isinstance(node, dict) else node[k]
        if isinstance(base, list):
            child = list(mine) if isinstance(mine, list) else list(base)
        elif isinstance(mine, dict):
            child = dict(mine)
        else:
            child = dict(base) if whole else {}
        node[k] = child
        node = child
    return root


# --- strategies ----------------------------------------------------------------------------------

EXTREME_NUMBERS = [
    1e308,
    -1e308,
    1.7976931348623157e308,
    5e-324,
    math.inf,
    -math.inf,
    math.nan,
    -0.0,
    0,
    -1,
    -1.5,
    2**63,
    2**64,
    -(2**63),
    10**40,
    10**400,
    10**4000,
]
SPECIAL_CHARACTERS = [
    "\x00",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\ufeff",
    "\U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "东区",
    "\u0301",
    "\x1b[31m",
    "\n",
    "\t",
    "'",
    '"',
    "\\",
    ": ",
    "#",
    "&a",
    "*a",
    "!foo",
    "[",
    "{",
    ".",
]
unicode_text = st.lists(
    st.one_of(st.characters(), st.sampled_from(SPECIAL_CHARACTERS)), max_size=12
).map("".join)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), unicode_text, st.sampled_from([[], {}])
)
any_value = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.one_of(unicode_text, st.integers()), scalars, max_size=3),
)
numbers = st.one_of(
    st.sampled_from(EXTREME_NUMBERS),
    st.integers(-(10**30), 10**30),
    st.floats(),
)
bad_years = st.one_of(
    st.integers(-(10**12), 1899),
    st.integers(2201, 10**12),
    st.sampled_from([0, -1, 1900, 1999, 2000, 2014, 2101, 2150, 2151, 2200, 9999]),
)
non_year_keys = st.one_of(
    unicode_text.filter(lambda s: not s.strip().isdigit()),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)),
    st.booleans(),
    st.sampled_from(["2016-01-01", "twenty", "2016a", "1e3", ""]),
)
TAGGED = [
    '!!python/object/apply:os.system ["echo owned"]',
    "!!python/object/new:str [x]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!binary aGVsbG8=",
    "!foo bar",
    "!foo {a: 1}",
    "!!set {a: null}",
    "!!omap [{a: 1}]",
    "!!pairs [{a: 1}]",
    "!!timestamp 2015-01-01",
    "2015-01-01 10:00:00",
    '!!int "12"',
    '!!int "twelve"',
    '!!float "1.5"',
    '!!float "lots"',
    "!!str 5",
    "!!bool yes",
    "!!null ''",
    "!<tag:example.com,2000:app/foo> x",
    "!!map {a: 1}",
    "!!seq [1]",
    "=",
    "<<",
]


def bomb(width: int, depth: int) -> Raw:
    """``width`` ** ``depth`` values from a few lines of anchors and aliases (billion laughs)."""
    levels = ["&l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, depth + 1):
        levels.append(f"&l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return Raw("[" + ", ".join(levels) + "]")


def nested(depth: int, kind: str, leaf: str = "1") -> Raw:
    if kind == "list":
        return Raw("[" * depth + leaf + "]" * depth)
    return Raw("{a: " * depth + leaf + "}" * depth)


@dataclass
class Case:
    """A mutated scenario: the files to write (name -> content), the one to validate, and
    the key path mutated (empty for a whole-file mutation)."""

    kind: str
    source: str
    files: dict[str, bytes | str | None] = field(default_factory=dict)  # None: a folder
    path: tuple = ()
    checks_key: bool = False  # the mutation is of one key: a problem must name it

    what: str = ""  # the value written, for the report of a failure

    @property
    def main_file(self) -> str:
        return "case.yaml"

    def __repr__(self) -> str:  # the files are long: a failure shows what was done
        sizes = {name: None if c is None else len(c) for name, c in self.files.items()}
        return (
            f"Case(kind={self.kind!r}, source={self.source!r}, path={self.path!r}, "
            f"what={self.what[:300]!r}, file sizes={sizes})"
        )


VALUE_KINDS = ["retype", "number", "year", "unicode_value", "nest", "tag", "bomb"]
KINDS = [
    *VALUE_KINDS,
    "drop",
    "unicode_key",
    "dated_keys",
    "alias",
    "duplicate",
    "extends",
    "data_file",
    "whole_file",
]


@st.composite
def cases(draw) -> Case:
    kind = draw(st.sampled_from(KINDS))
    source = draw(st.sampled_from(["baseline.yaml", *OVERLAYS]))
    tree = BASE_TREE if source == "baseline.yaml" else OVERLAYS[source]
    case = Case(kind, source)

    def base_path(paths: list[tuple], below: tuple = ()) -> tuple[Any, tuple]:
        """A baseline key path, and the tree to mutate (the overlay ready for the path and
        the keys ``below`` it)."""
        path = draw(st.sampled_from(paths))
        return (tree if tree is BASE_TREE else into_overlay(tree, (*path, *below))), path

    if kind in VALUE_KINDS:
        pool = BASE_NUMBERS if kind in ("number", "year") else BASE_PATHS
        root, path = base_path(pool)
        value = {
            "retype": lambda: draw(any_value),
            "number": lambda: draw(numbers),
            "year": lambda: draw(bad_years),
            "unicode_value": lambda: draw(unicode_text),
            "nest": lambda: nested(
                draw(st.integers(1, 3000)),
                draw(st.sampled_from(["list", "dict"])),
                draw(st.sampled_from(["1", "0.5", '"x"', "[]", "{}"])),
            ),
            "tag": lambda: Raw(draw(st.sampled_from(TAGGED))),
            "bomb": lambda: bomb(draw(st.integers(2, 10)), draw(st.integers(1, 12))),
        }[kind]()
        tree, case.path, case.checks_key = edit(root, path, setter(value)), path, True
        case.what = to_yaml(value)
    elif kind in ("drop", "unicode_key", "duplicate"):
        own = [p for p in _paths(tree) if p != ("extends",)]
        path = draw(st.sampled_from(own))
        parent = _at(tree, path[:-1])
        if kind == "drop":
            tree = edit(tree, path, dropper)
        elif isinstance(parent, dict) and kind == "unicode_key":
            new_key = draw(unicode_text)
            tree, case.what = edit(tree, path, renamer(new_key)), repr(new_key)
        elif isinstance(parent, dict):
            value = draw(any_value)
            tree, case.what = edit(tree, path, duplicator(value)), to_yaml(value)
        else:  # a list item: the list holds the item twice
            tree = edit(tree, path, lambda c, k: [*c[: k + 1], c[k], *c[k + 1 :]])
        case.path = path
    elif kind == "dated_keys":
        root, path = base_path(BASE_DATED, below=("values",))
        years = dict(_at(BASE_TREE, path)["values"])
        year = draw(st.sampled_from(sorted(years)))
        new_key = draw(st.one_of(non_year_keys, bad_years))
        years = {(new_key if y == year else y): v for y, v in years.items()}
        tree = edit(root, (*path, "values"), setter(years))
        case.path, case.checks_key, case.what = (*path, "values"), True, repr(new_key)
    elif kind == "alias":
        root, target = base_path(BASE_PATHS)
        tree = edit(root, target, setter(Raw("*a")))
        anchor_at = draw(st.sampled_from(_paths(tree)))
        with contextlib.suppress(KeyError, IndexError, TypeError):
            value = _at(tree, anchor_at)
            tree = edit(tree, anchor_at, setter(Raw("&a " + to_yaml(value))))
        case.path, case.what = target, f"anchor at {anchor_at}"
    elif kind == "extends":
        how = draw(
            st.sampled_from(
                [
                    "itself",
                    "missing",
                    "loop",
                    "folder",
                    "garbage",
                    "empty",
                    "list",
                    "number",
                    "blank",
                    "nul",
                    "long",
                    "no_user",
                    "chain",
                ]
            )
        )
        target = {
            "itself": "case.yaml",
            "missing": "nowhere.yaml",
            "loop": "other.yaml",
            "folder": "folder",
            "garbage": "garbage.yaml",
            "empty": "empty.yaml",
            "list": "list.yaml",
            "number": 2015,
            "blank": "  ",
            "nul": "a\x00b.yaml",
            "long": "x" * 5000 + ".yaml",
            "no_user": "~no_such_user_here/x.yaml",
            "chain": "other.yaml",
        }[how]
        case.files.update(
            {
                "other.yaml": "extends: case.yaml\n" if how == "loop" else f"extends: {BASELINE}\n",
                "folder": None,
                "garbage.yaml": draw(st.binary(max_size=64)),
                "empty.yaml": "",
                "list.yaml": "- 1\n- 2\n",
            }
        )
        tree = {**tree, "extends": target}
        case.path, case.what = ("extends",), how
    elif kind == "data_file":
        root, path = base_path(DATA_FILE_KEYS)
        if isinstance(_at(BASE_TREE, path), list):  # history_files: one of them
            path = (*path, draw(st.integers(0, len(_at(BASE_TREE, path)) - 1)))
            root = into_overlay(root, path) if tree is not BASE_TREE else root
        value = draw(
            st.sampled_from(
                [
                    "missing.csv",
                    "garbage.csv",
                    "text.csv",
                    "empty.csv",
                    "folder",
                    "case.yaml",
                    "a\x00b.csv",
                    "y" * 5000,
                    str(PARAMS / "data" / "README.md"),
                    str(PARAMS / "data" / "sichuan.csv"),
                    str(PARAMS / "data" / "elderly_disability.csv"),
                    7,
                    None,
                ]
            )
        )
        case.files.update(
            {
                "garbage.csv": draw(st.binary(max_size=200)),
                "text.csv": draw(unicode_text),
                "empty.csv": "",
                "folder": None,
            }
        )
        tree, case.path, case.what = edit(root, path, setter(value)), path, repr(value)
    else:  # whole_file
        original = (PARAMS / source).read_bytes()
        offset = draw(st.integers(0, len(original)))
        content = draw(
            st.sampled_from(
                [
                    b"",
                    b"   \n# only a comment\n",
                    b"- a\n- b\n",
                    b"42\n",
                    b"just text\n",
                    b"~\n",
                    b"---\n...\n",
                    b"a: 1\n---\nb: 2\n",
                    "truncated",
                    "flipped",
                    "garbage",
                ]
            )
        )
        if content == "truncated":
            content = original[:offset]
        elif content == "flipped":
            content = (
                original[:offset] + draw(st.binary(min_size=1, max_size=4)) + original[offset:]
            )
        elif content == "garbage":
            content = draw(st.binary(max_size=300))
        case.what = f"{content[:40]!r} (offset {offset})"
        absolute = content.replace(b"baseline.yaml", str(BASELINE).encode())
        case.files["case.yaml"] = absolute.replace(b" data/", f" {PARAMS / 'data'}/".encode())
        return case
    case.files["case.yaml"] = file_text(tree)
    return case


def write(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        if content is None:
            (folder / name).mkdir()
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    return folder / case.main_file


# --- the outcome ---------------------------------------------------------------------------------


def problems(err: str, folder: Path) -> list[tuple[str, str]]:
    """The ``(key, message)`` of each problem line; every line must name a file."""
    found = []
    for line in err.splitlines():
        assert line.startswith("simlib: "), f"not a problem line: {line!r}"
        rest = line.removeprefix("simlib: ")
        named = [str(folder), str(PARAMS)]
        assert any(rest.startswith(n) for n in named), f"no file named: {line!r}"
        _file, _, what = rest.partition(": ")
        assert what, f"no problem after the file: {line!r}"
        key, _, message = what.partition(": ")
        found.append((key, message) if message else ("", what))
    return found


def key_text(path: tuple) -> str:
    return _printable(".".join(str(k) for k in path))


def assert_ok_or_refused(status: int, out: str, err: str, case: Case, folder: Path) -> None:
    """``ok`` or status 2 with problem lines naming the file (and the key, for a key
    mutation); no traceback, nothing else on stderr."""
    assert "Traceback" not in out + err, err
    assert status in (0, 2), (status, err)
    if status == 0:
        assert err == "" and out.startswith("ok: "), (out, err)
        return
    found = problems(err, folder)
    assert found, "status 2 without a problem"
    if case.checks_key:
        mutated = key_text(case.path)
        keys = [k.split(" (line ")[0] for k, _ in found]
        related = [
            k
            for k in keys
            if k in ("(top level)", mutated)
            or k.startswith("line ")
            or mutated.startswith(k + ".")
            or k.startswith(mutated + ".")
        ]
        assert related, f"no problem names {mutated!r} or a key around it: {err}"


_numbers = itertools.count()


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(case=cases())
def test_a_mutated_scenario_loads_or_is_refused_cleanly(case, tmp_path, capsys):
    folder = tmp_path / f"case{next(_numbers)}"
    path = write(case, folder / "files")
    capsys.readouterr()
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert_ok_or_refused(status, out, err, case, folder)


# --- one case of each kind, by hand --------------------------------------------------------------


def validate(path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, err


def overlay(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {BASELINE}\n{text}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        # drop keys
        ("years: !!null\n", "years", "a mapping (a block of keys) (got None)"),
        # change types
        ("income: {persistence: [0.5]}\n", "income.persistence", "Input should be a fact"),
        ("income: {persistence: {value: [0.5]}}\n", "income.persistence.value", "valid number"),
        ("years: [2015, 2030]\n", "years", "should be a mapping (a block of keys) (got a list)"),
        ("years: {end_year: {a: 1}}\n", "years.end_year", "valid integer"),
        ("areas: [dongqu, xiqu]\n", "areas", "valid dictionary"),
        ("standards: {method: 7}\n", "standards.method", "consumption_ratio"),
        ("income: {persistence: true}\n", "income.persistence", "not true or false"),
        (
            "standards: {consumption_ratio: {ratio: {rural: {values: {2016: false}}}}}\n",
            "standards.consumption_ratio.ratio.rural",
            "not true or false",
        ),
        ("funding: {dibao: {central: {value: no}}}\n", "funding.dibao.central.value", "'no'"),
        # negative and huge numbers
        ("income: {persistence: -1}\n", "income.persistence.value", "greater than or equal to 0"),
        ("income: {persistence: 1.0e+308}\n", "income.persistence.value", "less than or equal"),
        ("income: {persistence: .inf}\n", "income.persistence.value", "less than or equal"),
        ("income: {persistence: -.inf}\n", "income.persistence.value", "greater than or equal"),
        ("income: {persistence: .nan}\n", "income.persistence.value", "(got nan)"),
        (f"years: {{end_year: {10**40}}}\n", "years.end_year", "less than or equal to 2150"),
        (f"years: {{end_year: {10**4000}}}\n", "years.end_year", "less than or equal to 2150"),
        ("years: {end_year: 1" + "0" * 5000 + "}\n", "years.end_year (line 2)", "4300 digits"),
        ('years: {end_year: !!int "twelve"}\n', "years.end_year (line 2)", "not a valid whole"),
        ('years: {end_year: !!float "lots"}\n', "years.end_year (line 2)", "not a valid number"),
        ('years: {end_year: !!bool "maybe"}\n', "years.end_year (line 2)", "not a valid true or"),
        ("years: {end_year: -0}\n", "years.end_year", "greater than or equal to 2001"),
        (
            "standards: {consumption_ratio: {ratio: {rural: -0.0}}}\n",
            "standards.consumption_ratio.ratio.rural.value",
            "greater than 0 (got -0.0)",
        ),
        # wrong dates
        ("years: {end_year: 2010}\n", "years", "end_year must come after base_year"),
        ("years: {end_year: 2120}\n", "years", "limited to 100 years"),
        ("years: {base_year: 1066}\n", "years.base_year", "greater than or equal to 2000"),
        ("years: {end_year: 2015-12-31}\n", "years.end_year", "(got '2015-12-31')"),
        (
            "programmes: {dibao: {review: {gradual_exit_months: {values: {soon: 6}}}}}\n",
            "programmes.dibao.review.gradual_exit_months.values.soon",
            "valid integer",
        ),
        (
            "programmes: {dibao: {review: {gradual_exit_months: {values: {1800: 6}}}}}\n",
            "programmes.dibao.review.gradual_exit_months.values.1800",
            "greater than or equal to 1900",
        ),
        (
            "programmes: {dibao: {review: {gradual_exit_months: {values: {2016.5: 6}}}}}\n",
            "programmes.dibao.review.gradual_exit_months.values (line 2)",
            "a key must be a name or a year, not 2016.5",
        ),
        (
            "programmes: {dibao: {review: {gradual_exit_months: {values: {}}}}}\n",
            "programmes.dibao.review.gradual_exit_months",
            "`values` is empty",
        ),
        # unicode in keys and values
        ('scenario: {name: "\u202e\U0001f600"}\n', "scenario.name", "should match pattern"),
        ('"\U0001f600\u202e": 1\n', "\U0001f600\\u202e", "unknown key"),
        ('scenario: {name: "a\\0b"}\n', "scenario.name", "(got 'a\\x00b')"),
        ("scenario: {name: a\x00b}\n", "", "not valid YAML: unacceptable character #x0000"),
        ('scenario: {name: "\\ud800"}\n', "line 2", "not valid YAML"),
        ("areas: {东区: {name: {en: East, zh: 东区}}}\n", "(top level)", "东区"),
        ('scenario: {title: {"\\e[31m[1]": x}}\n', "scenario.title.\\x1b[31m[1]", "unknown key"),
        ("areas: {5: {name: {en: x, zh: y}}}\n", "areas.5", "valid string (got 5)"),
    ],
)
def test_one_bad_value_names_the_file_and_the_key(tmp_path, capsys, text, key, words):
    path = overlay(tmp_path, text)
    status, err = validate(path, capsys)
    assert status == 2
    assert f"simlib: {path}: {key}" in err
    assert words in err


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("years", "end_year"), "years.end_year: Field required"),
        (("programmes", "dibao"), "programmes.dibao: Field required"),
        (("income", "persistence", "unit"), "income.persistence.unit: Field required"),
        (("income", "persistence", "assumption"), "income.persistence: a fact needs a `source`"),
        (("areas", "miyi"), "(top level): population.census_codes must give every area"),
    ],
)
def test_a_key_dropped_from_the_baseline_is_named(tmp_path, capsys, path, key):
    file = tmp_path / "baseline.yaml"
    file.write_text(file_text(edit(BASE_TREE, path, dropper)), encoding="utf-8")
    status, err = validate(file, capsys)
    assert status == 2 and f"simlib: {file}: {key}" in err, err


def test_deep_nesting_is_refused_before_python_recurses(tmp_path, capsys):
    # 2 levels of keys (scenario.description) + 90 levels of lists = 92 <= MAX_DEPTH: read,
    # then refused by the schema; 120 and 900 levels: refused by the loader; 5000: by libyaml.
    for depth, key, words in [
        (90, "scenario.description", "valid string"),
        (120, "scenario.description.0.0.0", f"nested more than {MAX_DEPTH} levels deep"),
        (900, "scenario.description.0.0.0", f"nested more than {MAX_DEPTH} levels deep"),
        (5000, "line 2", "exceeded maximum nesting depth"),
    ]:
        path = overlay(tmp_path, f"scenario: {{description: {nested(depth, 'list')}}}\n")
        status, err = validate(path, capsys)
        assert status == 2 and f"simlib: {path}: {key}" in err and words in err, (depth, err)
    path = tmp_path / "deep.yaml"  # block style, a key a level
    path.write_text("".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "x\n")
    status, err = validate(path, capsys)
    assert status == 2 and str(path) in err and "nest" in err


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ('!!python/object/apply:os.system ["echo owned"]', "!!python/object/apply:os.system"),
        ("!!python/object/new:str [x]", "!!python/object/new:str"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!foo bar", "!foo"),
        ("!!set {a: null}", "!!set"),
        ("!!omap [{a: 1}]", "!!omap"),
    ],
)
def test_tags_other_than_plain_data_are_refused(tmp_path, capsys, value, tag):
    path = overlay(tmp_path, f"scenario:\n  description: {value}\n")
    status, err = validate(path, capsys)
    assert status == 2
    assert f"simlib: {path}: scenario.description (line 3): not valid YAML" in err
    assert f"the tag {tag} is not allowed" in err


def test_an_object_tag_is_never_executed(tmp_path, capsys):
    marker = tmp_path / "owned"
    path = overlay(tmp_path, f'income: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert validate(path, capsys)[0] == 2
    assert not marker.exists()


def test_a_date_is_text(tmp_path, capsys):
    path = overlay(tmp_path, "scenario: {description: 2016-01-01}\n")
    assert validate(path, capsys)[0] == 0
    assert load_tree(path).data["scenario"]["description"] == "2016-01-01"


def test_anchors_and_aliases_work_and_a_recursive_alias_is_refused(tmp_path, capsys):
    # the baseline itself uses anchors for repeated assumptions
    assert "&q" in BASELINE.read_text(encoding="utf-8")
    path = overlay(tmp_path, "years: &y {base_year: 2015, end_year: 2020}\nx: *y\n")
    status, err = validate(path, capsys)
    assert status == 2 and f"simlib: {path}: x: unknown key" in err
    path = overlay(tmp_path, "years: {<<: {base_year: 2015}, end_year: 2020}\n")
    assert validate(path, capsys)[0] == 0
    # merge keys: a key written wins over a merged one, an earlier merged mapping over a later
    path = overlay(
        tmp_path,
        "years: {<<: [{base_year: 2016}, {base_year: 2010, end_year: 2040}], end_year: 2030}\n",
    )
    assert validate(path, capsys)[0] == 0
    assert load_tree(path).data["years"] == {"base_year": 2016, "end_year": 2030}
    path = overlay(tmp_path, "years: {<<: 5}\n")
    status, err = validate(path, capsys)
    assert status == 2 and f"{path}: years (line 2)" in err and "merge key" in err
    path = overlay(tmp_path, "income: &a {persistence: [*a]}\n")
    status, err = validate(path, capsys)
    assert status == 2
    assert f"{path}: income.persistence.0 (line 2)" in err and "contains it" in err
    path = overlay(tmp_path, "income: *nothing\n")
    status, err = validate(path, capsys)
    assert status == 2 and "undefined alias" in err


def test_an_alias_bomb_is_refused_quickly_and_small(tmp_path, capsys):
    # 9 ** 9 = 387 million strings if expanded; the loader counts before it builds
    path = overlay(tmp_path, f"scenario: {{description: {bomb(9, 9)}}}\n")
    tracemalloc.start()
    try:
        status, err = validate(path, capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 2
    assert f"{path}: scenario.description" in err and f"more than {MAX_VALUES:,} values" in err
    assert peak < 50e6, f"{peak / 1e6:.0f} MB"
    # a small one is fine: the schema refuses the list where it wants text
    path = overlay(tmp_path, f"scenario: {{description: {bomb(3, 3)}}}\n")
    status, err = validate(path, capsys)
    assert status == 2 and "scenario.description: Input should be a valid string" in err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty"),
        (b"# nothing but a comment\n\n", "the file is empty"),
        (b"- a\n- b\n", "the top level must be a mapping, not list"),
        (b"42\n", "the top level must be a mapping, not int"),
        (b"just text\n", "the top level must be a mapping, not str"),
        (b"a: 1\n---\nb: 2\n", "not valid YAML: but found another document"),
        (bytes(range(256)), "not UTF-8 text"),
        ("years: 1\n".encode("utf-16"), "not UTF-8 text"),
        (b"\x00\x01\x02", "not valid YAML: unacceptable character"),
        (
            b"years: {base_year: 2015, base_year: 2016}\n",
            "years (line 1): not valid YAML for a scenario file: duplicate key",
        ),
        (
            b"years: 1\nyears: 2\n",
            "line 2: not valid YAML for a scenario file: duplicate key 'years'",
        ),
        (b"? [a, b]\n: 1\n", "a key must be a name or a year"),
        (b"true: 1\n", "a key must be a name or a year, not True"),
    ],
)
def test_whole_files_that_are_not_scenarios(tmp_path, capsys, content, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    status, err = validate(path, capsys)
    assert status == 2 and err.startswith(f"simlib: {path}: ") and words in err, err


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("s.yaml", "extends cycle: s.yaml -> s.yaml"),
        ("nowhere.yaml", "the file it extends does not exist: nowhere.yaml"),
        (".", "the file it extends does not exist: ."),
        ("2015", "must be the path of another scenario file"),
        ('""', "must be the path of another scenario file"),
        ("[a.yaml]", "must be the path of another scenario file"),
        ('"a\\0b.yaml"', "does not exist: a\\x00b.yaml"),
        ("x" * 5000 + ".yaml", "cannot read the file it extends (File name too long)"),
        ("~no_such_user_here/x.yaml", "extends"),
    ],
)
def test_bad_extends(tmp_path, capsys, target, words):
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {target}\n")
    status, err = validate(path, capsys)
    assert status == 2 and err.startswith(f"simlib: {path}: extends: ") and words in err, err


def test_an_extends_loop_through_two_files(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nyears: {end_year: 2020}\n")
    status, err = validate(tmp_path / "a.yaml", capsys)
    assert status == 2 and f"{tmp_path / 'b.yaml'}: extends: extends cycle" in err


def test_a_command_line_path_that_cannot_be_a_file(tmp_path, capsys):
    for bad in ["y" * 5000, str(tmp_path), str(tmp_path / "absent.yaml")]:
        status, err = validate(Path(bad), capsys)
        assert status == 2 and err.startswith("simlib: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("population: {census_file: VALUE}", "missing.csv", "cannot read the census file"),
        ("population: {census_file: VALUE}", "garbage.csv", "cannot read the census file"),
        ("population: {census_file: VALUE}", "empty.csv", "no census in the file"),
        ("population: {census_file: VALUE}", "folder", "Is a directory"),
        ("population: {census_file: VALUE}", '"a\\0b.csv"', "not a usable file path"),
        ("population: {census_file: VALUE}", "z" * 5000, "File name too long"),
        ("population: {census_file: VALUE}", "7", "valid string"),
        ("health: {transitions_file: VALUE}", "missing.csv", "cannot read the transitions file"),
        ("health: {transitions_file: VALUE}", "garbage.csv", "can't decode"),
        ("health: {transitions_file: VALUE}", "empty.csv", "missing columns"),
        ("economy: {history_files: [VALUE]}", "missing.csv", "cannot read the history file"),
        ("economy: {history_files: [VALUE]}", "garbage.csv", "cannot read the history file"),
        ("economy: {history_files: [VALUE]}", "text.csv", "missing column"),
        (
            "institutions: {stock: {bulletin_file: VALUE}}",
            "missing.csv",
            "cannot read the history file",
        ),
    ],
)
def test_data_files_that_are_missing_or_garbage(tmp_path, capsys, key, value, words):
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "text.csv").write_text("just, some\ntext,\n")
    (tmp_path / "folder").mkdir()
    path = overlay(tmp_path, key.replace("VALUE", value) + "\n")
    status, err = validate(path, capsys)
    dotted = {
        "pop": "population.census_file",
        "hea": "health.transitions_file",
        "eco": "economy.history_files.0",
        "ins": "institutions.stock.bulletin_file",
    }[key[:3]]
    assert status == 2 and f"simlib: {path}: {dotted}: " in err and words in err, err


def test_a_census_code_missing_from_the_census_file(tmp_path, capsys):
    path = overlay(tmp_path, 'population: {census_codes: {miyi: "519999"}}\n')
    status, err = validate(path, capsys)
    assert status == 2
    assert f"{path}: population.census_codes.miyi: census code '519999' has 0 censuses" in err


def test_a_key_missing_because_an_overlay_replaced_its_parent_blames_the_overlay(tmp_path):
    # dated values are replaced whole: the overlay's {2016: {yanbian: {urban: ...}}} drops
    # yanbian.rural, which only the baseline ever wrote
    path = overlay(
        tmp_path,
        "demography: {household_formation: {rate: {values: {2016: {yanbian: {urban: 0.5}}}}}}\n",
    )
    with pytest.raises(ParameterError) as e:
        load_scenario(path)
    key = "demography.household_formation.rate.values.2016.yanbian.rural"
    assert str(e.value) == f"{path}: {key}: Field required"


def test_loading_twice_gives_the_same_tree_whatever_the_first_caller_changed(tmp_path):
    first = load_tree(BASELINE)
    first.data["population"]["census_codes"]["dongqu"] = "changed"
    first.data["economy"]["history_files"].append("more.csv")
    second = load_tree(BASELINE)
    assert second.data["population"]["census_codes"]["dongqu"] == "510402"
    assert "more.csv" not in second.data["economy"]["history_files"]
    assert read_yaml(BASELINE) is not read_yaml(BASELINE)


# --- simlib run: a bad file stops before any run folder ----------------------------------------


def test_run_with_a_bad_file_exits_2_and_makes_no_run_folder(tmp_path, capsys):
    # one refused by the loader (an alias bomb), one by the data-file check: no model runs
    for text, key in [
        (f"scenario: {{description: {bomb(9, 9)}}}\n", "scenario.description"),
        ("population: {census_file: missing.csv}\n", "population.census_file"),
    ]:
        path = overlay(tmp_path, text)
        out = tmp_path / "out"
        status = main(["run", str(path), "--out", str(out), "--run-id", "r", "--quiet"])
        err = capsys.readouterr().err
        assert status == 2 and f"simlib: {path}: {key}" in err and "Traceback" not in err
        assert not out.exists()
