"""The ``simlib`` command line: run a scenario, validate a parameter file.

    simlib run PARAMS.yaml [--replicates N] [--seed S] [--scale F] [--run-id ID] [--out DIR]
               [--lang zh|en] [--workers N] [--quiet]
    simlib validate PARAMS.yaml [PARAMS.yaml ...]
    simlib backtest HISTORY.csv [...] --fit-until YEAR --horizon K [--drivers actual|forecast]
                    --out FILE.csv
    simlib calibrate PARAMS.yaml --targets FILE.csv [--params NAMES] [--out NEW.yaml] [...]
    simlib scenario template PARAMS.yaml --out FILE.xlsx
    simlib scenario from-xlsx FILE.xlsx --out NEW.yaml
    simlib compare RUN_DIR RUN_DIR... [--baseline RUN] [--lang zh|en] [--out DIR]
    simlib batch PARAMS.yaml... [--replicates N] [--seed S] [--scale F] [--workers N]
                 [--scheduler ADDRESS|local] [--out DIR] [--resume | --force] [--no-notebooks]
    simlib runs [--out DIR]
    simlib sweep SWEEP.yaml [--out DIR] [--workers N] [--scheduler ADDRESS|local] [--force]

``run`` runs the model and saves its tables into the run folder ``DIR/<run-id>/``,
then executes ``notebooks/scenario.ipynb`` there with papermill
(:mod:`simlib.run_folder`); the manifest says ``running`` while it works, then ``ok``,
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

from simlib import arguments
from simlib.errors import UserError
from simlib.parameters import ParameterError

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
"""The notebooks ``run`` executes (a test may point it elsewhere)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simlib", description="Civil-affairs policy simulation workbench (simlib)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario through the scenario notebook")
    run.add_argument("params", help="scenario file (YAML)")
    arguments.add_run_options(run)
    run.add_argument("--run-id", default=None, help="run folder name (default: scenario-timestamp)")
    run.add_argument(
        "--workers",
        type=arguments.positive_int,
        default=1,
        help="replicates in parallel worker processes (default 1); results are the same",
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

    from simlib import batch, run_index

    bat = sub.add_parser(
        "batch", help="run many scenarios into DIR/<scenario>-<hash>/, on processes or Dask"
    )
    batch.add_arguments(bat)
    bat.set_defaults(func=batch.run)
    from simlib import sweep

    sw = sub.add_parser(
        "sweep", help="sensitivity analysis: a design over parameters, indices, tornado, ranking"
    )
    sweep.add_arguments(sw)
    sw.set_defaults(func=sweep.run)
    idx = sub.add_parser("runs", help="an index of the runs in a folder")
    run_index.add_arguments(idx)
    idx.set_defaults(func=run_index.run)
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
    from simlib.run_folder import RunRequest, execute
    from simlib.scenario import load_scenario

    loaded = load_scenario(args.params)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    run_dir = new_run_dir(out, args.run_id, loaded.name)
    run_dir.mkdir(parents=True)
    request = RunRequest(
        params_file=str(loaded.file),
        run_dir=str(run_dir),
        seed=runs.DEFAULT_SEED if args.seed is None else args.seed,
        replicates=args.replicates,
        scale=args.scale,
        lang=args.lang,
        quiet=args.quiet,
        workers=args.workers,
        notebooks_dir=str(NOTEBOOKS),
    )
    print(f"simlib: running {loaded.name} into {run_dir}", file=sys.stderr)
    try:
        outcome = execute(request)
    except KeyboardInterrupt:
        print(f"simlib: interrupted; {run_dir} is marked failed", file=sys.stderr)
        return 130
    if outcome.error:
        print(
            f"simlib: run failed: {outcome.error}\nsimlib: what it wrote is in {run_dir}",
            file=sys.stderr,
        )
        return 130 if outcome.error.endswith("interrupted") else 1
    print(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
