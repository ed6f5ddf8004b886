"""``simlib batch`` and ``simlib runs``: folders named by the request, the same results as
single runs whatever the workers (processes or a local Dask cluster), refusal, resume and
force, a failing scenario, and a batch killed half-way then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simlib import runs
from simlib.cli import main
from simlib.run_folder import run_hash, state
from tests.conftest import BASELINE

SHORT = "years: {end_year: 2018}\n"  # three simulated years: quick


@pytest.fixture
def scenarios(tmp_path):
    """Three short scenarios extending the baseline: a, b (a lower fiscal cap) and c."""
    texts = {
        "a": "",
        "b": "standards: {fiscal_cap: {max_share: {value: 0.02, unit: share, assumption: test}}}\n",
        "c": "programmes: {dibao: {take_up: {max_rate: {urban: {value: 0.5}}}}}\n",
    }
    files = []
    for name, extra in texts.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"extends: {BASELINE}\nscenario: {{name: {name}}}\n{SHORT}{extra}", encoding="utf-8"
        )
        files.append(path)
    return files


def batch(out: Path, files: list[Path], *extra: str) -> int:
    args = ["batch", *map(str, files), "--replicates", "2", "--scale", "0.01", "--seed", "7"]
    return main([*args, "--out", str(out), "--quiet", *extra])


def folders(out: Path) -> dict[str, Path]:
    return {d.name.rsplit("-", 1)[0]: d for d in sorted(out.iterdir()) if d.is_dir()}


def single(file: Path) -> runs.RunResult:
    return runs.run_scenario(file, replicates=2, seed=7, scale=0.01)


def test_the_run_hash_names_the_request():
    h = run_hash("abcd", 7, 2, 0.01)
    assert h == run_hash("abcd", 7, 2, 0.01) and len(h) == 12
    others = {run_hash("abce", 7, 2, 0.01), run_hash("abcd", 8, 2, 0.01)}
    others |= {run_hash("abcd", 7, 3, 0.01), run_hash("abcd", 7, 2, 0.02)}
    assert h not in others and len(others) == 4


def test_two_workers_give_the_results_of_single_runs(tmp_path, scenarios):
    out = tmp_path / "out"
    assert batch(out, scenarios[:2], "--workers", "2") == 0
    found = folders(out)
    assert set(found) == {"a", "b"}
    for file in scenarios[:2]:
        run_dir = found[file.stem]
        alone = single(file)
        assert run_dir.name == f"{file.stem}-{run_hash(alone.scenario.hash, 7, 2, 0.01)}"
        pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "results.parquet"), alone.table)
        pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "ledger.parquet"), alone.ledger)
        manifest = runs.read_manifest(run_dir)
        assert manifest["status"] == "ok" and manifest["notebook"] is True
        # with notebooks (the default): the executed notebook and its HTML copy
        assert (run_dir / "scenario.ipynb").is_file() and (run_dir / "scenario.html").is_file()


def test_a_local_dask_cluster_gives_the_same_results(tmp_path, scenarios):
    out = tmp_path / "out"
    code = batch(out, scenarios, "--scheduler", "local", "--workers", "2", "--no-notebooks")
    assert code == 0
    for file in scenarios:
        run_dir = folders(out)[file.stem]
        pd.testing.assert_frame_equal(
            pd.read_parquet(run_dir / "results.parquet"), single(file).table
        )
        assert not (run_dir / "scenario.ipynb").exists()


def test_a_complete_run_is_refused_skipped_with_resume_and_redone_with_force(
    tmp_path, scenarios, capsys
):
    out = tmp_path / "out"
    assert batch(out, scenarios[:1], "--no-notebooks") == 0
    run_dir = folders(out)["a"]
    first = runs.read_manifest(run_dir)
    capsys.readouterr()
    assert batch(out, scenarios[:2], "--no-notebooks") == 2
    err = capsys.readouterr().err
    assert "nothing was run" in err and "--resume skips it" in err and str(run_dir) in err
    assert set(folders(out)) == {"a"}  # b was not started either
    assert batch(out, scenarios[:2], "--no-notebooks", "--resume") == 0
    assert runs.read_manifest(run_dir)["start"] == first["start"]  # a was skipped
    assert "skipped" in capsys.readouterr().out and set(folders(out)) == {"a", "b"}
    time.sleep(1.1)  # manifest times are to the second
    assert batch(out, scenarios[:1], "--no-notebooks", "--force") == 0
    assert runs.read_manifest(run_dir)["start"] > first["start"]


def test_bad_requests_exit_2_before_anything_runs(tmp_path, scenarios, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASELINE}\nyears: {{end_year: 1999}}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert batch(out, [scenarios[0], bad]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: years" in err and "Traceback" not in err
    assert not out.exists()
    assert batch(out, scenarios[:1], "--workers", "0") == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert batch(out, scenarios[:1], "--resume", "--force") == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_one_failing_scenario_does_not_stop_the_others(tmp_path, scenarios, monkeypatch, capsys):
    real = runs.run_scenario

    def breaks_on_b(scenario, **kwargs):
        if scenario.name == "b":
            raise RuntimeError("b broke")
        return real(scenario, **kwargs)

    monkeypatch.setattr(runs, "run_scenario", breaks_on_b)  # one worker: in this process
    out = tmp_path / "out"
    assert batch(out, scenarios, "--no-notebooks") == 1
    report = capsys.readouterr().out
    assert "RuntimeError: b broke" in report
    found = folders(out)
    assert [state(found[n]) for n in "abc"] == ["ok", "failed", "ok"]
    assert runs.read_manifest(found["b"])["error"] == "RuntimeError: b broke"
    assert not (found["b"] / "results.parquet").exists()


def test_a_batch_killed_half_way_resumes_exactly_the_runs_not_complete(tmp_path, scenarios):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "simlib.cli", "batch", *map(str, scenarios)]
    command += ["--replicates", "2", "--scale", "0.01", "--seed", "7", "--quiet"]
    command += ["--no-notebooks", "--out", str(out)]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # wait until one run is done and the next started
            found = folders(out) if out.is_dir() else {}
            states = {n: runs.read_manifest(d).get("status") for n, d in found.items()}
            if "ok" in states.values() and "running" in states.values():
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the batch never reached a second run: {states}")
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, killed outright
    finally:
        proc.wait()
    killed = {n: state(d) for n, d in folders(out).items()}
    assert sorted(killed.values()) == ["ok", "stopped"]  # the third never started
    done = next(n for n, s in killed.items() if s == "ok")
    before = runs.read_manifest(folders(out)[done])
    ok = [n for n, d in folders(out).items() if (d / "results.parquet").is_file()]
    assert ok == [done]  # the stopped run left no complete-looking table

    assert main(["runs", "--out", str(out)]) == 0
    assert batch(out, scenarios, "--no-notebooks") == 2  # refused: a run is not complete
    assert batch(out, scenarios, "--no-notebooks", "--resume") == 0
    after = {n: runs.read_manifest(d) for n, d in folders(out).items()}
    assert after[done] == before  # the complete run was left alone
    assert all(m["status"] == "ok" for m in after.values()) and len(after) == 3
    for file in scenarios:
        pd.testing.assert_frame_equal(
            pd.read_parquet(folders(out)[file.stem] / "results.parquet"), single(file).table
        )


def test_the_index_lists_every_run_with_its_state(tmp_path, scenarios, capsys):
    out = tmp_path / "out"
    assert batch(out, scenarios[:2], "--no-notebooks") == 0
    stale = out / "old-run"
    stale.mkdir()
    manifest = {"run_id": "old-run", "status": "running", "scenario": "x", "host": os.uname()[1]}
    (stale / "manifest.json").write_text(json.dumps(manifest | {"pid": 2**22 + 1}))
    capsys.readouterr()
    assert main(["runs", "--out", str(out), "--csv"]) == 0
    index = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert list(index.columns[:7]) == [
        "run_id",
        "scenario",
        "hash",
        "seed",
        "replicates",
        "scale",
        "status",
    ]
    rows = index.set_index("scenario")
    assert rows.loc["x", "status"] == "stopped"
    assert rows.loc["a", "status"] == "ok" and rows.loc["a", "seed"] == 7
    assert rows.loc["a", "run_id"].endswith(rows.loc["a", "hash"])
    assert main(["runs", "--out", str(tmp_path / "nowhere")]) == 2
