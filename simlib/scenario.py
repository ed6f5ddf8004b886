"""The scenario file as a whole: its blocks, checks across blocks, and loading.

A scenario (情景) is a YAML file in ``params/`` (DESIGN §5).  Each block is
defined by the module that uses it; this module puts them together and adds the
checks that span blocks (every area has its census code and relative income,
the horizon is sensible).  ``load_scenario`` is the one way in: it reads the
file and what it extends, validates, and raises
:class:`~simlib.parameters.ParameterError` naming file and key on any problem.
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from simlib.allowances import AllowancesParams
from simlib.care_workforce import CareWorkforceParams
from simlib.community_care import CommunityCareParams
from simlib.demography import DemographyParams
from simlib.dibao import DibaoParams
from simlib.disaster_relief import DisasterReliefParams
from simlib.economy import EconomyParams
from simlib.elderly_care import ElderlyCareParams
from simlib.errors import UserError
from simlib.facts import Fact, Strict
from simlib.health import HealthParams
from simlib.history import read_history
from simlib.incomes import IncomeParams
from simlib.institutions import InstitutionsParams, check_pipeline
from simlib.ledger import FundingShares, check_funding
from simlib.medical_assistance import MedicalAssistanceParams
from simlib.parameters import (
    KeyPath,
    ParameterError,
    Problem,
    Tree,
    load_tree,
    parameter_hash,
    validate,
)
from simlib.population import PopulationParams, read_census
from simlib.social_work import SocialWorkParams
from simlib.standards import StandardsParams
from simlib.targets import PlanTarget
from simlib.tekun import TekunParams
from simlib.temporary_assistance import TemporaryAssistanceParams


class Names(Strict):
    en: str
    zh: str


class ScenarioInfo(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    title: Names
    description: str = ""


class Years(Strict):
    base_year: int = Field(ge=2000, le=2100)
    end_year: int = Field(ge=2001, le=2150)

    @model_validator(mode="after")
    def _order(self) -> Years:
        if self.end_year <= self.base_year:
            raise ValueError("end_year must come after base_year")
        if self.end_year - self.base_year > 100:
            raise ValueError("the horizon is limited to 100 years")
        return self

    @property
    def simulated(self) -> range:
        return range(self.base_year + 1, self.end_year + 1)


class Area(Strict):
    name: Names


class Programmes(Strict):
    """One block per programme; a new programme adds its block here."""

    dibao: DibaoParams
    tekun: TekunParams
    elderly_care: ElderlyCareParams
    medical_assistance: MedicalAssistanceParams
    temporary_assistance: TemporaryAssistanceParams
    allowances: AllowancesParams
    social_work: SocialWorkParams
    care_workforce: CareWorkforceParams
    community_care: CommunityCareParams
    disaster_relief: DisasterReliefParams


class Scenario(Strict):
    scenario: ScenarioInfo
    years: Years
    areas: dict[str, Area] = Field(min_length=1)
    population: PopulationParams
    demography: DemographyParams
    health: HealthParams
    income: IncomeParams
    economy: EconomyParams
    standards: StandardsParams
    institutions: InstitutionsParams
    programmes: Programmes
    funding: dict[str, FundingShares]
    plan_targets: list[PlanTarget] = Field(default_factory=list)

    @property
    def area_codes(self) -> tuple[str, ...]:
        return tuple(self.areas)

    @model_validator(mode="after")
    def _every_programme_funded(self) -> Scenario:
        check_funding(self.funding)
        return self

    @model_validator(mode="after")
    def _areas_everywhere(self) -> Scenario:
        """Every block that is given by area names exactly the scenario's areas."""
        codes = set(self.areas)
        by_area = {
            "population.census_codes": [self.population.census_codes],
            "income.area_relative_income": [self.income.area_relative_income],
            "demography.migration.net_rate": _dated(self.demography.migration.net_rate),
            "demography.migration.elder_net_rate": _dated(self.demography.migration.elder_net_rate),
            "demography.household_formation.rate": _dated(self.demography.household_formation.rate),
        }
        for key, mappings in by_area.items():
            for mapping in mappings:
                missing, unknown = codes - set(mapping), set(mapping) - codes
                if missing or unknown:
                    raise ValueError(
                        f"{key} must give every area of `areas` and no other: "
                        f"missing {sorted(missing)}, unknown {sorted(unknown)}"
                    )
        return self


def _dated(fact: Fact) -> list:
    """Every value of a fact, dated or not."""
    return [fact.value] if fact.values is None else list(fact.values.values())


class LoadedScenario:
    """A validated scenario with the files it came from and its parameter hash."""

    def __init__(self, params: Scenario, tree: Tree) -> None:
        self.params = params
        self.tree = tree
        self.hash = parameter_hash(tree.data)

    @property
    def name(self) -> str:
        return self.params.scenario.name

    @property
    def file(self) -> Path:
        return self.tree.chain[-1]


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read, merge and validate a scenario file (and every file it extends)."""
    return from_tree(load_tree(path))


def from_tree(tree: Tree) -> LoadedScenario:
    """A scenario validated from its merged tree (what a worker process receives: the
    validated models themselves do not pickle)."""
    params = validate(tree, Scenario)
    check_data_files(params, tree)
    return LoadedScenario(params, tree)


# --- data files -----------------------------------------------------------------------

_UNREADABLE = (OSError, ValueError, KeyError, TypeError, IndexError, csv.Error)
"""What a reader raises on a missing, unreadable or garbled data file."""


def check_data_files(params: Scenario, tree: Tree) -> None:
    """Read every data file the scenario names (the health prior is read by its block), so
    that a missing or garbled file is refused on load, naming the key, not at run time."""
    problems: list[Problem] = []

    def refuse(path: KeyPath, message: str) -> None:
        problems.append(Problem(str(tree.file_of(path)), ".".join(path), message))

    census_key = ("population", "census_file")
    census = _read_or_problem(read_census, params.population.census_file)
    if isinstance(census, str):
        refuse(census_key, f"cannot read the census file: {census}")
    elif not census:
        refuse(census_key, "no census in the file")
    else:
        name = Path(params.population.census_file).name
        for area, code in params.population.census_codes.items():
            if len(census.get(code, [])) < 2:
                refuse(
                    ("population", "census_codes", area),
                    f"census code {code!r} has {len(census.get(code, []))} censuses in {name}; "
                    "two are needed",
                )
    data_files = [
        (("economy", "history_files", str(i)), f)
        for i, f in enumerate(params.economy.history_files)
    ]
    data_files.append(
        (("institutions", "stock", "bulletin_file"), params.institutions.stock.bulletin_file)
    )
    for key, file in data_files:
        outcome = _read_or_problem(_read_history_file, file)
        if isinstance(outcome, str):
            refuse(key, f"cannot read the history file: {outcome}")
    if not problems:  # the care homes' stock (read from the bulletin) fits their pipeline
        try:
            check_pipeline(params.institutions, params.area_codes, params.years.base_year)
        except ValueError as e:
            where, _, message = str(e).partition(": ")
            key = tuple(where.split(".")) if where.startswith("institutions.") else ()
            refuse(key or ("institutions", "pipeline"), message if key else str(e))
    if problems:
        raise ParameterError(problems)


def _read_or_problem(read: Callable[[str], Any], file: str) -> Any:
    """``read(file)``, or the problem as text; remembered while the file's content is the
    same (a sweep or a batch loads the same files many times)."""
    try:
        digest = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    except (OSError, ValueError) as e:
        return f"{getattr(e, 'strerror', None) or e}: {file}"
    return _read_cached(read, file, digest)


def _read_history_file(file: str) -> None:
    read_history([file])


@functools.lru_cache(maxsize=64)
def _read_cached(read: Callable[[str], Any], file: str, digest: str) -> Any:
    try:
        return read(file)
    except _UNREADABLE as e:
        return str(e) if str(file) in str(e) else f"{e} ({file})"


def changed(loaded: LoadedScenario, change: Callable[[dict], None]) -> LoadedScenario:
    """A copy of the scenario whose data ``change`` edits in place, validated again."""
    data = copy.deepcopy(loaded.tree.data)
    change(data)
    return from_tree(Tree(data=data, origin=loaded.tree.origin, chain=loaded.tree.chain))


def ending_in(loaded: LoadedScenario, end_year: int) -> LoadedScenario:
    """The scenario run to ``end_year`` only (a check of the first years, a calibration)."""
    return changed(loaded, lambda data: data["years"].__setitem__("end_year", end_year))


def with_values(
    loaded: LoadedScenario, values: Mapping[str, Any], *, multiply: bool = False
) -> LoadedScenario:
    """A copy of the scenario with the parameters at dotted key paths set to ``values``
    (or, with ``multiply``, multiplied by them), validated again.

    A key path names a block's field, e.g. ``programmes.dibao.take_up.urban`` or
    ``standards.adjustment.ratio``; a list item is named by its index, a year of dated
    values by the year (``...values.2020``).  A fact is set
    through its ``value``, or every dated value of ``values`` (a dated path multiplied
    keeps its shape over the years).  An unknown path raises :class:`UserError`.
    """

    def change(data: dict) -> None:
        for path, v in values.items():
            parent, key = _parent(data, path)
            node = parent[key]
            if isinstance(node, dict) and ("value" in node or "values" in node):
                if node.get("values") is not None:
                    node["values"] = {
                        y: _new(old, v, multiply) for y, old in node["values"].items()
                    }
                else:
                    node["value"] = _new(node["value"], v, multiply)
            else:
                parent[key] = _new(node, v, multiply)

    return changed(loaded, change)


def _parent(data: dict, path: str) -> tuple[Any, Any]:
    """The container holding the last step of ``path``, and that step (key or index)."""
    node: Any = data
    steps = path.split(".")
    for i, step in enumerate(steps):
        key: Any = step
        if step.isdigit() and (
            isinstance(node, list) or (isinstance(node, dict) and step not in node)
        ):
            key = int(step)  # a list index, or a year of dated values
        try:
            child = node[key]
        except (KeyError, IndexError, TypeError):
            raise UserError(
                f"unknown parameter {path!r}: no {'.'.join(steps[: i + 1])!r} in the scenario"
            ) from None
        if i == len(steps) - 1:
            return node, key
        node = child
    raise UserError(f"empty parameter path {path!r}")


def _new(old: Any, value: Any, multiply: bool) -> Any:
    if not multiply:
        return value
    if isinstance(old, bool) or not isinstance(old, int | float):
        raise UserError(f"cannot multiply {old!r}: not a number")
    return old * value
