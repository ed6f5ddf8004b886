"""simlib: a policy simulation and forecasting workbench for a city civil-affairs bureau.

The default city is Panzhihua (攀枝花市).  The usual way in::

    import simlib
    run = simlib.run_scenario("params/baseline.yaml", replicates=5, scale=0.2)
    run.summary                      # mean, p05, p50, p95 per year, area, stratum, metric
    run = simlib.load_run("outputs/baseline-<hash>")   # a saved run back from its folder

The package is imported lazily, so ``import simlib`` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_scenario": "simlib.scenario",
    "run_scenario": "simlib.runs",
    "load_run": "simlib.runs",
    "RunResult": "simlib.runs",
    "CityModel": "simlib.model",
    "ParameterError": "simlib.parameters",
}

if TYPE_CHECKING:
    from simlib.model import CityModel
    from simlib.parameters import ParameterError
    from simlib.runs import RunResult, load_run, run_scenario
    from simlib.scenario import load_scenario

__all__ = [
    "CityModel",
    "ParameterError",
    "RunResult",
    "load_run",
    "load_scenario",
    "run_scenario",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'simlib' has no attribute {name!r}")
