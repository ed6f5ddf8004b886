"""The social-work workforce: the base-year stock by cell, a year worked by hand, funded
posts refilled, the spending, the ratio to recipients, and bad parameters."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest

from simlib import metrics
from simlib.services import ServiceInputs
from simlib.social_work import (
    METRICS,
    PROGRAMME,
    SocialWorkParams,
    init_social_work,
    step,
)

AREAS = ("a", "b")


def fact(value, unit="u"):
    return {"value": value, "unit": unit, "assumption": "test"}


def params(**changes) -> SocialWorkParams:
    block = {
        "allocation": "population",
        "initial_workers": fact(325),
        "initial_certified_share": fact(0.2),
        "initial_funded_posts": fact(30),
        "graduates_hired": fact(25),
        "training_places": fact(40),
        "training_completion_share": fact(0.5),
        "funded_posts_new": fact(10),
        "attrition_rate": fact(0.1),
        "hires_certified_share": fact(0.04),
        "certification_rate": fact(0.05),
        "exam_training_places": fact(20),
        "exam_pass_share": fact(0.3),
        "costs": {
            "training_per_trainee": fact(2000),
            "exam_training_per_trainee": fact(1500),
            "funded_post_per_year": fact(60000),
        },
    }
    return SocialWorkParams.model_validate(block | changes)


def inputs(cpi_level=1.1, recipients=None) -> ServiceInputs:
    # population 1,000 in all: a urban 600, a rural 200, b urban 200, b rural 0
    population = np.array([[600.0, 200.0], [200.0, 0.0]])
    return ServiceInputs(
        population=population,
        households=population / 2,
        elderly_60p=population / 5,
        assistance_recipients=(
            np.array([[10.0, 20.0], [5.0, 0.0]]) if recipients is None else recipients
        ),
        residents_by_care_level=np.zeros((2, 2, 3)),
        beds=np.zeros((2, 2)),
        budget_revenue=1e9,
        cpi_level=cpi_level,
    )


def test_the_base_year_stock_is_spread_by_population():
    # 325 × (0.6, 0.2, 0.2, 0) = 195, 65, 65, 0; certified 20%: 39, 13, 13, 0; posts 30 ×
    # the same shares = 18, 6, 6, 0
    state = init_social_work(params(), AREAS, inputs())
    assert state.workforce.workers == pytest.approx(np.array([[195, 65], [65, 0]]))
    assert state.workforce.certified == pytest.approx(np.array([[39, 13], [13, 0]]))
    assert state.funded_posts == pytest.approx(np.array([[18, 6], [6, 0]]))


def test_a_year_worked_by_hand():
    # City totals (every cell moves by the same rates, so the city adds up the same way):
    #   entrants = graduates 25 + trainees 40 × 0.5 = 20 + new posts 10
    #              + refilled posts 0.1 × 30 = 3                       = 58
    #   leavers = 0.1 × 325 = 32.5                  -> workers = 325 + 58 − 32.5 = 350.5
    #   certified: start 0.2 × 325 = 65, leavers 6.5, hires 0.04 × 58 = 2.32
    #   pool = (260 − 26) + (58 − 2.32) = 234 + 55.68 = 289.68
    #   certified in = 0.3 × 20 exam places + 0.05 × (289.68 − 20) = 6 + 13.484 = 19.484
    #   certified = 65 + 2.32 + 19.484 − 6.5 = 80.304
    #   posts: 30 + 10 = 40
    #   spending = 1.1 × (40 × 2,000 + 20 × 1,500 + (30 + 40) / 2 × 60,000)
    #            = 1.1 × (80,000 + 30,000 + 2,100,000) = 1.1 × 2,210,000 = 2,431,000 yuan
    p = params()
    state = init_social_work(p, AREAS, inputs())
    year = step(state, p, 2016, None, inputs())
    raw = year.raw
    assert raw["social_work_entrants"].sum() == pytest.approx(58.0)
    assert raw["social_work_leavers"].sum() == pytest.approx(32.5)
    assert raw["social_workers"].sum() == pytest.approx(350.5)
    assert raw["social_workers_certified"].sum() == pytest.approx(80.304)
    assert raw["social_work_funded_posts"].sum() == pytest.approx(40.0)
    assert year.spending[PROGRAMME].sum() == pytest.approx(2_431_000.0)
    # a cell with nobody in it gets nobody and pays nothing
    assert raw["social_workers"][1, 1] == 0.0 and year.spending[PROGRAMME][1, 1] == 0.0
    # the identity, per cell and exactly; the state moved on to the year's end
    f = year.flows
    assert (raw["social_workers"] == f.workers_start + f.inflow - f.outflow).all()
    assert state.workforce.workers.tolist() == raw["social_workers"].tolist()
    assert set(year.spending) == {"social_work"}


def test_funded_posts_are_filled_again_when_their_workers_leave():
    # 100 workers, 50 of them on funded posts; no graduates, training or new posts; 20% leave.
    # Year 1: leavers 20, the 0.2 × 50 = 10 funded posts vacated are filled -> 90.
    # Year 2: leavers 18, refilled 10 -> 82.  The funded 50 stay; the others go 50, 40, 32.
    p = params(
        initial_workers=fact(100),
        initial_funded_posts=fact(50),
        graduates_hired=fact(0),
        training_places=fact(0),
        funded_posts_new=fact(0),
        attrition_rate=fact(0.2),
    )
    state = init_social_work(p, AREAS, inputs())
    totals = [step(state, p, y, None, inputs()).raw["social_workers"].sum() for y in (2016, 2017)]
    assert totals == pytest.approx([90.0, 82.0])


def test_dated_levers_take_effect_in_their_year():
    # new posts 10 a year to 2017, then 100: posts 30 -> 40 (2016) -> 50 (2017) -> 150 (2018)
    p = params(funded_posts_new={"values": {2015: 10, 2018: 100}, "unit": "posts", "source": "x"})
    state = init_social_work(p, AREAS, inputs())
    posts = [
        step(state, p, y, None, inputs()).raw["social_work_funded_posts"].sum()
        for y in (2016, 2017, 2018)
    ]
    assert posts == pytest.approx([40.0, 50.0, 150.0])


def test_allocation_by_recipients_and_the_ratio_to_recipients():
    # recipients 10, 20, 5, 0 (35): 325 spread as 92.857, 185.714, 46.429, 0
    p = params(allocation="assistance_recipients")
    state = init_social_work(p, AREAS, inputs())
    assert state.workforce.workers == pytest.approx(
        np.array([[325 * 10 / 35, 325 * 20 / 35], [325 * 5 / 35, 0.0]])
    )
    # the metric: social workers / recipients × 1,000, from the summed cells; the city:
    # 350.5 / 35 × 1,000 = 10,014.3 per 1,000 recipients (a small hand-made city)
    raw = step(state, p, 2016, None, inputs()).raw
    ratio = next(m for m in METRICS if m.name == "social_workers_per_1000_recipients")
    city = metrics.evaluate(ratio, raw)[-1, -1]
    assert city == pytest.approx(350.5 / 35 * 1000)
    assert metrics.evaluate(ratio, raw)[1, 1] == 0.0  # no recipients: 0, not NaN


@pytest.mark.parametrize(
    "changes",
    [
        {"attrition_rate": fact(-0.1)},
        {"attrition_rate": fact(1.5)},
        {"initial_certified_share": fact(1.2)},
        {"exam_pass_share": fact(-0.2)},
        {"training_places": fact(-10)},
        {"allocation": "households"},
        {"surprise": fact(1)},
    ],
)
def test_bad_parameters_are_refused(changes):
    with pytest.raises(pydantic.ValidationError):
        params(**changes)


def test_more_funded_posts_than_workers_is_refused():
    with pytest.raises(ValueError, match="funded posts"):
        init_social_work(params(initial_funded_posts=fact(400)), AREAS, inputs())
