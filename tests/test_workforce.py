"""The workforce pipeline: stock-flow identity, certification, training places, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from simlib.workforce import Workforce, certification, fill, spread, year_flows


def one_year(stock: Workforce, **changes):
    kwargs = dict(
        attrition_rate=0.1,
        hires=np.array([20.0]),
        hires_certified_share=0.25,
        training_places=10.0,
        pass_share=0.8,
        base_rate=0.05,
    )
    return year_flows(stock, **(kwargs | changes))


def test_stock_flow_identity_worked_by_hand():
    # 100 workers, 40 certified; attrition 10%; 20 hires, a quarter certified; 10 training
    # places passing at 80%; the untrained certify at 5%.
    #   leavers = 0.1 × 100 = 10, of them certified 0.1 × 40 = 4
    #   certified hires = 0.25 × 20 = 5
    #   pool = uncertified staying (60 − 6 = 54) + uncertified hires (20 − 5 = 15) = 69
    #   trained = min(10, 69) = 10; certified in = 0.8 × 10 + 0.05 × (69 − 10) = 8 + 2.95 = 10.95
    #   workers = 100 + 20 − 10 = 110; certified = 40 + 5 + 10.95 − 4 = 51.95
    f = one_year(Workforce(np.array([100.0]), np.array([40.0])))
    assert f.leavers.tolist() == pytest.approx([10.0])
    assert f.certified_leavers.tolist() == pytest.approx([4.0])
    assert f.certified_hires.tolist() == pytest.approx([5.0])
    assert f.trained.tolist() == pytest.approx([10.0])
    assert f.certified_in.tolist() == pytest.approx([10.95])
    assert f.workers.tolist() == pytest.approx([110.0])
    assert f.certified.tolist() == pytest.approx([51.95])
    # the identity holds exactly, not just approximately
    assert (f.workers == f.workers_start + f.inflow - f.outflow).all()
    assert (
        f.certified == f.certified_start + f.certified_hires + f.certified_in - f.certified_leavers
    ).all()
    assert f.end.workers.tolist() == f.workers.tolist()


def test_identity_holds_over_many_years_and_cells():
    rng = np.random.default_rng(3)
    stock = Workforce(rng.uniform(0, 500, (5, 2)), np.zeros((5, 2)))
    for _ in range(15):
        f = one_year(stock, hires=rng.uniform(0, 80, (5, 2)), training_places=rng.uniform(0, 300))
        assert (f.workers == f.workers_start + f.hires - f.leavers).all()
        assert (
            f.certified
            == f.certified_start + f.certified_hires + f.certified_in - f.certified_leavers
        ).all()
        assert (f.certified <= f.workers + 1e-9).all() and (f.certified >= 0).all()
        stock = f.end


def test_certification_path_without_hires_or_leavers():
    # 100 uncertified, no attrition, no hires, no places, 50% certify a year on their own:
    # certified 50, then 50 + 0.5 × 50 = 75, then 75 + 0.5 × 25 = 87.5: towards all, never above
    stock = Workforce(np.array([100.0]), np.array([0.0]))
    path = []
    for _ in range(3):
        f = one_year(stock, attrition_rate=0.0, hires=0.0, training_places=0.0, base_rate=0.5)
        stock = f.end
        path.append(float(stock.certified[0]))
    assert path == pytest.approx([50.0, 75.0, 87.5])
    assert stock.workers.tolist() == [100.0]


def test_training_places_follow_the_pool_and_never_exceed_it():
    # pools 30 and 10: 20 places -> 15 and 5 (in proportion); 100 places -> 30 and 10 (all)
    pool = np.array([30.0, 10.0])
    trained, certified_in = certification(pool, 20.0, pass_share=1.0, base_rate=0.0)
    assert trained.tolist() == pytest.approx([15.0, 5.0])
    assert certified_in.tolist() == pytest.approx([15.0, 5.0])
    trained, certified_in = certification(pool, 100.0, pass_share=0.5, base_rate=0.1)
    assert trained.tolist() == pytest.approx([30.0, 10.0])
    assert certified_in.tolist() == pytest.approx([15.0, 5.0])  # 0.5 × trained, nobody untrained
    assert certification(np.zeros(2), 50.0, 1.0, 0.0)[0].tolist() == [0.0, 0.0]


def test_spread_and_fill():
    assert spread(10.0, np.array([3.0, 1.0])).tolist() == pytest.approx([7.5, 2.5])
    assert spread(10.0, np.zeros(4)).tolist() == pytest.approx([2.5] * 4)  # no weight: equal
    assert fill(10.0, np.array([3.0, 1.0])).tolist() == pytest.approx([3.0, 1.0])  # capped
    assert fill(2.0, np.array([3.0, 1.0])).tolist() == pytest.approx([1.5, 0.5])


@pytest.mark.parametrize(
    "changes",
    [
        {"attrition_rate": -0.1},
        {"attrition_rate": 1.5},
        {"hires_certified_share": 1.2},
        {"pass_share": -0.01},
        {"base_rate": 2.0},
        {"hires": np.array([-1.0])},
        {"training_places": -5.0},
    ],
)
def test_bad_inputs_are_refused(changes):
    with pytest.raises(ValueError):
        one_year(Workforce(np.array([100.0]), np.array([40.0])), **changes)


def test_a_workforce_with_more_certified_than_workers_is_refused():
    with pytest.raises(ValueError, match="certified"):
        Workforce(np.array([10.0]), np.array([11.0]))
    with pytest.raises(ValueError, match="shape"):
        Workforce(np.array([10.0, 5.0]), np.array([1.0]))
