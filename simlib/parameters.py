"""Scenario files: safe YAML, ``extends:``, merging, and errors that name the key.

A scenario file is YAML.  It may ``extends:`` another file (a path relative to the
file that says it, or absolute) and then only writes the keys it changes: the diff
is the scenario (DESIGN §5).  Loading

1. reads each file with libyaml's safe parser and builds plain data only: text,
   numbers, true/false (``yes``/``no``/``on``/``off`` stay text), lists and mappings;
   no object tags (``!!python/...``), ``!!binary``, ``!!set`` or custom ``!tags``, no
   duplicate keys, no keys other than names and years, at most ``MAX_DEPTH`` levels and
   ``MAX_VALUES`` values with aliases expanded (an alias bomb is refused before it is
   built); a date is read as text.  A refusal names the key path and the line;
2. follows ``extends:`` to the root, refusing a missing target or a cycle;
3. resolves data paths (keys ending in ``file`` or ``files``) relative to the file
   that wrote them;
4. merges parent and child key by key, remembering which file set each key;
5. validates the merged tree against a pydantic schema.

Any problem raises :class:`ParameterError`, whose lines each name the file, the
key path and what is wrong.  The command line prints them and exits with status 2.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

KeyPath = tuple[str, ...]
FACT_VALUE_KEYS = ("value", "values")
FACT_PROVENANCE_KEYS = ("source", "assumption")


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return _printable(f"{where}: {self.message}")


def _printable(text: str) -> str:
    """``text`` with control and format characters (NUL, escape sequences, right-to-left
    marks) written as escapes, so that a message shows what the file holds."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ParameterError(Exception):
    """A scenario file is wrong; every problem names the file and the key path."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Tree:
    """A merged scenario: the data, the file that set each key, and the chain of files."""

    data: dict[str, Any]
    origin: dict[KeyPath, Path] = field(default_factory=dict)
    chain: list[Path] = field(default_factory=list)

    def file_of(self, path: KeyPath) -> Path:
        """The file to blame for ``path``: the last in the chain that set it, a key below it,
        or a key above it (a file that sets a key above replaces what was below: the key
        ``path`` may be missing because of it)."""
        n = len(path)
        touched = [f for p, f in self.origin.items() if p[:n] == path]
        touched += [self.origin[path[:k]] for k in range(1, n) if path[:k] in self.origin]
        return max(touched, key=self.chain.index) if touched else self.chain[-1]


# --- reading -----------------------------------------------------------------------


MAX_DEPTH = 100
"""Deepest nesting of mappings and lists a scenario file may have (the baseline has 8)."""
MAX_VALUES = 200_000
"""Most values a scenario file may hold with its aliases expanded (the baseline has about
25,000): an alias bomb ("billion laughs") is refused before it is built."""
_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
_SafeConstructor = yaml.constructor.SafeConstructor
_SCALARS: dict[str, tuple[str, Any]] = {
    _TAG + "null": ("null", lambda loader, node: None),
    _TAG + "bool": ("true or false", _SafeConstructor.construct_yaml_bool),
    _TAG + "int": ("whole number", _SafeConstructor.construct_yaml_int),
    _TAG + "float": ("number", _SafeConstructor.construct_yaml_float),
    _TAG + "str": ("text", lambda loader, node: node.value),
    _TAG + "timestamp": ("text", lambda loader, node: node.value),  # a date is read as text
    _TAG + "value": ("text", lambda loader, node: node.value),  # a plain `=`
    _MERGE: ("text", lambda loader, node: node.value),  # `<<` other than as a key
}
"""The scalars a scenario file may hold: what each is called, and how it is read.  Plain data
only: no object tags (``!!python/...``), no ``!!binary``, ``!!set``, ``!!omap``, ``!!pairs``
or custom ``!tags``."""


class RefusedYAML(yaml.YAMLError):
    """YAML that a scenario file may not contain; names the key and the line."""

    def __init__(self, node: yaml.Node, path: KeyPath, message: str):
        super().__init__(message)
        self.key = ".".join(path if len(path) <= 12 else (*path[:10], "...", path[-1]))
        self.line = node.start_mark.line + 1
        self.message = f"not valid YAML for a scenario file: {message}"


class _Builder:
    """Python data from a composed YAML node graph, in one walk that knows each value's key
    path: plain data only, at most :data:`MAX_DEPTH` levels deep and :data:`MAX_VALUES`
    values with aliases expanded (a node reached through several aliases is built once and
    counted each time, so an alias bomb is refused before it is expanded), no recursive
    aliases, no duplicate keys, keys that are names or years, and ``<<`` merge keys
    (explicit keys win over merged ones, an earlier merged mapping over a later one)."""

    def __init__(self, loader: yaml.SafeLoader):
        self.loader = loader
        self.built: dict[int, tuple[Any, int, int]] = {}  # id(node) -> (data, size, height)
        self.open: set[int] = set()

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> tuple[Any, int, int]:
        """The data of ``node``, its number of values and its height (levels below it)."""
        known = self.built.get(id(node))
        if known is not None:
            if depth + known[2] > MAX_DEPTH:
                raise RefusedYAML(node, path, f"nested more than {MAX_DEPTH} levels deep")
            return known
        if id(node) in self.open:
            raise RefusedYAML(node, path, "an alias refers to a value that contains it")
        if depth > MAX_DEPTH:
            raise RefusedYAML(node, path, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path), 1, 0
        if node.tag not in (_TAG + "map", _TAG + "seq"):
            self.refuse_tag(node, path)
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            data, size, height = self.mapping(node, path, depth)
        else:
            data, size, height = [], 1, 0
            for i, item in enumerate(node.value):
                value, n, h = self.build(item, (*path, str(i)), depth + 1)
                data.append(value)
                size, height = self.count(node, path, size + n), max(height, h + 1)
        self.open.discard(id(node))
        self.built[id(node)] = data, size, height
        return data, size, height

    def mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> tuple[dict, int, int]:
        data: dict = {}
        merged: dict = {}
        size, height = 1, 0
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                value, n, h = self.build(value_node, path, depth + 1)
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(s, dict) for s in sources):
                    raise RefusedYAML(
                        key_node, path, "a merge key `<<` takes a mapping or a list of mappings"
                    )
                for source in sources:
                    for k, v in source.items():
                        merged.setdefault(k, v)
            else:
                key, _, _ = self.build(key_node, path, depth + 1)
                if isinstance(key, bool) or not isinstance(key, str | int):
                    raise RefusedYAML(
                        key_node, path, f"a key must be a name or a year, not {_short(key)}"
                    )
                if key in data:
                    raise RefusedYAML(key_node, path, f"duplicate key {_short(key)}")
                data[key], n, h = self.build(value_node, (*path, str(key)), depth + 1)
            size, height = self.count(node, path, size + n), max(height, h + 1)
        if merged:
            data = {**{k: v for k, v in merged.items() if k not in data}, **data}
        return data, size, height

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        kind, construct = _SCALARS.get(node.tag, (None, None))
        if construct is None:
            self.refuse_tag(node, path)
        try:
            return construct(self.loader, node)
        except (ValueError, KeyError, TypeError, OverflowError) as e:  # `!!int "twelve"`
            problem = f"{_short(node.value)} is not a valid {kind}"
            detail = str(e) if isinstance(e, ValueError) and "digits" in str(e) else ""
            raise RefusedYAML(node, path, f"{problem} ({detail})" if detail else problem) from None

    @staticmethod
    def count(node: yaml.Node, path: KeyPath, size: int) -> int:
        if size > MAX_VALUES:
            raise RefusedYAML(
                node,
                path,
                f"more than {MAX_VALUES:,} values once its aliases are expanded (an alias bomb?)",
            )
        return size

    @staticmethod
    def refuse_tag(node: yaml.Node, path: KeyPath) -> None:
        tag = node.tag.replace(_TAG, "!!")
        raise RefusedYAML(
            node,
            path,
            f"the tag {tag} is not allowed (plain values only: text, numbers, true/false, "
            "lists and mappings)",
        )


_PLAIN_TAGS: dict[str, str] = {}
"""The tag of each plain scalar read so far (PyYAML's resolver is slow and pure Python)."""


class _StrictSafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe parser (its C version where libyaml is there), building the data with
    :class:`_Builder` rather than PyYAML's constructor."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        # BaseResolver.resolve without path resolvers (there are none), remembering plain
        # scalars' tags: the regular expressions are slow and the same words come again
        if kind is yaml.ScalarNode:
            if not implicit[0]:  # quoted, or a block scalar: text
                return self.DEFAULT_SCALAR_TAG
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                if len(_PLAIN_TAGS) > 100_000:
                    _PLAIN_TAGS.clear()
                tag = super().resolve(kind, value, implicit)
                if tag == _TAG + "bool" and value.lower() not in ("true", "false"):
                    tag = self.DEFAULT_SCALAR_TAG  # YAML 1.1's yes/no/on/off are text here
                _PLAIN_TAGS[value] = tag
            return tag
        if kind is yaml.MappingNode:
            return self.DEFAULT_MAPPING_TAG
        return self.DEFAULT_SEQUENCE_TAG

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        return None if node is None else _Builder(self).build(node, (), 0)[0]


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML file safely; the top level must be a mapping."""
    return copy.deepcopy(_read_shared(path))


def _read_shared(path: Path) -> dict[str, Any]:
    """:func:`read_yaml` without the copy: the caller must not change what it gets."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ParameterError([Problem(str(path), "", "file not found")]) from None
    except IsADirectoryError:
        raise ParameterError([Problem(str(path), "", "is a folder, not a file")]) from None
    except OSError as e:
        raise ParameterError([Problem(str(path), "", f"cannot read it ({e.strerror})")]) from None
    return _parsed(str(path), content)


@functools.lru_cache(maxsize=8)
def _parsed(path: str, content: bytes) -> dict[str, Any]:
    """The data of a YAML file's ``content``, remembered (a sweep, a batch, a notebook read the
    same files many times and PyYAML is slow): never change what this returns."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParameterError([Problem(path, "", f"not UTF-8 text ({e.reason})")]) from None
    try:
        data = yaml.load(text, Loader=_StrictSafeLoader)  # a SafeLoader subclass
    except RefusedYAML as e:
        key = f"{e.key} (line {e.line})" if e.key else f"line {e.line}"
        raise ParameterError([Problem(str(path), key, e.message)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ParameterError([Problem(str(path), where, f"not valid YAML: {problem}")]) from None
    except (ValueError, OverflowError, RecursionError) as e:
        raise ParameterError([Problem(str(path), "", f"not valid YAML: {e}")]) from None
    if data is None:
        raise ParameterError([Problem(str(path), "", "the file is empty")])
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ParameterError(
            [Problem(str(path), "", f"the top level must be a mapping, not {kind}")]
        )
    return data


class _BadPath(Exception):
    def __init__(self, problem: str):
        self.problem = problem
        self.path: list[str] = []


def _resolve_paths(node: Any, file: Path) -> Any:
    """Make data paths (keys ending in ``file``/``files``) absolute, relative to ``file``.

    Returns new mappings and lists throughout (no part shared with ``node``, nor between
    two places that were one YAML alias).
    """
    try:
        return _resolved(node, file.parent, "")
    except _BadPath as e:
        key = ".".join(e.path)
        raise ParameterError([Problem(str(file), key, e.problem)]) from None


def _resolved(node: Any, base: Path, key: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            try:
                out[k] = _resolved(v, base, str(k))
            except _BadPath as e:
                e.path.insert(0, str(k))
                raise
        return out
    if isinstance(node, list):
        items = []
        for i, v in enumerate(node):
            try:
                items.append(_resolved(v, base, key))
            except _BadPath as e:
                e.path.insert(0, str(i))
                raise
        return items
    if isinstance(node, str) and key.endswith(("file", "files")) and key != "extends":
        try:
            return node if Path(node).is_absolute() else str((base / node).resolve())
        except (OSError, ValueError) as e:  # a NUL character, a name too long for the system
            raise _BadPath(
                f"not a usable file path ({getattr(e, 'strerror', None) or e})"
            ) from None
    return node


def _extended_file(file: Path, parent: Any) -> Path:
    """The file that ``file`` extends (its ``extends:`` value ``parent``), which must exist."""
    if not isinstance(parent, str) or not parent.strip():
        raise ParameterError(
            [Problem(str(file), "extends", "must be the path of another scenario file")]
        )
    try:
        target = Path(parent).expanduser()
        target = target if target.is_absolute() else file.parent / target
        if target.is_file():
            return target.resolve()
        problem = "the file it extends does not exist"
    except (OSError, ValueError, RuntimeError) as e:  # a name too long, NUL, unknown ~user
        problem = f"cannot read the file it extends ({getattr(e, 'strerror', None) or e})"
    raise ParameterError([Problem(str(file), "extends", f"{problem}: {parent}")])


# --- extends and merging -------------------------------------------------------------


def _is_fact(node: Any) -> bool:
    return isinstance(node, dict) and "unit" in node and any(k in node for k in FACT_VALUE_KEYS)


def _as_fact_override(base: dict, override: Any) -> Any:
    """Let a scenario change a fact by its value alone: ``ratio: 0.35`` or ``{2018: 560}``."""
    if isinstance(override, dict) and any(k in override for k in (*FACT_VALUE_KEYS, "unit")):
        return override
    if isinstance(override, dict) and override and all(isinstance(k, int) for k in override):
        return {"values": override}
    if not isinstance(override, dict | list):
        return {"value": override}
    return override


def _merge(base: Any, over: Any, path: KeyPath, origin: dict, src: Path) -> Any:
    """``over`` merged onto ``base``; neither is changed.  Parts of ``over`` are used as
    they are (not copied): each file's data is new from :func:`_resolve_paths`."""
    if isinstance(base, dict) and _is_fact(base):
        over = _as_fact_override(base, over)
    if not (isinstance(base, dict) and isinstance(over, dict)):
        _record(over, path, origin, src)
        return over
    merged = dict(base)
    replaces_value = _is_fact(base) and any(k in over for k in FACT_VALUE_KEYS)
    if replaces_value:
        # A new value replaces the old one whole (dated values are not merged year by
        # year), and a value without its own provenance is the scenario's assumption.
        for k in FACT_VALUE_KEYS:
            merged.pop(k, None)
        if not any(k in over for k in FACT_PROVENANCE_KEYS):
            merged.pop("source", None)
            merged["assumption"] = f"set by scenario file {src.name}"
            origin[(*path, "assumption")] = src
    for k, v in over.items():
        key_path = (*path, str(k))
        if k in merged and not (replaces_value and k in FACT_VALUE_KEYS):
            merged[k] = _merge(merged[k], v, key_path, origin, src)
        else:
            _record(v, key_path, origin, src)
            merged[k] = v
    return merged


def _record(node: Any, path: KeyPath, origin: dict, src: Path) -> None:
    origin[path] = src
    if isinstance(node, dict):
        for k, v in node.items():
            _record(v, (*path, str(k)), origin, src)


def load_tree(path: str | Path) -> Tree:
    """Read a scenario file and everything it extends, merged, with each key's origin."""
    try:
        current = Path(path).expanduser().resolve()
    except (OSError, ValueError, RuntimeError) as e:
        problem = getattr(e, "strerror", None) or str(e)
        raise ParameterError([Problem(str(path), "", f"cannot read it ({problem})")]) from None
    chain: list[Path] = []
    datas: list[dict] = []
    while True:
        resolved = current
        if resolved in chain:
            loop = " -> ".join(p.name for p in [*chain, resolved])
            raise ParameterError([Problem(str(chain[-1]), "extends", f"extends cycle: {loop}")])
        data = dict(_read_shared(resolved))  # _resolve_paths copies the rest
        chain.append(resolved)
        parent = data.pop("extends", None)
        datas.append(_resolve_paths(data, resolved))
        if parent is None:
            break
        current = _extended_file(resolved, parent)
    tree = Tree(data={}, chain=list(reversed(chain)))
    merged: Any = {}
    for src, data in zip(reversed(chain), reversed(datas), strict=True):
        merged = _merge(merged, data, (), tree.origin, src)
    tree.data = merged
    return tree


# --- validation -----------------------------------------------------------------------


_TYPE_TAG = re.compile(r"^(\[key\]|[a-z][a-z0-9_-]*\[.*\])$", re.DOTALL)
"""Pydantic's own steps in an error location (``function-after[...]``, ``union[...]``,
``[key]``), as opposed to a key of the file (which may hold any character)."""


def _loc_to_path(loc: tuple) -> KeyPath:
    """Pydantic's error location as a key path, without its internal type tags."""
    return tuple(str(item) for item in loc if not _TYPE_TAG.match(str(item)))


def validate[M: BaseModel](tree: Tree, schema: type[M]) -> M:
    """Validate a merged tree; errors name the file that set the key, and the key path."""
    try:
        return schema.model_validate(tree.data)
    except ValidationError as e:
        problems = []
        seen = set()
        for err in e.errors(include_url=False):
            path = _loc_to_path(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif err["type"] == "model_type":  # not a mapping; pydantic names the class
                fact = str(err.get("ctx", {}).get("class_name", "")).startswith("Fact[")
                message = _FACT_SHAPE if fact else "Input should be a mapping (a block of keys)"
            if "input" in err and err["type"] not in ("missing", "extra_forbidden"):
                got = _short(err["input"]) or ("a list" if isinstance(err["input"], list) else "")
                message = f"{message} (got {got})" if got else message
            key = ".".join(path) or "(top level)"
            item = (str(tree.file_of(path)), key, message)
            if item not in seen:
                seen.add(item)
                problems.append(Problem(*item))
        raise ParameterError(problems) from None


_FACT_SHAPE = (
    "Input should be a fact: a mapping with `value` (or dated `values`), `unit`, "
    "and `source` or `assumption`"
)


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- identity -------------------------------------------------------------------------


def _key_text(item: tuple[Any, Any]) -> str:
    return str(item[0])  # the key only: str() of the whole item would print the subtree


def _with_file_digests(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {
            str(k): _with_file_digests(v, str(k)) for k, v in sorted(node.items(), key=_key_text)
        }
    if isinstance(node, list):
        return [_with_file_digests(v, key) for v in node]
    if isinstance(node, str) and key.endswith(("file", "files")):
        p = Path(node)
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "missing"
        return f"{p.name}#sha256:{digest}"
    return node


def parameter_hash(data: dict[str, Any]) -> str:
    """A short hash of the resolved parameters: data files count by content, not location."""
    canonical = json.dumps(_with_file_digests(data), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def dump_yaml(data: dict[str, Any]) -> str:
    """The resolved parameters as YAML, in file order, unicode kept."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
