"""The benchmark scripts run (at a tiny scale, so they cannot rot); no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"


def run(script: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_bench_city_reports_its_figures_as_json():
    lines = run("bench_city.py", "--scale", "0.01", "--years", "2016-2017", "--json")
    result = json.loads(lines[-1])
    keys = {"persons", "households", "steps", "build_s", "step_s"}
    assert keys | {"ns_per_person_step", "peak_rss_mb"} <= set(result)
    assert result["steps"] == 2 and 10_000 < result["persons"] < 14_000  # 1% of 1.2 million


def test_bench_batch_gives_the_same_results_on_one_and_two_processes():
    lines = run(
        "bench_batch.py", "--replicates", "2", "--scale", "0.01", "--years", "2016-2017",
        "--no-dask", "--json",
    )  # fmt: skip
    assert "identical results" in lines[0]
    result = json.loads(lines[-1])
    assert set(result["seconds"]) == {"1 process", "2 processes"}


def test_bench_vs_mesa_compares_like_with_like_and_ends_with_the_ratio():
    lines = run("bench_vs_mesa.py", "--households", "2000", "--steps", "2")
    assert any("caseload share" in line and "simlib" in line for line in lines)
    assert any("caseload share" in line and "Mesa" in line for line in lines)
    last = lines[-1]
    assert last.startswith("ratio: ") and last.endswith("x") and float(last[7:-1]) > 0
