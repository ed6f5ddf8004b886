"""The quick projection, its figure, the widgets, the walk-through tables and the notebook."""

from __future__ import annotations

import numpy as np
import pytest

from simlib import explore, explore_widgets, walkthrough
from simlib.errors import UserError
from simlib.levers import Levers, apply_levers
from simlib.runs import run_scenario
from simlib.scenario import ending_in, load_scenario
from tests.conftest import BASELINE, notebook_outputs, run_notebook

SCALE = 0.02  # about 24,000 persons: a 2016-2020 run takes well under a second
END = 2020
SEED = 11


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def reference(base):
    return explore.project(base, scale=SCALE, seed=SEED, end_year=END)


def projected(base, **levers):
    changed = apply_levers(base, Levers.from_scenario(base).replace(**levers))
    return explore.project(changed, scale=SCALE, seed=SEED, end_year=END)


# --- the projection ------------------------------------------------------------------------------


def test_the_projection_is_the_model_of_run_scenario(base):
    short = ending_in(base, 2017)
    mine = explore.project(short, scale=0.01, replicates=2, seed=5)
    run = run_scenario(short, replicates=2, seed=5, scale=0.01)
    city = run.summary[run.summary.area == "all"]
    for metric in ("dibao_persons", "relief_spending_total", "beds_per_1000_elderly"):
        for stratum in ("urban", "rural", "all"):
            theirs = city[(city.metric == metric) & (city.stratum == stratum)].sort_values("year")
            ours = mine.series(metric, stratum)
            assert np.allclose(ours["mean"], theirs["mean"]), (metric, stratum)
            assert np.allclose(ours.p95, theirs.p95), (metric, stratum)
    # the ledger kept by programme and funder adds up to the total of the results
    total = mine.values["relief_spending_total"][:, :, -1, -1]
    assert np.allclose(mine.booked.sum(axis=(2, 3)), total)


def test_a_lower_fiscal_cap_never_raises_the_standard(reference, base):
    low = projected(base, fiscal_cap=0.015)  # below the 2.1-2.7% share of the reference
    for year in low.years:
        for stratum in ("urban", "rural"):
            assert low.at("dibao_standard_month", year, stratum) <= reference.at(
                "dibao_standard_month", year, stratum
            )
    # the cap binds: the urban standard stays at the base year's 525 (the ratchet) ...
    assert low.at("dibao_standard_month", END, "urban") == 525
    assert reference.at("dibao_standard_month", END, "urban") > 700
    assert low.decisions[END].cap_factor == 0.0
    # ... and the trace shows it: the rule cuts what the price uplift gave
    table = walkthrough.standards_table(low, END)
    assert table.loc["fiscal_cap", "urban"] < table.loc["price_uplift", "urban"]


def test_a_higher_take_up_raises_the_caseload(reference, base):
    more = projected(base, take_up_urban=0.6, take_up_rural=0.6)
    assert more.at("dibao_persons", END) > 1.2 * reference.at("dibao_persons", END)


def test_more_beds_raise_beds_per_thousand_elders(reference, base):
    more = projected(base, new_beds_per_year=2000)
    before = reference.at("beds_per_1000_elderly", END - 1)
    assert more.at("beds_per_1000_elderly", END - 1) == pytest.approx(before)  # plan from 2020
    # 1,600 more beds for about 230,000 elders: about 7 more per 1,000
    gain = more.at("beds_per_1000_elderly", END) - reference.at("beds_per_1000_elderly", END)
    assert 5 < gain < 9
    beds = walkthrough.beds_table(more)
    assert beds.loc["all", f"beds {END}"] == more.at("beds", END)


def test_a_lever_unchanged_gives_the_reference_again(reference, base):
    again = projected(base)
    assert np.array_equal(
        again.values["relief_spending_total"], reference.values["relief_spending_total"]
    )


# --- figure and summary --------------------------------------------------------------------------


def test_summary_line_says_what_changed_against_the_reference(reference, base):
    low = projected(base, fiscal_cap=0.015)
    line = explore.summary_line(low, reference)
    value, ref = low.at("relief_spending_total", 2020), reference.at("relief_spending_total", 2020)
    assert f"2020: {value / 1e8:.2f} 亿元 ({(value - ref) / 1e4:+,.0f} 万元" in line
    assert f"{(value - ref) / ref:+.1%} against the reference" in line
    assert "2030: not simulated" in line  # the run ends in 2020
    assert "Changed: fiscal_cap 0.05 → 0.015." in line
    assert "\n" not in line
    assert explore.summary_line(reference, reference).endswith("Changed: nothing.")


def test_figure_draws_six_panels_with_the_reference(reference, base):
    import matplotlib.pyplot as plt

    fig = explore.figure(projected(base, fiscal_cap=0.02), reference)
    axes = fig.axes
    assert len(axes) == 6
    titles = [ax.get_title() for ax in axes]
    assert titles[0].startswith("Dibao standard") and titles[5].startswith("Relief spending /")
    # standards: urban and rural, each with its reference
    assert [line.get_label() for line in axes[0].lines] == [
        "urban, reference",
        "urban",
        "rural, reference",
        "rural",
    ]
    # the fiscal cap is drawn on the share panel at 2%
    cap = [line for line in axes[5].lines if line.get_label() == "fiscal cap"]
    assert cap and cap[0].get_ydata()[0] == pytest.approx(2.0)
    assert "2020:" in fig._suptitle.get_text()
    plt.close(fig)


# --- widgets -------------------------------------------------------------------------------------


def test_the_explorer_maps_its_controls_to_levers_and_reruns(base, reference):
    ex = explore_widgets.Explorer(base, scale=SCALE, seed=SEED, end_year=END, reference=reference)
    assert ex.levers() == ex.defaults  # 0.2235 is kept, not rounded to the slider's step
    ex.set(fiscal_cap=0.02, new_beds_per_year=800)
    assert ex.levers().fiscal_cap == 0.02 and ex.levers().new_beds_per_year == 800
    result = ex.run()
    assert result is not None and result.levers.fiscal_cap == 0.02
    assert "re-run and redraw in" in ex.status.value
    ex.set(method="engel")
    assert ex.controls["ratio_urban"].disabled and ex.levers().ratio_urban == 0.30
    ex.reset()
    assert ex.levers() == ex.defaults and not ex.controls["ratio_urban"].disabled
    with pytest.raises(UserError, match="no lever 'cap'"):
        ex.set(cap=0.02)


def test_the_explorer_shows_a_refused_lever_instead_of_raising(base, reference, scenario_file):
    loaded = load_scenario(scenario_file("standards:\n  basket: null\n"))
    ex = explore_widgets.Explorer(loaded, scale=SCALE, seed=SEED, end_year=END, reference=reference)
    ex.controls["method"].options = ["consumption_ratio", "basket"]  # as if a stale list
    ex.set(method="basket")
    assert ex.run() is None and "refused" in ex.status.value


# --- the walk through the model ------------------------------------------------------------------


def test_the_city_is_built_to_the_census(reference):
    table = walkthrough.census_table(reference)
    # each area x stratum cell holds round(persons × 0.02) simulated persons, each for 50:
    # an area (two cells) is within 2 × 25 persons of its census target
    built, census = table["persons: built, end 2015"], table["persons: census, end 2015"]
    assert (abs(built - census)[:-1] <= 50.5).all()
    assert table.loc["city", "persons: census 2020-11"] == 1212203  # the 7th census


def test_the_walk_through_tables_add_up(reference):
    stages = walkthrough.stages_table(reference)
    assert list(stages.index) == ["1", "2", "3", "4", "5-6", "7", "8"]
    assert "in 2016" in stages.columns
    standards = walkthrough.standards_table(reference)  # 2020
    decision = reference.decisions[2020]
    assert standards.loc["rounding", "urban"] == decision.new.urban
    assert standards.loc["rounding", "urban"] == reference.at("dibao_standard_month", 2020, "urban")
    programmes = walkthrough.programmes_table(reference)
    total = reference.at("relief_spending_total", 2020) / 1e4
    assert programmes["spending, 万元"].sum() == pytest.approx(total, abs=0.1 * len(programmes))
    assert programmes["share"].sum() == pytest.approx(1.0, abs=0.01)
    ledger = walkthrough.ledger_by_funder(reference)
    assert ledger.loc["total", "total"] == pytest.approx(total, abs=0.1)
    targets = walkthrough.targets_table(reference)
    assert set(targets.year) <= set(range(2016, 2021)) and len(targets) >= 5
    with pytest.raises(UserError, match="2025 is not simulated"):
        walkthrough.programmes_table(reference, 2025)


# --- the notebook --------------------------------------------------------------------------------


def test_the_explore_notebook_runs(tmp_path):
    nb = run_notebook(
        "explore.ipynb",
        tmp_path / "explore.ipynb",
        scale=0.01,
        end_year=2018,
        interactive=False,
        start_levers={"fiscal_cap": 0.015},
    )
    outputs = notebook_outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "Changed: fiscal_cap 0.05 → 0.015" in text
    assert "2030: not simulated" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure
    for heading in ("stage", "urban", "Central government", "target"):
        assert heading in text
