"""``scenario.with_values``: a scenario with parameters set or multiplied at key paths."""

from __future__ import annotations

import pytest

from simlib.errors import UserError
from simlib.parameters import ParameterError
from simlib.scenario import with_values

CAP = "standards.fiscal_cap.max_share"
STRENGTH = "programmes.dibao.assessment.verification_strength"


def test_a_fact_is_set_through_its_value(baseline):
    changed = with_values(baseline, {CAP: 0.03})
    assert changed.params.standards.fiscal_cap.max_share.value == 0.03
    assert changed.hash != baseline.hash
    assert baseline.params.standards.fiscal_cap.max_share.value == 0.05  # the original is kept


def test_a_dated_fact_is_multiplied_year_by_year_or_set_in_one_year(baseline):
    # baseline: {2015: 0.5, 2017: 0.7, 2020: 0.8}
    halved = with_values(baseline, {STRENGTH: 0.5}, multiply=True)
    assert halved.params.programmes.dibao.assessment.verification_strength.values == {
        2015: 0.25,
        2017: 0.35,
        2020: 0.4,
    }
    one_year = with_values(baseline, {f"{STRENGTH}.values.2020": 0.9})
    assert one_year.params.programmes.dibao.assessment.verification_strength.values == {
        2015: 0.5,
        2017: 0.7,
        2020: 0.9,
    }


def test_bad_paths_and_values_are_refused(baseline):
    with pytest.raises(UserError, match=r"no 'standards\.nope'"):
        with_values(baseline, {"standards.nope.x": 1})
    with pytest.raises(UserError, match="cannot multiply"):
        with_values(baseline, {"standards.method": 2}, multiply=True)
    with pytest.raises(ParameterError, match="max_share"):
        with_values(baseline, {CAP: 1.5})  # validated again: a share above 1
