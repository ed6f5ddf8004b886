"""The ``simlib`` command line: run a scenario, validate a parameter file.

    simlib run PARAMS.yaml [--replicates N] [--seed S] [--scale F] [--run-id ID] [--out DIR]
               [--force] [--lang zh|en] [--workers N] [--quiet]
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

A command's module is imported only when that command runs: ``simlib --help`` lists
the commands from :data:`COMMANDS` and answers at once.  ``run`` starts the notebook's
kernel first, so that it loads while the scenario is read and the model runs.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from simlib import arguments
from simlib.errors import UserError

if TYPE_CHECKING:  # (imported when a command runs: the command line starts fast)
    from simlib.scenario import LoadedScenario

INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT)
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
"""The notebooks ``run`` executes (a test may point it elsewhere)."""

COMMANDS: dict[str, tuple[str, str]] = {
    # name -> (its help, the module that adds its arguments and runs it; "" for this one)
    "run": ("run a scenario through the scenario notebook", ""),
    "validate": ("check scenario files; print ok or the errors", ""),
    "backtest": (
        "fit the standard-adjustment mechanism on history and score its projection",
        "simlib.backtest",
    ),
    "calibrate": ("fit unobserved behaviours to target figures", "simlib.calibration"),
    "scenario": (
        "scenarios from a spreadsheet: write a template, read a filled one",
        "simlib.scenario_xlsx",
    ),
    "compare": (
        "compare runs side by side: spending, who pays, caseloads, beds, targets",
        "simlib.compare",
    ),
    "batch": (
        "run many scenarios into DIR/<scenario>-<hash>/, on processes or Dask",
        "simlib.batch",
    ),
    "sweep": (
        "sensitivity analysis: a design over parameters, indices, tornado, ranking",
        "simlib.sweep",
    ),
    "runs": ("an index of the runs in a folder", "simlib.run_index"),
}
"""The sub-commands, in the order ``simlib --help`` lists them."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser.

    With ``command``, only that sub-command gets its own arguments, and only its module
    is imported (the models, pandas, Dask, ... load when a command needs them, so
    ``simlib --help`` and a command's start are quick); every other sub-command is
    listed with its help ("" or an unknown name: all are listed, none is built).
    With None, every sub-command gets its arguments.
    """
    parser = argparse.ArgumentParser(
        prog="simlib", description="Civil-affairs policy simulation workbench (simlib)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, module) in COMMANDS.items():
        if command is None or name == command:
            _add_command(sub, name, help_text, module)
        else:
            sub.add_parser(name, help=help_text)  # listed; its arguments come when it runs
    return parser


def _add_command(sub: argparse._SubParsersAction, name: str, help_text: str, module: str) -> None:
    """Add the sub-command ``name`` with its arguments and the function that runs it."""
    if name == "scenario":  # a command with its own sub-commands: its module adds it
        importlib.import_module(module).add_arguments(sub)
        return
    parser = sub.add_parser(name, help=help_text)
    if name == "run":
        parser.add_argument("params", help="scenario file (YAML)")
        arguments.add_run_options(parser)
        parser.add_argument(
            "--run-id", default=None, help="run folder name (default: scenario-timestamp)"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the folder of an existing --run-id (never one still running)",
        )
        parser.add_argument(
            "--workers",
            type=arguments.positive_int,
            default=1,
            help="replicates in parallel worker processes (default 1); results are the same",
        )
        parser.set_defaults(func=cmd_run)
    elif name == "validate":
        parser.add_argument("params", nargs="+", help="scenario files (YAML)")
        parser.set_defaults(func=cmd_validate)
    else:
        commands = importlib.import_module(module)
        commands.add_arguments(parser)
        parser.set_defaults(func=commands.run)


def chosen_command(argv: list[str]) -> str | None:
    """The sub-command named on the command line (the first word that is not an option:
    ``simlib`` itself takes no option with a value), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (None: the command line); its exit status."""
    status = _main(sys.argv[1:] if argv is None else list(argv))
    if argv is None:  # the process ends now
        if status == INTERRUPTED:  # a second Ctrl-C cannot cut the exit short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.freeze()  # objects frozen for the collector: no sweep at exit (0.7 s after a run)
    return status


def _main(argv: list[str]) -> int:
    parser = build_parser(chosen_command(argv) or "")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage and the problem
        return int(e.code or 0)
    from simlib.parameters import ParameterError  # here: a command loads it anyway

    try:
        return int(args.func(args))
    except ParameterError as e:
        for problem in e.problems:
            print(f"simlib: {problem}", file=sys.stderr)
        return 2
    except UserError as e:
        print(f"simlib: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C where the command does not answer it, or a second one
        print("simlib: interrupted", file=sys.stderr)
        return INTERRUPTED


# --- validate -----------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from simlib.parameters import ParameterError
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


def new_run_dir(out: Path, run_id: str | None, scenario: str, force: bool = False) -> Path:
    """The run folder, made now: the given id (which must be new, or with ``force`` not
    running: its old folder is removed), or scenario-timestamp made unique (``-2``, ``-3``
    if another run took the name first, even at the same moment)."""
    out.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        run_dir = out / check_run_id(run_id)
        if run_dir.exists():
            _replace(run_dir, force)
        run_dir.mkdir()
        return run_dir
    base = check_run_id(f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}")
    for n in range(1, 1000):
        run_dir = out / (base if n == 1 else f"{base}-{n}")
        try:
            run_dir.mkdir()  # atomic: of two runs naming the same folder, one makes it
        except FileExistsError:
            continue
        return run_dir
    raise UserError(f"no free run folder name {base}-N in {out}")


def _replace(run_dir: Path, force: bool) -> None:
    """Remove an old run folder that ``--force`` replaces; refuse otherwise."""
    from simlib.run_folder import state

    if not force:
        raise UserError(
            f"run folder {run_dir} already exists: choose another --run-id, "
            "or --force to replace it"
        )
    status = state(run_dir) if run_dir.is_dir() else "unknown"
    if status in ("running", "unknown"):  # a live run, or a folder that is no run's
        what = "still running" if status == "running" else "not a run folder (no manifest)"
        raise UserError(f"{run_dir} is {what}: not replaced")
    shutil.rmtree(run_dir)


def cmd_run(args: argparse.Namespace) -> int:
    from simlib.notebooks import SCENARIO_IMPORTS, start_kernel_if_possible, stop_kernel
    from simlib.scenario import load_scenario

    loaded = load_scenario(args.params)  # a bad file ends the command here
    # the notebook's kernel now: it starts and loads while the model runs (the run stops
    # it; here it is stopped if the run never starts)
    kernel = start_kernel_if_possible(NOTEBOOKS, SCENARIO_IMPORTS)
    try:
        return _run(args, loaded, kernel)
    finally:
        if kernel is not None:
            stop_kernel(kernel)


def _run(args: argparse.Namespace, loaded: LoadedScenario, kernel: object) -> int:
    from simlib import runs
    from simlib.run_folder import RunRequest, execute

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    run_dir = new_run_dir(out, args.run_id, loaded.name, args.force)
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
        outcome = execute(request, kernel, loaded)
    except KeyboardInterrupt:
        print(f"simlib: interrupted; {run_dir} is marked failed", file=sys.stderr)
        return INTERRUPTED
    if outcome.error:
        print(
            f"simlib: run failed: {outcome.error}\nsimlib: what it wrote is in {run_dir}",
            file=sys.stderr,
        )
        return INTERRUPTED if outcome.error.endswith("interrupted") else 1
    print(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
