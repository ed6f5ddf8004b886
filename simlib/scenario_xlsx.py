"""Scenarios from a spreadsheet: finance staff change numbers in Excel, never in YAML.

``simlib scenario template PARAMS.yaml --out FILE.xlsx`` writes a workbook listing every
parameter a scenario (情景) may change; ``simlib scenario from-xlsx FILE.xlsx --out NEW.yaml``
turns the rows whose *new value* is filled into a scenario file that ``extends`` the
original, validated like any scenario file (DESIGN §5: the diff is the scenario).

What is listed.  The resolved tree of PARAMS.yaml (after ``extends``) is walked in file
order, except the ``scenario`` and ``areas`` blocks.  A row is

- a **number**: a fact (``unit`` and ``value``) whose value is one number;
- **dated**: a fact whose dated ``values`` are each one number (``2015: 0.5; 2017: 0.7``);
- a **switch**: a plain field (not a fact) whose type in the pydantic schema is ``bool``,
  a ``Literal`` (its choices are listed and offered as a drop-down), or a whole or decimal
  number (``burn_in_years``, ``years.end_year``); not a driver's ``method``, which decides
  the driver's other keys (:data:`STRUCTURAL`);
- a **table (read-only)**: a fact whose value is a list or a mapping (age profiles, the bed
  pipeline, area weights, benefit bands).  It is listed so that every fact is in the
  workbook, but it cannot be changed there: a finance officer cannot fill a table in one
  cell; such a change is made in a YAML scenario.

Mappings inside lists (old-age allowance tiers, plan targets) are walked with the item's
position as a key segment (``tiers.0.monthly_amount``); lists of plain values (age bounds,
preference orders) and text fields (indicator names, codes, file names) are not listed.

Sheets.  ``README 说明`` (how to fill the workbook, in Chinese and English, and the cells
for the new scenario's name and titles), then one sheet per top-level block
(``population``, ``standards``, ``funding``...), the ``programmes`` block split into one
sheet per programme (``dibao 低保``...), and a hidden ``_meta`` sheet holding the path of
PARAMS (absolute, and relative to the workbook) and its parameter hash.  Columns of a
block sheet: key (the parameter path), label in Chinese and in English, kind, unit,
allowed values (the range of the schema's type, or the choices), current value, **new
value**, **reason**, source or assumption.  Columns are found by their heading, so a
column inserted or rows sorted by the user do no harm; rows are identified by their key.

A new value is one number (it holds in every year, replacing dated values), or dated
values written as ``2017: 0.3; 2020: 0.35`` (full-width ``：；`` and ``%`` are accepted):
each holds from its year on, and the years before the first keep their current values
(the current value at the base year, or the current dated values before the first new
year, are written with the new ones).  A switch takes one of its choices.

The scenario written.  Each changed fact is written whole: the new ``value`` or ``values``,
the original ``unit``, and ``assumption:`` the reason written in the row (default "set by
spreadsheet FILE") followed by the sheet, row and the value it replaces; the original's
``source`` and ``note`` are written as ``null`` so that they do not vouch for a number
they did not give.  A change inside a list writes the whole list (a scenario cannot change
one item of a list: lists are replaced, not merged).  Switch changes and their reasons are
listed in ``scenario.description``.  ``extends`` is the original's path relative to the
new file.  Every cell is checked (an unknown key, text in a number, a filled read-only
row, a key given twice), the scenario is validated with
:func:`simlib.scenario.load_scenario`, and every problem is reported at once as a
:class:`SpreadsheetError` (a :class:`~simlib.parameters.ParameterError`) whose lines name
the sheet, the row and the key.  Files are written atomically and never overwritten
without ``--force``.

Command line (:func:`add_arguments`)::

    simlib scenario template PARAMS.yaml --out FILE.xlsx [--force]
    simlib scenario from-xlsx FILE.xlsx --out NEW.yaml [--params PARAMS.yaml] [--name NAME]
                              [--force]

``--params`` names the scenario to extend when the workbook's ``_meta`` sheet is missing
or its file has moved (the relative path is tried after the absolute one); a note is
printed if that file has changed since the template was written (its parameter hash).
The name of the new scenario is ``--name``, else the README's name cell, else the file
name of NEW.yaml.

Labels.  Column headings are the glossary's terms (:func:`simlib.glossary.label`, kind
``"terms"``: key_path, unit, current_value, new_value, source, assumption, label) where it
has them, else the small table :data:`HEADINGS` (kind, allowed values, reason).  A row's
label is its key below the sheet's block in words: programmes, funders and strata from the
glossary, area codes by the scenario's own ``areas`` names, plan targets by their names,
other words from the small table :data:`WORDS_ZH` (or left in English).  The glossary has
no labels of parameters; when it gets them, :func:`row_label` is the one place to use them.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import re
import types
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simlib.errors import UserError
from simlib.facts import Fact
from simlib.files import write_atomic
from simlib.parameters import (
    FACT_VALUE_KEYS,
    KeyPath,
    ParameterError,
    Problem,
    dump_yaml,
)

FORMAT = "simlib scenario template 1"
META_SHEET = "_meta"
README_SHEET = "README 说明"
SKIPPED_BLOCKS = ("scenario", "areas")
SPLIT_BLOCKS = ("programmes",)  # one sheet per programme
# Switches not listed: a driver's method decides which other keys the driver has.
STRUCTURAL = (("economy", "drivers", "*", "method"),)

Kind = Literal["number", "dated", "switch", "table"]
KIND_TEXT = {
    "number": "数值 number",
    "dated": "分年数值 dated",
    "switch": "开关 switch",
    "table": "表格(只读) table (read-only)",
}

COLUMNS = (
    "key",
    "label_zh",
    "label_en",
    "kind",
    "unit",
    "allowed",
    "current",
    "new_value",
    "reason",
    "source",
)
HEADINGS = {
    "key": ("键(参数路径)", "key (parameter path)"),
    "label_zh": ("名称(中文)", "label (Chinese)"),
    "label_en": ("名称(英文)", "label (English)"),
    "kind": ("类型", "kind"),
    "unit": ("单位", "unit"),
    "allowed": ("允许值", "allowed values"),
    "current": ("当前值", "current value"),
    "new_value": ("新值", "new value"),
    "reason": ("理由", "reason"),
    "source": ("来源或假设", "source or assumption"),
}
# Headings the glossary (simlib/glossary.yaml, kind "terms") has: column -> its term(s).
GLOSSARY_TERMS = {
    "key": ("key_path",),
    "unit": ("unit",),
    "current": ("current_value",),
    "new_value": ("new_value",),
    "source": ("source", "assumption"),
}
LABEL_KINDS = ("programmes", "funders", "strata")  # glossary kinds used in row labels
WIDTHS = {
    "key": 50,
    "label_zh": 30,
    "label_en": 40,
    "kind": 14,
    "unit": 36,
    "allowed": 16,
    "current": 24,
    "new_value": 20,
    "reason": 40,
    "source": 80,
}

# Common key words in Chinese (GLOSSARY.md); a word not here stays in English.
WORDS_ZH = {
    "population": "人口",
    "demography": "人口变动",
    "health": "健康(失能)",
    "income": "收入",
    "economy": "经济",
    "standards": "低保标准",
    "institutions": "养老机构",
    "programmes": "救助项目",
    "funding": "资金来源",
    "plan_targets": "规划目标",
    "years": "年份",
    "dibao": "低保",
    "tekun": "特困人员",
    "elderly_care": "机构养老",
    "medical_assistance": "医疗救助",
    "temporary_assistance": "临时救助",
    "allowances": "津贴补贴",
    "price_subsidy": "临时价格补贴",
    "urban": "城镇",
    "rural": "农村",
    "central": "中央",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县(区)级",
    "take_up": "申请率",
    "max_rate": "最高",
    "consumption_ratio": "消费支出比例法",
    "ratio": "比例",
    "engel": "恩格尔系数法",
    "engel_coefficient": "恩格尔系数",
    "basket": "基本生活费用支出法",
    "food_cost": "食品费用",
    "fiscal_cap": "财力上限",
    "max_share": "最高比例",
    "convergence": "城乡统筹",
    "floors": "底线",
    "rounding": "取整",
    "price_linkage": "物价联动",
    "price_uplift": "物价上调",
    "enabled": "启用",
    "method": "方法",
    "mode": "方式",
    "effective_month": "执行月份",
    "growth": "增长率",
    "rate": "比率",
    "share": "比例",
    "value": "值",
    "fees": "收费",
    "fee_month": "月收费",
    "public": "公办",
    "public_private": "公建民营",
    "private": "民办",
    "jinglaoyuan": "敬老院",
    "welfare_home": "社会福利院",
    "nursing_share": "护理型床位比例",
    "construction_subsidy_per_bed": "每床建设补贴",
    "operating_subsidy_month": "每床月运营补贴",
    "monthly_amount": "月标准",
    "old_age_allowance": "高龄津贴",
    "orphan_allowance": "孤儿基本生活费",
    "scattered_orphan": "散居孤儿",
    "unsupported_child": "事实无人抚养儿童",
    "disability_living_subsidy": "困难残疾人生活补贴",
    "disability_nursing_subsidy": "重度残疾人护理补贴",
    "care_subsidy": "养老服务补贴",
    "bed_construction": "床位建设",
    "basic_ratio": "基本生活标准倍数",
    "care_standard": "照料护理标准",
    "independent": "全自理",
    "partly": "半护理",
    "fully": "全护理",
    "verification_strength": "核对机制强度",
    "supplements": "分类施保",
    "review": "动态管理",
    "gradual_exit_months": "渐退期(月)",
    "cap": "封顶线",
    "deductible": "起付线",
    "reimbursement": "医保报销比例",
    "premium_subsidy": "参保资助",
    "major": "重特大疾病",
    "ordinary": "普通医疗救助",
    "income_limit": "收入限额",
    "prevalence": "比例",
    "incidence": "发生率",
    "claim_share": "申领比例",
    "tiers": "档",
    "threshold": "目标值",
    "base_year": "基年",
    "end_year": "末年",
    "drivers": "驱动指标",
    "cpi": "居民消费价格指数",
    "cpi_food": "食品类价格指数",
    "budget_revenue": "一般公共预算收入",
    "poverty_line": "扶贫标准",
    "dispinc_pc_urban": "城镇居民人均可支配收入",
    "dispinc_pc_rural": "农村居民人均可支配收入",
    "shocks": "冲击",
    "job_loss": "失业",
    "major_illness": "重大疾病",
    "disaster": "灾害",
    "accident": "意外伤害",
    "income_loss": "收入损失",
    "mortality": "死亡",
    "fertility": "生育",
    "migration": "迁移",
}


# --- what a scenario may change ---------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One parameter of the template: where it is, what it is, and what it holds now."""

    path: KeyPath
    kind: Kind
    unit: str
    current: Any
    provenance: str = ""
    allowed: str = ""
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return ".".join(self.path)


def changeable(data: dict[str, Any], schema: type[BaseModel] | None = None) -> list[Row]:
    """Every parameter of a resolved scenario tree that the template lists, in file order."""
    if schema is None:
        from simlib.scenario import Scenario

        schema = Scenario
    rows: list[Row] = []
    for block, node in data.items():
        if block not in SKIPPED_BLOCKS:
            _walk(node, (str(block),), schema, rows)
    return rows


def _walk(node: Any, path: KeyPath, schema: type[BaseModel], rows: list[Row]) -> None:
    if isinstance(node, dict):
        if _is_fact(node):
            rows.append(_fact_row(node, path, schema))
            return
        for k, v in node.items():
            _walk(v, (*path, str(k)), schema, rows)
    elif isinstance(node, list):
        if node and all(isinstance(item, dict) for item in node):
            for i, item in enumerate(node):
                _walk(item, (*path, str(i)), schema, rows)
    elif not path[-1].endswith(("file", "files")) and not _structural(path):
        spec = _spec(_types_at(schema, path))
        if spec is not None and (spec.boolean or spec.choices or spec.number):
            rows.append(Row(path, "switch", "", node, "", spec.allowed, spec.choices))


def _structural(path: KeyPath) -> bool:
    """A switch that decides which other keys its block has: changed in YAML, not listed."""
    return any(
        len(path) == len(pattern) and all(p in ("*", k) for p, k in zip(pattern, path, strict=True))
        for pattern in STRUCTURAL
    )


def _is_fact(node: Any) -> bool:
    return isinstance(node, dict) and "unit" in node and any(k in node for k in FACT_VALUE_KEYS)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _fact_row(node: dict, path: KeyPath, schema: type[BaseModel]) -> Row:
    value, values = node.get("value"), node.get("values")
    if "value" in node and _is_number(value):
        kind: Kind = "number"
    elif isinstance(values, dict) and values and all(_is_number(v) for v in values.values()):
        kind = "dated"
    else:
        kind = "table"
    provenance = node.get("source") or node.get("assumption") or ""
    provenance = " ".join(str(provenance).split())
    if node.get("source"):
        provenance = f"source: {provenance}"
    elif provenance:
        provenance = f"assumption: {provenance}"
    allowed = ""
    if kind != "table":
        facts = [t for t, _ in _types_at(schema, path) if _is_fact_model(t)]
        if facts:
            spec = _spec([(facts[0].model_fields["value"].annotation, [])])
            allowed = _bounds_text(spec.bounds, spec.number) if spec else ""
    current = values if "values" in node else value
    return Row(path, kind, str(node["unit"]), current, provenance, allowed)


def _is_fact_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, Fact)


# --- the schema's type at a key path ------------------------------------------------------


def _unwrap(tp: Any) -> tuple[list[Any], list[Any], bool]:
    """A type's alternatives without Annotated/Optional, its constraints, and if None is allowed."""
    out: list[Any] = []
    meta: list[Any] = []
    nullable = False
    stack = [tp]
    while stack:
        t = stack.pop(0)
        origin = get_origin(t)
        if origin is Annotated:
            first, *extra = get_args(t)
            stack.append(first)
            for m in extra:
                meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
        elif origin is Union or origin is types.UnionType:
            stack.extend(get_args(t))
        elif t is type(None):
            nullable = True
        else:
            out.append(t)
    return out, meta, nullable


def _types_at(schema: type[BaseModel], path: KeyPath) -> list[tuple[Any, list[Any]]]:
    """The candidate annotations (with field constraints) of ``path`` in ``schema``."""
    current: list[tuple[Any, list[Any]]] = [(schema, [])]
    for key in path:
        following: list[tuple[Any, list[Any]]] = []
        for tp, _ in current:
            for t in _unwrap(tp)[0]:
                if isinstance(t, type) and issubclass(t, BaseModel):
                    field = t.model_fields.get(key)
                    if field is not None:
                        following.append((field.annotation, list(field.metadata)))
                elif get_origin(t) is dict:
                    following.append((get_args(t)[1], []))
                elif get_origin(t) is list:
                    following.append((get_args(t)[0], []))
        current = following
    return current


@dataclass(frozen=True)
class _Spec:
    number: type | None
    boolean: bool
    choices: tuple[str, ...]
    nullable: bool
    bounds: tuple[Any, ...]

    @property
    def allowed(self) -> str:
        if self.choices:
            text = " / ".join(self.choices)
        elif self.boolean:
            text = "true / false"
        else:
            text = _bounds_text(self.bounds, self.number)
        return f"{text} / none" if self.nullable and text else text


def _spec(candidates: list[tuple[Any, list[Any]]]) -> _Spec | None:
    """What a leaf may hold, or None if it is not a number, a yes/no or a choice."""
    number: type | None = None
    boolean, nullable = False, False
    choices: list[str] = []
    bounds: list[Any] = []
    for tp, field_meta in candidates:
        alternatives, meta, none_ok = _unwrap(tp)
        nullable |= none_ok
        bounds += field_meta + meta
        for t in alternatives:
            if get_origin(t) is Literal:
                choices += [str(c) for c in get_args(t) if str(c) not in choices]
            elif t is bool:
                boolean = True
            elif t is int and number is not float:
                number = int
            elif t is float:
                number = float
            else:
                return None
    if not (choices or boolean or number):
        return None
    return _Spec(number, boolean, tuple(choices), nullable, tuple(bounds))


def _bounds_text(bounds: Iterable[Any], number: type | None) -> str:
    """The range of a constrained number: "0 – 1", "≥ 0", "> 0"."""
    low = high = ""
    for b in bounds:
        if isinstance(b, annotated_types.Ge):
            low = f"≥ {_fmt(b.ge)}"
        elif isinstance(b, annotated_types.Gt):
            low = f"> {_fmt(b.gt)}"
        elif isinstance(b, annotated_types.Le):
            high = f"≤ {_fmt(b.le)}"
        elif isinstance(b, annotated_types.Lt):
            high = f"< {_fmt(b.lt)}"
    if low.startswith("≥") and high.startswith("≤"):
        text = f"{low[2:]} – {high[2:]}"
    else:
        text = ", ".join(t for t in (low, high) if t)
    whole = "whole number 整数" if number is int else ""
    return ", ".join(t for t in (text, whole) if t)


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


# --- labels ---------------------------------------------------------------------------------


def heading(column: str, lang: str) -> str:
    """A column heading in ``lang`` ("zh" or "en"): the glossary's term, else :data:`HEADINGS`."""
    i = 0 if lang == "zh" else 1
    if column in GLOSSARY_TERMS:
        found = [_glossary_label("terms", term, lang) for term in GLOSSARY_TERMS[column]]
        if all(found):
            return " / ".join(found)  # type: ignore[arg-type]
    if column in ("label_zh", "label_en"):
        found_label = _glossary_label("terms", "label", lang)
        if found_label:
            which = ("中文", "英文") if lang == "zh" else ("Chinese", "English")
            return (
                f"{found_label}({which[column == 'label_en']})"
                if lang == "zh"
                else (f"{found_label} ({which[column == 'label_en']})")
            )
    return HEADINGS[column][i]


def _heading_cell(column: str) -> str:
    return f"{heading(column, 'zh')}\n{heading(column, 'en')}"


def _glossary_label(kind: str, key: str, lang: str) -> str | None:
    """The glossary's label, or None if the glossary (or its entry) is missing."""
    try:
        from simlib import glossary  # written by another part of issue 6
    except ImportError:
        return None
    try:
        text = glossary.label(kind, key, lang)  # type: ignore[arg-type]
    except (KeyError, LookupError, ValueError, TypeError, AttributeError):
        return None
    return text if isinstance(text, str) and text and text != key else None


def sheet_of(path: KeyPath) -> str:
    """The sheet a key is listed in: its top-level block, or its programme."""
    block = path[0] if path[0] not in SPLIT_BLOCKS or len(path) < 2 else path[1]
    zh = WORDS_ZH.get(block)
    name = f"{block} {zh}" if zh else block
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]


def row_label(row: Row, data: dict[str, Any], lang: str) -> str:
    """The key below its sheet's block in words: programmes, funders, areas and strata from
    the glossary, list items by their name, common words from :data:`WORDS_ZH`."""
    start = 2 if row.path[0] in SPLIT_BLOCKS and len(row.path) > 2 else 1
    areas = data.get("areas", {})
    words = []
    for i in range(start, len(row.path)):
        segment = row.path[i]
        area = areas.get(segment, {}).get("name", {}) if isinstance(areas, dict) else {}
        if isinstance(area, dict) and area.get(lang):
            words.append(str(area[lang]))
        elif segment.isdigit():
            words.append(_item_name(data, row.path[: i + 1], lang))
        else:
            found = next(
                (t for kind in LABEL_KINDS if (t := _glossary_label(kind, segment, lang))), None
            )
            if found is None and lang == "zh":
                found = WORDS_ZH.get(segment)
            words.append(found or segment.replace("_", " "))
    return " › ".join(words)


def _item_name(data: dict[str, Any], path: KeyPath, lang: str) -> str:
    """A list item by its name (plan targets), else by its position from 1."""
    try:
        item = _get(data, path)
    except (KeyError, IndexError, TypeError):
        item = None
    if isinstance(item, dict):
        name = item.get("label_zh") if lang == "zh" else None
        name = name or item.get("name")
        if isinstance(name, str) and name:
            return name
    return f"#{int(path[-1]) + 1}"


def current_text(row: Row) -> Any:
    """The current value as written in the workbook: a number, dated text, or a choice."""
    if row.kind == "number":
        return row.current
    if row.kind == "dated":
        return dated_text(row.current)
    if row.kind == "switch":
        return "none" if row.current is None else _fmt(row.current)
    text = dump_yaml({"v": row.current}).strip()
    text = " ".join(text[2:].split()) if text.startswith("v:") else text
    return text if len(text) <= 300 else text[:297] + "..."


def dated_text(values: dict) -> str:
    """Dated values as ``2015: 0.5; 2017: 0.7``."""
    return "; ".join(f"{y}: {_fmt(v)}" for y, v in sorted(values.items()))


# --- the template ---------------------------------------------------------------------------

README_ZH = [
    "如何填写本表",
    "1. 每个工作表列出一个参数模块(低保、特困人员、资金来源……)中情景可以修改的全部参数,每行一个。",
    "2. 只需在要修改的行填写“新值”列,并在“理由”列写明修改的依据;其他行保持空白。不要修改“键”列。",
    "3. 新值写一个数(各年通用),或分年写法“2017: 0.3; 2020: 0.35”(某年起生效,首年之前取第一个值;"
    "新的分年值整体替换原值)。比例写小数(0.3)或百分数(30%)。",
    "4. “开关”行从下拉列表中选择(true 为启用,false 为停用)。“表格(只读)”行不能在本表修改。",
    "5. 在上方填写新情景的名称(英文字母、数字、_ - .)和中英文标题,然后请模型组运行:",
    "   simlib scenario from-xlsx 本文件.xlsx --out params/新情景.yaml",
    "   有问题的单元格会按工作表、行号和键逐一列出。",
]
README_EN = [
    "How to fill this workbook",
    "1. Each sheet lists, one per row, every parameter of one block (dibao, tekun, funding...) "
    "that a scenario may change.",
    "2. Fill the 'new value' column of the rows you change only, and say why in 'reason'; leave "
    "the other rows empty. Do not edit the 'key' column.",
    "3. A new value is one number (for every year) or dated values such as '2017: 0.3; 2020: 0.35' "
    "(each from its year on; the years before the first keep their current values). "
    "Shares as decimals (0.3) or percentages (30%).",
    "4. Switch rows take one of the choices in the drop-down (true = on, false = off). Rows of "
    "kind 'table (read-only)' cannot be changed here.",
    "5. Give the new scenario a name (letters, digits, _ - .) and titles above, then run:",
    "   simlib scenario from-xlsx THIS_FILE.xlsx --out params/new_scenario.yaml",
    "   Any bad cell is reported by sheet, row and key.",
]
README_FIELDS = (
    ("scenario.name", "情景名称 scenario name (a-z, 0-9, _ - .)"),
    ("scenario.title.zh", "标题(中文) title in Chinese"),
    ("scenario.title.en", "标题(英文) title in English"),
    ("scenario.description", "说明 description"),
)


def write_template(params: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """Write the workbook of every parameter ``params`` lets a scenario change."""
    from openpyxl import Workbook

    from simlib.scenario import load_scenario

    params, out = Path(params), Path(out)
    _check_out(out, ".xlsx", force)
    loaded = load_scenario(params)  # a template of an invalid file is refused
    data = loaded.tree.data
    rows = changeable(data)
    wb = Workbook()
    _write_readme(wb.active, loaded.name)
    by_sheet: dict[str, list[Row]] = {}
    for row in rows:
        by_sheet.setdefault(sheet_of(row.path), []).append(row)
    for name, sheet_rows in by_sheet.items():
        _write_block(wb.create_sheet(name), sheet_rows, data)
    meta = wb.create_sheet(META_SHEET)
    source = params.resolve()
    for item in (
        ("format", FORMAT),
        ("params_file", str(source)),
        ("params_file_relative", _relative(source, out.resolve().parent)),
        ("parameter_hash", loaded.hash),
        ("scenario", loaded.name),
        ("written", dt.datetime.now().isoformat(timespec="seconds")),
        *((f"heading.{c}", _heading_cell(c)) for c in COLUMNS),
    ):
        meta.append(list(item))
    meta.sheet_state = "hidden"
    return write_atomic(out, lambda p: wb.save(p))


def _write_readme(ws: Any, parent_name: str) -> None:
    from openpyxl.styles import Font, PatternFill

    ws.title = README_SHEET
    ws.append(["情景参数修改表 Scenario parameter workbook", "", f"extends: {parent_name}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    fill = PatternFill("solid", fgColor="FFF2CC")
    for key, label in README_FIELDS:
        ws.append([key, label, ""])
        ws.cell(ws.max_row, 3).fill = fill
    ws.append([])
    for line in [*README_ZH, "", *README_EN]:
        ws.append(["", line])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 110
    ws.column_dimensions["C"].width = 50


def _write_block(ws: Any, rows: list[Row], data: dict[str, Any]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    ws.append([_heading_cell(c) for c in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[1].height = 32
    editable = PatternFill("solid", fgColor="FFF2CC")
    locked = PatternFill("solid", fgColor="E7E6E6")
    col = {c: i + 1 for i, c in enumerate(COLUMNS)}
    validations: dict[tuple[str, ...], DataValidation] = {}
    for row in rows:
        ws.append(
            [
                row.key,
                row_label(row, data, "zh"),
                row_label(row, data, "en"),
                KIND_TEXT[row.kind],
                row.unit,
                row.allowed,
                current_text(row),
                None,
                None,
                row.provenance,
            ]
        )
        r = ws.max_row
        fill = locked if row.kind == "table" else editable
        ws.cell(r, col["new_value"]).fill = fill
        ws.cell(r, col["reason"]).fill = fill
        if row.kind == "dated":  # text, so that Excel does not read "2017:30" as a time
            ws.cell(r, col["new_value"]).number_format = "@"
        choices = row.choices or (("true", "false") if isinstance(row.current, bool) else ())
        if row.kind == "switch" and choices and len(",".join(choices)) < 250:
            if choices not in validations:
                dv = DataValidation(
                    type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True
                )
                dv.error = "choose one of: " + ", ".join(choices)
                ws.add_data_validation(dv)
                validations[choices] = dv
            validations[choices].add(ws.cell(r, col["new_value"]))
    for c, i in col.items():
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS[c]
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{ws.max_row}"


# --- reading a filled workbook ----------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A filled row: where it is, the key, and what was written."""

    sheet: str
    row: int
    key: str
    new: Any
    reason: str


@dataclass(frozen=True)
class CellProblem:
    sheet: str
    row: int | None
    key: str
    message: str

    @property
    def where(self) -> str:
        if self.row is None:
            return f"key {self.key}"
        return f"sheet {self.sheet}, row {self.row}, key {self.key}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class SpreadsheetError(ParameterError):
    """Bad cells of a filled template; each line names the sheet, the row and the key."""

    def __init__(self, workbook: Path, cells: list[CellProblem]):
        self.cells = cells
        super().__init__(Problem(workbook.name, c.where, c.message) for c in cells)


@dataclass(frozen=True)
class FilledWorkbook:
    """What a filled template says: its filled rows, scenario fields and where it came from."""

    cells: list[Cell]
    sheets: list[str]
    fields: dict[str, tuple[int, Any]]  # README key -> (row, value)
    meta: dict[str, str]
    problems: list[CellProblem]


def read_workbook(path: str | Path) -> FilledWorkbook:
    """The filled rows of a template (non-empty new value), and its metadata."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as e:  # openpyxl raises several kinds for a file that is not a workbook
        raise UserError(f"{path}: not an Excel workbook (.xlsx): {e}") from None
    try:
        return _read(path, wb)
    finally:
        wb.close()


def _read(path: Path, wb: Any) -> FilledWorkbook:
    meta: dict[str, str] = {}
    if META_SHEET in wb.sheetnames:
        for a, b, *_ in wb[META_SHEET].iter_rows(values_only=True):
            if a is not None:
                meta[str(a)] = "" if b is None else str(b)
    fields: dict[str, tuple[int, Any]] = {}
    if README_SHEET in wb.sheetnames:
        for r, values in enumerate(wb[README_SHEET].iter_rows(values_only=True), start=1):
            if values and values[0] in dict(README_FIELDS) and len(values) > 2:
                fields[str(values[0])] = (r, values[2])
    cells: list[Cell] = []
    problems: list[CellProblem] = []
    block_sheets = 0
    for ws in wb.worksheets:
        if ws.title in (META_SHEET, README_SHEET):
            continue
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        col = _columns(header or (), meta)
        if col is None:
            continue  # a sheet the user added
        block_sheets += 1
        for r, values in enumerate(rows, start=2):
            new = values[col["new_value"]] if col["new_value"] < len(values) else None
            if new is None or (isinstance(new, str) and not new.strip()):
                continue
            key = values[col["key"]] if col["key"] < len(values) else None
            key = "" if key is None else str(key).strip()
            reason = values[col["reason"]] if col["reason"] < len(values) else None
            reason = "" if reason is None else " ".join(str(reason).split())
            if not key:
                problems.append(CellProblem(ws.title, r, "(empty)", "a new value without a key"))
                continue
            cells.append(Cell(ws.title, r, key, new, reason))
    if not block_sheets:
        raise UserError(f"{path}: not a scenario template (no sheet has the template's headings)")
    return FilledWorkbook(cells, wb.sheetnames, fields, meta, problems)


def _columns(header: tuple, meta: dict[str, str]) -> dict[str, int] | None:
    """Column positions by heading, or None if the sheet is not a block of the template.

    A heading matches as written in the template (kept in the ``_meta`` sheet), or either
    of its lines as the headings read now, so that a changed glossary does not matter.
    """
    found: dict[str, int] = {}
    for i, text in enumerate(header):
        if text is None:
            continue
        whole = str(text).strip()
        lines = {line.strip() for line in whole.splitlines()}
        for c in COLUMNS:
            known = {heading(c, "zh"), heading(c, "en"), *HEADINGS[c]}
            if whole == meta.get(f"heading.{c}") or lines & known:
                found.setdefault(c, i)
    needed = ("key", "new_value", "reason")
    return found if all(c in found for c in needed) else None


# --- parsing a cell -------------------------------------------------------------------------


def parse_new_value(cell: Any) -> int | float | dict[int, int | float]:
    """A new value: a number, or dated values written ``2017: 0.3; 2020: 0.35``.

    Raises ValueError with a message a finance officer understands.
    """
    if isinstance(cell, bool):
        raise ValueError(f"a number is needed, not {_fmt(cell)}")
    if isinstance(cell, dt.datetime | dt.date | dt.time | dt.timedelta):
        raise ValueError(
            "Excel read this cell as a date or a time: format the cell as text, or start it "
            "with an apostrophe (')"
        )
    if _is_number(cell):
        return _number(cell)
    text = unicodedata.normalize("NFKC", str(cell)).strip()
    if ":" not in text:
        return _number_text(text)
    values: dict[int, int | float] = {}
    for part in re.split(r"[;,\n]+", text):
        if not part.strip():
            continue
        year_text, sep, number_text = part.partition(":")
        year_text = year_text.strip()
        if not sep or not re.fullmatch(r"\d{4}", year_text):
            raise ValueError(f"write dated values as '2017: 0.3; 2020: 0.35', not {text!r}")
        year = int(year_text)
        if year in values:
            raise ValueError(f"the year {year} is given twice in {text!r}")
        values[year] = _number_text(number_text.strip())
    if not values:
        raise ValueError(f"no value in {text!r}")
    return dict(sorted(values.items()))


def _number_text(text: str) -> int | float:
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    percent = text.endswith("%")
    try:
        number = Decimal(text[:-1].strip() if percent else text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return _number(float(number / 100 if percent else number))


def _number(x: int | float) -> int | float:
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")):
            raise ValueError(f"not a finite number: {x}")
        if x.is_integer() and abs(x) < 1e15:
            return int(x)
    return x


def parse_switch(cell: Any, row: Row, schema: type[BaseModel]) -> Any:
    """A switch's new value: one of its choices, true/false, or a number of its type."""
    spec = _spec(_types_at(schema, row.path))
    assert spec is not None
    text = unicodedata.normalize("NFKC", str(cell)).strip() if not _is_number(cell) else ""
    if spec.nullable and text.lower() in ("none", "null", "无", "-"):
        return None
    if spec.choices:
        for choice in spec.choices:
            if text.lower() == choice.lower() or (_is_number(cell) and _fmt(cell) == choice):
                return _choice_value(choice, row, schema)
        if not (spec.boolean or spec.number):
            raise ValueError(f"choose one of {', '.join(spec.choices)}; not {_fmt(cell)!r}")
    if spec.boolean:
        if isinstance(cell, bool):
            return cell
        truth = {"true": True, "yes": True, "是": True, "1": True, "启用": True}
        truth |= {"false": False, "no": False, "否": False, "0": False, "停用": False}
        key = text.lower() if text else _fmt(cell)
        if key in truth:
            return truth[key]
        raise ValueError(f"write true or false, not {_fmt(cell)!r}")
    value = parse_new_value(cell)
    if isinstance(value, dict):
        raise ValueError("a switch takes one value, not dated values")
    if spec.number is int and not isinstance(value, int):
        raise ValueError(f"a whole number is needed, not {_fmt(value)}")
    return value


def _choice_value(choice: str, row: Row, schema: type[BaseModel]) -> Any:
    """The Literal member whose text is ``choice`` (a Literal may hold numbers too)."""
    for tp, _ in _types_at(schema, row.path):
        for t in _unwrap(tp)[0]:
            if get_origin(t) is Literal:
                for member in get_args(t):
                    if str(member) == choice:
                        return member
    return choice


# --- from a filled workbook to a scenario ---------------------------------------------------


@dataclass(frozen=True)
class Change:
    cell: Cell
    row: Row
    new: Any


@dataclass(frozen=True)
class Written:
    """The scenario written from a workbook: its file, the changes, and notes for the user."""

    path: Path
    changes: list[Change]
    notes: list[str]


def scenario_from_xlsx(
    workbook: str | Path,
    out: str | Path,
    *,
    params: str | Path | None = None,
    name: str | None = None,
    force: bool = False,
) -> Written:
    """Write the scenario the filled rows of ``workbook`` describe; it extends the original."""
    from simlib.scenario import Scenario, load_scenario

    workbook, out = Path(workbook), Path(out)
    _check_out(out, (".yaml", ".yml"), force)
    book = read_workbook(workbook)
    if not book.cells and not book.problems:
        raise UserError(f"{workbook}: no new value is filled in: nothing to change")
    parent = _parent_file(workbook, book.meta, params)
    loaded = load_scenario(parent)  # a problem of the original is the original's
    notes: list[str] = []
    if book.meta.get("parameter_hash") and book.meta["parameter_hash"] != loaded.hash:
        notes.append(
            f"{parent.name} has changed since the template was written (parameter hash "
            f"{book.meta['parameter_hash']} then, {loaded.hash} now): the sheet's current "
            "values may be out of date; the new values are applied to the file as it is now"
        )
    rows = {row.key: row for row in changeable(loaded.tree.data, Scenario)}
    problems = list(book.problems)
    changes: list[Change] = []
    seen: dict[str, Cell] = {}
    for cell in book.cells:
        row = rows.get(cell.key)
        if row is None:
            problems.append(_problem(cell, "unknown key: not a parameter of " + parent.name))
            continue
        if cell.key in seen:
            first = seen[cell.key]
            problems.append(
                _problem(cell, f"given twice (also sheet {first.sheet}, row {first.row})")
            )
            continue
        seen[cell.key] = cell
        if row.kind == "table":
            problems.append(
                _problem(
                    cell,
                    "a table (a list or mapping of values) cannot be changed in the spreadsheet: "
                    "change it in a YAML scenario",
                )
            )
            continue
        try:
            new = (
                parse_switch(cell.new, row, Scenario)
                if row.kind == "switch"
                else parse_new_value(cell.new)
            )
        except ValueError as e:
            problems.append(_problem(cell, str(e)))
            continue
        changes.append(Change(cell, row, new))
    fields = {k: v for k, (_, v) in book.fields.items() if v not in (None, "")}
    scenario_name = name or str(fields.get("scenario.name") or _name_from(out))
    text = scenario_text(
        loaded.tree.data, changes, parent, out, workbook, scenario_name, fields, loaded.hash
    )
    problems += _validation_problems(text, out, changes, book.fields)
    if problems:
        order = {name: i for i, name in enumerate(book.sheets)}
        problems.sort(key=lambda c: (order.get(c.sheet, len(order)), c.row or 0))
        raise SpreadsheetError(workbook, problems)
    write_atomic(out, lambda p: p.write_text(text, encoding="utf-8"))
    return Written(out, changes, notes)


def _problem(cell: Cell, message: str) -> CellProblem:
    return CellProblem(cell.sheet, cell.row, cell.key, message)


def _parent_file(workbook: Path, meta: dict[str, str], params: str | Path | None) -> Path:
    if params is not None:
        return Path(params)
    if not meta:
        raise UserError(
            f"{workbook}: the hidden {META_SHEET} sheet is missing, so the scenario it changes is "
            "unknown: give it with --params"
        )
    absolute = Path(meta.get("params_file", ""))
    if meta.get("params_file") and absolute.is_file():
        return absolute
    relative = workbook.resolve().parent / meta.get("params_file_relative", "")
    if meta.get("params_file_relative") and relative.is_file():
        return relative
    raise UserError(
        f"{workbook}: the scenario it was made from is not found ({meta.get('params_file')}): "
        "give it with --params"
    )


def _name_from(out: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", out.stem).strip("_")
    return name[:64] or "from_spreadsheet"


def scenario_text(
    parent_data: dict[str, Any],
    changes: list[Change],
    parent: Path,
    out: Path,
    workbook: Path,
    name: str,
    fields: dict[str, Any],
    parent_hash: str,
) -> str:
    """The YAML of the new scenario: ``extends`` the parent and writes the changes."""
    switches = [c for c in changes if c.row.kind == "switch"]
    description = str(fields.get("scenario.description") or "")
    if not description:
        description = (
            f"Made from the spreadsheet {workbook.name} (a template of {parent.name}): "
            f"{len(changes)} parameter(s) changed."
        )
    if switches:
        description += " Switches: " + "; ".join(
            f"{c.row.key} = {_fmt(c.new) if c.new is not None else 'none'} "
            f"({c.cell.reason or 'no reason given'})"
            for c in switches
        )
    doc: dict[str, Any] = {
        "extends": _relative(parent.resolve(), out.resolve().parent),
        "scenario": {
            "name": name,
            "title": {
                "en": str(fields.get("scenario.title.en") or f"{name}: from {workbook.name}"),
                "zh": str(
                    fields.get("scenario.title.zh") or f"{name}(由表格 {workbook.name} 生成)"
                ),
            },
            "description": description,
        },
    }
    overrides: dict[str, Any] = {}
    lists: dict[KeyPath, list] = {}
    for change in changes:
        path = change.row.path
        item = next((i for i in range(1, len(path)) if path[i].isdigit()), None)
        if item is None:
            _set(overrides, path, _override(change, parent_data, workbook, in_list=False))
            continue
        list_path = path[:item]
        if list_path not in lists:
            lists[list_path] = copy.deepcopy(_get(parent_data, list_path))
            _set(overrides, list_path, lists[list_path])
        _set_in(lists[list_path], path[item:], _override(change, parent_data, workbook, True))
    doc |= overrides
    header = (
        f"# Made by `simlib scenario from-xlsx` from {workbook.name},\n"
        f"# a template of {parent.name} (parameter hash {parent_hash}).\n"
        "# Each changed value says why in its `assumption`; switches are listed in the\n"
        "# description.\n"
    )
    return header + dump_yaml(doc)


def _override(change: Change, parent_data: dict, workbook: Path, in_list: bool) -> Any:
    """What the scenario writes for one change: the switch's value or the whole new fact."""
    if change.row.kind == "switch":
        return change.new
    old = _get(parent_data, change.row.path)
    was = dated_text(old["values"]) if "values" in old else _fmt(old["value"])
    where = f"sheet {change.cell.sheet}, row {change.cell.row}; was {was}"
    if change.cell.reason:
        assumption = f"{change.cell.reason} (spreadsheet {workbook.name}, {where})"
    else:
        assumption = f"set by spreadsheet {workbook.name} ({where})"
    fact: dict[str, Any] = {}
    if isinstance(change.new, dict):
        fact["values"] = _earlier_years_kept(
            old, change.new, int(parent_data["years"]["base_year"])
        )
    else:
        fact["value"] = change.new
    fact["unit"] = old["unit"]
    fact["assumption"] = assumption
    if not in_list:  # merged into the parent's fact: its source and note no longer apply
        fact |= {k: None for k in ("source", "note") if old.get(k) is not None}
    else:  # the list is written whole: keep the fact's other keys, without its provenance
        fact |= {
            k: v
            for k, v in old.items()
            if k not in (*FACT_VALUE_KEYS, "unit", "source", "assumption", "note")
        }
    return fact


def _earlier_years_kept(old: dict, new: dict[int, Any], base_year: int) -> dict[int, Any]:
    """New dated values with the current values kept for the years before the first of them."""
    first = min(new)
    if "values" in old:
        kept = {int(y): v for y, v in old["values"].items() if int(y) < first}
    else:
        kept = {base_year: old["value"]} if base_year < first else {}
    return kept | new


def _get(data: Any, path: KeyPath) -> Any:
    for key in path:
        data = data[int(key)] if isinstance(data, list) else _key(data, key)
    return data


def _key(mapping: dict, key: str) -> Any:
    """A mapping's entry by its text key (YAML keys may be numbers)."""
    if key in mapping:
        return mapping[key]
    for k, v in mapping.items():
        if str(k) == key:
            return v
    raise KeyError(key)


def _set(tree: dict, path: KeyPath, value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _set_in(node: Any, path: KeyPath, value: Any) -> None:
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else _key(node, key)
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        real = next((k for k in node if str(k) == path[-1]), path[-1])
        node[real] = value


def _validation_problems(
    text: str, out: Path, changes: list[Change], fields: dict[str, tuple[int, Any]]
) -> list[CellProblem]:
    """Validate the new scenario as a file beside ``out``; its problems mapped to cells."""
    from simlib.scenario import load_scenario

    check = out.resolve().parent / f".{out.stem}.check-{os.getpid()}.yaml"
    try:
        check.write_text(text, encoding="utf-8")
        load_scenario(check)
    except ParameterError as e:
        return _map_problems(e.problems, changes, fields)
    finally:
        check.unlink(missing_ok=True)
    return []


def _map_problems(
    problems: list[Problem], changes: list[Change], fields: dict[str, tuple[int, Any]]
) -> list[CellProblem]:
    mapped: list[CellProblem] = []
    for problem in problems:
        path = tuple(problem.key.split(".")) if problem.key else ()
        message = problem.message.removeprefix("Value error, ")
        hits = []
        for change in changes:
            row_path = change.row.path
            if path[: len(row_path)] == row_path or (path and row_path[: len(path)] == path):
                rest = path[len(row_path) :]
                detail = "" if rest in ((), ("value",)) else ".".join(rest) + ": "
                cell = change.cell
                hits.append(CellProblem(cell.sheet, cell.row, cell.key, detail + message))
        if not hits and path[:1] == ("scenario",):
            field = ".".join(path)
            row = fields.get(field, (None, None))[0]
            hits.append(CellProblem(README_SHEET, row, field, message))
        if not hits:
            hits.append(CellProblem("", None, problem.key or "(top level)", message))
        mapped += [h for h in hits if h not in mapped]
    return mapped


# --- files and the command line -------------------------------------------------------------


def _relative(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target, folder)).as_posix()
    except ValueError:  # another drive
        return str(target)


def _check_out(out: Path, suffixes: str | tuple[str, ...], force: bool) -> None:
    suffixes = (suffixes,) if isinstance(suffixes, str) else suffixes
    if out.suffix.lower() not in suffixes:
        raise UserError(f"--out {out}: the file name must end in {' or '.join(suffixes)}")
    if not out.resolve().parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist")
    if out.exists() and not force:
        raise UserError(f"--out {out} already exists: choose another name, or give --force")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder")


def add_arguments(subparsers: Any) -> None:
    """Add ``scenario template`` and ``scenario from-xlsx`` to the command line's sub-commands."""
    scenario = subparsers.add_parser(
        "scenario", help="scenarios from a spreadsheet: write a template, read a filled one"
    )
    sub = scenario.add_subparsers(dest="scenario_command", required=True)
    template = sub.add_parser(
        "template", help="write a workbook listing every parameter a scenario may change"
    )
    template.add_argument("params", help="the scenario file the new scenario will extend (YAML)")
    template.add_argument("--out", required=True, help="the workbook to write (.xlsx)")
    template.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    template.set_defaults(func=cmd_template)
    read = sub.add_parser(
        "from-xlsx", help="turn the filled rows of a template into a scenario file"
    )
    read.add_argument("workbook", help="a filled template (.xlsx)")
    read.add_argument("--out", required=True, help="the scenario file to write (.yaml)")
    read.add_argument(
        "--params",
        default=None,
        help="the scenario to extend (default: the one the template was made from)",
    )
    read.add_argument(
        "--name", default=None, help="scenario name (default: the workbook's, else the file name)"
    )
    read.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    read.set_defaults(func=cmd_from_xlsx)


def cmd_template(args: argparse.Namespace) -> int:
    import sys

    path = write_template(args.params, args.out, force=args.force)
    print(path)
    print(f"simlib: fill the 'new value' column of {path.name}, then run", file=sys.stderr)
    print(f"simlib:   simlib scenario from-xlsx {path} --out NEW.yaml", file=sys.stderr)
    return 0


def cmd_from_xlsx(args: argparse.Namespace) -> int:
    import sys

    written = scenario_from_xlsx(
        args.workbook, args.out, params=args.params, name=args.name, force=args.force
    )
    for note in written.notes:
        print(f"simlib: note: {note}", file=sys.stderr)
    print(f"simlib: {len(written.changes)} parameter(s) changed", file=sys.stderr)
    print(written.path)
    return 0
