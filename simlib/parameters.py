"""Scenario files: safe YAML, ``extends:``, merging, and errors that name the key.

A scenario file is YAML.  It may ``extends:`` another file (a path relative to the
file that says it, or absolute) and then only writes the keys it changes: the diff
is the scenario (DESIGN §5).  Loading

1. reads each file with a safe loader (no object tags, no duplicate keys);
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
import hashlib
import json
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
        return f"{where}: {self.message}"


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
        """The file to blame for ``path``: the last in the chain that set it or a key below it.

        Without such a key, the file that set the nearest enclosing key.
        """
        n = len(path)
        below = [f for p, f in self.origin.items() if p[:n] == path]
        if below:
            return max(below, key=self.chain.index)
        for k in range(n - 1, -1, -1):
            if path[:k] in self.origin:
                return self.origin[path[:k]]
        return self.chain[-1]


# --- reading -----------------------------------------------------------------------


class _StrictSafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (its C version where libyaml is there), refusing duplicate keys."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a name or a year, not {key!r}", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML file safely; the top level must be a mapping."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ParameterError([Problem(str(path), "", "file not found")]) from None
    except IsADirectoryError:
        raise ParameterError([Problem(str(path), "", "is a folder, not a file")]) from None
    except UnicodeDecodeError as e:
        raise ParameterError([Problem(str(path), "", f"not UTF-8 text ({e.reason})")]) from None
    try:
        data = yaml.load(text, Loader=_StrictSafeLoader)  # a SafeLoader subclass
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


def _resolve_paths(node: Any, base: Path, key: str = "") -> Any:
    """Make data paths (keys ending in ``file``/``files``) absolute, relative to ``base``."""
    if isinstance(node, dict):
        return {k: _resolve_paths(v, base, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_paths(v, base, key) for v in node]
    if isinstance(node, str) and key.endswith(("file", "files")) and key != "extends":
        return str((base / node).resolve()) if not Path(node).is_absolute() else node
    return node


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
    if isinstance(base, dict) and _is_fact(base):
        over = _as_fact_override(base, over)
    if not (isinstance(base, dict) and isinstance(over, dict)):
        _record(over, path, origin, src)
        return copy.deepcopy(over)
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
            merged[k] = copy.deepcopy(v)
    return merged


def _record(node: Any, path: KeyPath, origin: dict, src: Path) -> None:
    origin[path] = src
    if isinstance(node, dict):
        for k, v in node.items():
            _record(v, (*path, str(k)), origin, src)


def load_tree(path: str | Path) -> Tree:
    """Read a scenario file and everything it extends, merged, with each key's origin."""
    start = Path(path).expanduser().absolute()
    chain: list[Path] = []
    datas: list[dict] = []
    current = start
    while True:
        resolved = current.resolve()
        if resolved in chain:
            loop = " -> ".join(p.name for p in [*chain, resolved])
            raise ParameterError([Problem(str(chain[-1]), "extends", f"extends cycle: {loop}")])
        data = read_yaml(resolved)
        chain.append(resolved)
        parent = data.pop("extends", None)
        datas.append(_resolve_paths(data, resolved.parent))
        if parent is None:
            break
        if not isinstance(parent, str) or not parent.strip():
            raise ParameterError(
                [Problem(str(resolved), "extends", "must be the path of another scenario file")]
            )
        target = Path(parent).expanduser()
        current = target if target.is_absolute() else resolved.parent / target
        if not current.is_file():
            raise ParameterError(
                [Problem(str(resolved), "extends", f"the file it extends does not exist: {parent}")]
            )
    tree = Tree(data={}, chain=list(reversed(chain)))
    merged: Any = {}
    for src, data in zip(reversed(chain), reversed(datas), strict=True):
        merged = _merge(merged, data, (), tree.origin, src)
    tree.data = merged
    return tree


# --- validation -----------------------------------------------------------------------


def _loc_to_path(loc: tuple) -> KeyPath:
    """Pydantic's error location as a key path, without its internal type tags."""
    parts = []
    for item in loc:
        text = str(item)
        if text.startswith(("function-", "union[", "tagged-union[")) or "[" in text:
            continue
        parts.append(text)
    return tuple(parts)


def validate[M: BaseModel](tree: Tree, schema: type[M]) -> M:
    """Validate a merged tree; errors name the file that set the key, and the key path."""
    try:
        return schema.model_validate(tree.data)
    except ValidationError as e:
        problems = []
        seen = set()
        for err in e.errors(include_url=False):
            path = _loc_to_path(err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif "input" in err and err["type"] not in ("missing",) and _short(err["input"]):
                message = f"{message} (got {_short(err['input'])})"
            key = ".".join(path) or "(top level)"
            item = (str(tree.file_of(path)), key, message)
            if item not in seen:
                seen.add(item)
                problems.append(Problem(*item))
        raise ParameterError(problems) from None


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- identity -------------------------------------------------------------------------


def _with_file_digests(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {str(k): _with_file_digests(v, str(k)) for k, v in sorted(node.items(), key=str)}
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
