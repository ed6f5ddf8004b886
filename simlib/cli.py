"""The ``simlib`` command line: run a scenario, validate a parameter file.

    simlib run PARAMS.yaml [--replicates N] [--seed S] [--scale F] [--run-id ID] [--out DIR]
               [--lang zh|en]
    simlib validate PARAMS.yaml [PARAMS.yaml ...]
    simlib backtest HISTORY.csv [...] --fit-until YEAR --horizon K [--drivers actual|forecast]
                    --out FILE.csv
    simlib calibrate PARAMS.yaml --targets FILE.csv [--params NAMES] [--out NEW.yaml] [...]
    simlib scenario template PARAMS.yaml --out FILE.xlsx
    simlib scenario from-xlsx FILE.xlsx --out NEW.yaml
    simlib compare RUN_DIR RUN_DIR... [--baseline RUN] [--lang zh|en] [--out DIR]

``run`` executes ``notebooks/scenario.ipynb`` with papermill into the run folder
``DIR/<run-id>/`` and writes the manifest: ``running`` while it works, then ``ok``,
or ``failed`` with the error (the executed notebook is kept either way).  A user
error (a bad file, a bad option, a run folder that exists) prints a clear message
and exits with status 2, with no traceback; a run that fails exits with 1.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from simlib import arguments
from simlib.errors import UserError
from simlib.parameters import ParameterError

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simlib", description="Civil-affairs policy simulation workbench (simlib)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario through the scenario notebook")
    run.add_argument("params", help="scenario file (YAML)")
    run.add_argument(
        "--replicates", type=arguments.positive_int, default=5, help="replicates (default 5)"
    )
    run.add_argument(
        "--seed", type=arguments.seed, default=None, help="root seed (default 20160101)"
    )
    run.add_argument(
        "--scale",
        type=arguments.scale,
        default=0.2,
        help="share of the city simulated, 0-1 (default 0.2); results are city totals",
    )
    run.add_argument("--run-id", default=None, help="run folder name (default: scenario-timestamp)")
    run.add_argument("--out", default="outputs", help="folder for run folders (default outputs)")
    run.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="language of budget.xlsx, the budget figures and the targets table (default zh)",
    )
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check scenario files; print ok or the errors")
    val.add_argument("params", nargs="+", help="scenario files (YAML)")
    val.set_defaults(func=cmd_validate)

    from simlib import backtest  # imported here: the commands' own arguments

    bt = sub.add_parser(
        "backtest",
        help="fit the standard-adjustment mechanism on history and score its projection",
    )
    backtest.add_arguments(bt)
    bt.set_defaults(func=backtest.run)

    from simlib import calibration

    cal = sub.add_parser("calibrate", help="fit unobserved behaviours to target figures")
    calibration.add_arguments(cal)
    cal.set_defaults(func=calibration.run)

    from simlib import scenario_xlsx

    scenario_xlsx.add_arguments(sub)

    from simlib import compare

    cmp = sub.add_parser(
        "compare", help="compare runs side by side: spending, who pays, caseloads, beds, targets"
    )
    compare.add_arguments(cmp)
    cmp.set_defaults(func=compare.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage and the problem
        return int(e.code or 0)
    try:
        return int(args.func(args))
    except ParameterError as e:
        for problem in e.problems:
            print(f"simlib: {problem}", file=sys.stderr)
        return 2
    except UserError as e:
        print(f"simlib: {e}", file=sys.stderr)
        return 2


# --- validate -----------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from simlib.scenario import load_scenario

    status = 0
    for path in args.params:
        try:
            loaded = load_scenario(path)
        except ParameterError as e:
            for problem in e.problems:
                print(f"simlib: {problem}", file=sys.stderr)
            status = 2
            continue
        print(f"ok: {path} (scenario {loaded.name}, parameter hash {loaded.hash})")
    return status


# --- run ------------------------------------------------------------------------------


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id) or ".." in run_id:
        raise UserError(
            f"invalid run id {run_id!r}: use letters, digits, '_', '-' and '.', "
            "at most 100 characters, no path separators and no '..'"
        )
    return run_id


def new_run_dir(out: Path, run_id: str | None, scenario: str) -> Path:
    """The run folder: the given id (which must be new), or scenario-timestamp made unique."""
    if run_id is not None:
        run_dir = out / check_run_id(run_id)
        if run_dir.exists():
            raise UserError(f"run folder {run_dir} already exists: choose another --run-id")
        return run_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = check_run_id(f"{scenario}-{stamp}")
    run_dir, n = out / base, 1
    while run_dir.exists():
        n += 1
        run_dir = out / f"{base}-{n}"
    return run_dir


def cmd_run(args: argparse.Namespace) -> int:
    from simlib import runs
    from simlib.scenario import load_scenario

    loaded = load_scenario(args.params)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    run_dir = new_run_dir(out, args.run_id, loaded.name)
    run_dir.mkdir(parents=True)
    seed = runs.DEFAULT_SEED if args.seed is None else args.seed
    manifest: dict[str, Any] = {
        "run_id": run_dir.name,
        "status": "running",
        "scenario": loaded.name,
        "scenario_file": str(loaded.file),
        "extends_chain": [str(p) for p in loaded.tree.chain],
        "parameter_hash": loaded.hash,
        "seed": seed,
        "replicates": args.replicates,
        "scale": args.scale,
        "lang": args.lang,
        "versions": runs.versions(),
        "start": runs.now(),
        "end": None,
    }
    runs.write_manifest(run_dir, manifest)
    print(f"simlib: running {loaded.name} into {run_dir}", file=sys.stderr)
    error = execute_scenario_notebook(
        run_dir, loaded.file, args.replicates, seed, args.scale, args.lang
    )
    manifest = runs.read_manifest(run_dir) | {"end": runs.now()}
    manifest["status"] = "failed" if error else "ok"
    if error:
        manifest["error"] = error
    manifest["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    runs.write_manifest(run_dir, manifest)
    if error:
        print(
            f"simlib: run failed: {error}\nsimlib: the notebook with the error is in {run_dir}",
            file=sys.stderr,
        )
        return 130 if error == "interrupted" else 1
    print(run_dir)
    return 0


def execute_scenario_notebook(
    run_dir: Path, params_file: Path, replicates: int, seed: int, scale: float, lang: str = "zh"
) -> str | None:
    """Execute the scenario notebook into ``run_dir``; the error text, or None if it ran."""
    from simlib.notebooks import execute

    output = run_dir / "scenario.ipynb"
    error = execute(
        NOTEBOOKS / "scenario.ipynb",
        output,
        {
            "params_file": str(params_file),
            "replicates": replicates,
            "seed": seed,
            "scale": scale,
            "run_id": run_dir.name,
            "output_dir": str(run_dir.parent.resolve()),
            "lang": lang,
        },
    )
    if error:
        return error
    export_html(output)
    return None


def export_html(notebook: Path) -> Path:
    """An HTML copy of an executed notebook, beside it."""
    import nbformat
    from nbconvert import HTMLExporter

    from simlib.files import write_atomic

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    target = notebook.with_suffix(".html")
    return write_atomic(target, lambda p: p.write_text(body, encoding="utf-8"))


if __name__ == "__main__":
    sys.exit(main())
