"""The glossary (术语表): every label a report shows, in Chinese and English, from one file.

Reports, workbooks and figures take ``lang="zh"`` or ``lang="en"``.  Their labels of
metrics (with units), programmes, funders (中央 / 省级 / 市级 / 县(区)级财政), areas,
strata (城镇 / 农村), plan-target statuses (达成 / 有风险 / 未达成) and common headings
all come from ``simlib/glossary.yaml``, which is installed with the package and read
once per process.  A key the glossary lacks is shown as the key itself, so a new
metric never breaks a report; :func:`missing` lists the metrics, programmes and funders
of the model that the glossary lacks, and a test fails on any.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field

from simlib.facts import Strict

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
KINDS = ("metrics", "programmes", "funders", "areas", "strata", "statuses", "terms")


class Entry(Strict):
    """A label in English and Chinese."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class MetricEntry(Entry):
    """A metric's label and unit in English and Chinese."""

    unit_en: str = Field(min_length=1)
    unit_zh: str = Field(min_length=1)


class Glossary(Strict):
    """The file ``glossary.yaml``: one section per kind of label."""

    metrics: dict[str, MetricEntry]
    programmes: dict[str, Entry]
    funders: dict[str, Entry]
    areas: dict[str, Entry]
    strata: dict[str, Entry]
    statuses: dict[str, Entry]
    terms: dict[str, Entry]


def check_lang(lang: str) -> Lang:
    """``lang`` if it is a language of the reports (zh or en); otherwise a ValueError."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use zh or en")
    return lang  # type: ignore[return-value]


@cache
def glossary() -> Glossary:
    """The glossary file of the package, validated (read once)."""
    text = resources.files("simlib").joinpath("glossary.yaml").read_text(encoding="utf-8")
    return Glossary.model_validate(yaml.safe_load(text))


def _section(kind: str) -> dict[str, Entry]:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of label {kind!r}: use one of {', '.join(KINDS)}")
    return getattr(glossary(), kind)


def label(kind: str, key: str, lang: Lang) -> str:
    """The label of ``key`` (a metric, programme, funder, area, stratum, status or term) in
    ``lang``; the key itself when the glossary lacks it."""
    lang = check_lang(lang)
    entry = _section(kind).get(key)
    return key if entry is None else getattr(entry, lang)


def unit(metric: str, lang: Lang) -> str:
    """The unit of ``metric`` in ``lang`` (``人``, ``元/人·月`` ...); empty when unknown."""
    lang = check_lang(lang)
    entry = glossary().metrics.get(metric)
    return "" if entry is None else getattr(entry, f"unit_{lang}")


def labels(kind: str, lang: Lang) -> dict[str, str]:
    """Every label of one kind in ``lang``, key -> label, in the glossary's order."""
    lang = check_lang(lang)
    return {key: getattr(entry, lang) for key, entry in _section(kind).items()}


def missing() -> dict[str, list[str]]:
    """The metrics, programmes and funders of the model that the glossary lacks."""
    from simlib.ledger import FUNDERS, PROGRAMMES
    from simlib.model import METRICS

    g = glossary()
    return {
        "metrics": [m.name for m in METRICS if m.name not in g.metrics],
        "programmes": [p for p in PROGRAMMES if p not in g.programmes],
        "funders": [f for f in FUNDERS if f not in g.funders],
    }
