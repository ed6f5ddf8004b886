"""Scenario files: extends, merging, provenance, and errors that name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from simlib.cli import main
from simlib.parameters import ParameterError, load_tree, parameter_hash
from simlib.scenario import load_scenario
from tests.conftest import BASELINE, PARAMS


def validate_exit(path: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(path)])
    return code, capsys.readouterr().err


# --- the shipped scenarios ------------------------------------------------------------------


def test_every_shipped_scenario_validates(capsys):
    files = sorted(PARAMS.glob("*.yaml"))
    assert BASELINE in files and len(files) >= 4, "baseline and at least three scenarios"
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok: ") == len(files)


def test_every_fact_in_the_baseline_has_unit_and_provenance():
    def facts(node, path=()):
        if isinstance(node, dict):
            if "unit" in node and ("value" in node or "values" in node):
                yield path, node
            for k, v in node.items():
                yield from facts(v, (*path, str(k)))

    found = list(facts(load_tree(BASELINE).data))
    assert len(found) > 60
    for path, fact in found:
        assert fact["unit"], path
        assert fact.get("source") or fact.get("assumption"), ".".join(path)


# --- extends and merging --------------------------------------------------------------------


def test_a_scenario_changes_only_what_it_writes(scenario_file):
    path = scenario_file(
        "standards:\n  consumption_ratio:\n    ratio:\n      urban: 0.35\n"
        "programmes:\n  dibao:\n    review:\n      gradual_exit_months: {values: {2018: 6}}\n"
    )
    base = load_scenario(BASELINE).params
    changed = load_scenario(path)
    p = changed.params
    assert p.standards.consumption_ratio.ratio.urban.at(2016) == 0.35
    # the other stratum and every other block are the baseline's
    assert p.standards.consumption_ratio.ratio.rural == base.standards.consumption_ratio.ratio.rural
    assert p.economy == base.economy
    # dated values replace the old value whole: 2017 takes the first dated value
    assert p.programmes.dibao.review.gradual_exit_months.at(2017) == 6
    # a value set without its own provenance is marked as the scenario's assumption
    ratio = p.standards.consumption_ratio.ratio.urban
    assert ratio.source is None and "scenario.yaml" in ratio.assumption
    assert changed.hash != load_scenario(BASELINE).hash


def test_extends_is_relative_to_the_file_that_says_it(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(f"extends: {BASELINE}\n")
    (tmp_path / "b.yaml").write_text("extends: sub/a.yaml\nyears: {end_year: 2020}\n")
    tree = load_tree(tmp_path / "b.yaml")
    assert [p.name for p in tree.chain] == ["baseline.yaml", "a.yaml", "b.yaml"]
    assert tree.data["years"] == {"base_year": 2015, "end_year": 2020}


def test_data_paths_are_relative_to_the_file_that_names_them(baseline):
    census = Path(baseline.params.population.census_file)
    assert census.is_absolute() and census == PARAMS / "data" / "panzhihua_census_2010_2020.csv"


def test_the_hash_follows_content_not_location(tmp_path):
    data = load_tree(BASELINE).data
    assert parameter_hash(data) == parameter_hash(load_tree(BASELINE).data)
    changed = {**data, "years": {"base_year": 2015, "end_year": 2025}}
    assert parameter_hash(changed) != parameter_hash(data)


# --- bad files: exit 2, naming the file and the key -----------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (
            "programmes:\n  dibao:\n    take_up:\n      speed: 3\n",
            "programmes.dibao.take_up.speed",
            "unknown key",
        ),
        ("years:\n  end_year: soon\n", "years.end_year", "valid integer"),
        (
            "income:\n  persistence: {value: -0.2}\n",
            "income.persistence.value",
            "greater than or equal to 0",
        ),
        (
            "programmes:\n  dibao:\n    take_up:\n      near_line_rate: {value: 1.5}\n",
            "programmes.dibao.take_up.near_line_rate.value",
            "less than or equal to 1",
        ),
        (
            "standards:\n  consumption_ratio:\n    ratio:\n      rural: -0.35\n",
            "standards.consumption_ratio.ratio.rural.value",
            "greater than 0",
        ),
        ("standards:\n  method: guesswork\n", "standards.method", "consumption_ratio"),
        (
            "programmes:\n  dibao:\n    review:\n      gradual_exit_months: {value: 36}\n",
            "programmes.dibao.review.gradual_exit_months.value",
            "less than or equal to 24",
        ),
        (
            "standards:\n  effective_month: {value: 13}\n",
            "standards.effective_month.value",
            "less than or equal to 12",
        ),
        (
            "income:\n  dispersion: {value: 0.7, unit: log, source: null, assumption: null}\n",
            "income.dispersion",
            "source",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_key(scenario_file, capsys, text, key, words):
    path = scenario_file(text)
    code, err = validate_exit(path, capsys)
    assert code == 2
    assert f"{path}: {key}" in err
    assert words in err
    assert "Traceback" not in err


def test_missing_extends_target(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("extends: nowhere.yaml\n")
    code, err = validate_exit(path, capsys)
    assert code == 2
    assert f"{path}: extends: the file it extends does not exist: nowhere.yaml" in err


def test_extends_cycle(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    code, err = validate_exit(tmp_path / "a.yaml", capsys)
    assert code == 2
    assert "extends: extends cycle: a.yaml -> b.yaml -> a.yaml" in err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("years: !!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
        ("years: {base_year: 2015}\nyears: {end_year: 2030}\n", "duplicate key 'years'"),
        ("years: [unclosed\n", "not valid YAML"),
    ],
)
def test_unreadable_files(tmp_path, capsys, content, words):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, err = validate_exit(path, capsys)
    assert code == 2 and words in err and str(path) in err


def test_binary_garbage_and_missing_file(tmp_path, capsys):
    path = tmp_path / "garbage.yaml"
    path.write_bytes(bytes(range(256)))
    code, err = validate_exit(path, capsys)
    assert code == 2 and "not UTF-8" in err
    code, err = validate_exit(tmp_path / "absent.yaml", capsys)
    assert code == 2 and "file not found" in err


def test_an_error_in_the_parent_names_the_parent(tmp_path):
    (tmp_path / "parent.yaml").write_text(
        f"extends: {BASELINE}\nincome:\n  persistence: {{value: 7}}\n"
    )
    (tmp_path / "child.yaml").write_text("extends: parent.yaml\n")
    with pytest.raises(ParameterError) as e:
        load_scenario(tmp_path / "child.yaml")
    assert str(e.value).startswith(f"{tmp_path / 'parent.yaml'}: income.persistence.value")


def test_blocks_given_by_area_must_name_every_area(scenario_file, capsys):
    path = scenario_file("areas:\n  extra: {name: {en: Extra, zh: 新区}}\n")
    code, err = validate_exit(path, capsys)
    assert code == 2
    assert "must give every area of `areas`" in err and "missing ['extra']" in err
