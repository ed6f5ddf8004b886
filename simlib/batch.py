"""``simlib batch``: many scenarios, unattended, on worker processes or a Dask cluster.

    simlib batch PARAMS.yaml... [--replicates N] [--seed S] [--scale F] [--workers N]
                 [--scheduler ADDRESS|local] [--out DIR] [--resume] [--force]
                 [--notebooks | --no-notebooks] [--lang zh|en] [--quiet]

Each scenario runs into ``DIR/<scenario>-<hash>/``, the hash covering its resolved
parameters, the seed, the replicates and the scale (:func:`run_folder.run_hash`), so
asking again for the same thing names the same folder.  Before anything runs every
file is loaded and every folder checked: a bad file, or a folder that already holds
this run (complete, or left incomplete by an interrupted batch) without ``--resume``
or ``--force``, stops the batch with exit status 2 and nothing started.  ``--resume``
skips complete runs and redoes the incomplete ones; ``--force`` redoes them all.

Runs are independent tasks (:mod:`simlib.parallel`): a run that fails does not stop
the others; the batch ends with a table of every run and its error, and exit status
0 when all are ``ok``, 1 when any failed.  Each run's seed is its own, so its results
are the same as ``simlib run`` with that seed, whatever the number of workers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from simlib import arguments, runs
from simlib.errors import UserError
from simlib.parallel import Failed, map_tasks
from simlib.parameters import ParameterError
from simlib.run_folder import RunOutcome, RunRequest, execute, run_hash, state


@dataclass(frozen=True)
class Planned:
    request: RunRequest
    action: str  # run | redo | skip
    scenario: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("params", nargs="+", help="scenario files (YAML)")
    arguments.add_run_options(parser)
    parser.add_argument(
        "--workers", type=arguments.positive_int, default=1, help="worker processes (default 1)"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://host:8786), or 'local' for a LocalCluster "
        "of --workers processes",
    )
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="skip complete runs, redo the rest")
    again.add_argument("--force", action="store_true", help="redo every run, complete or not")
    parser.add_argument(
        "--notebooks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="execute each run's scenario notebook (default); --no-notebooks: tables only",
    )


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    if args.seed is None:
        args.seed = runs.DEFAULT_SEED
    planned = plan(args, out)
    for p in planned:
        if p.action == "redo":
            shutil.rmtree(p.request.run_dir)
    todo = [p for p in planned if p.action != "skip"]
    _say(f"{len(todo)} run(s) to do, {len(planned) - len(todo)} complete and skipped", args)
    outcomes = _execute_all(todo, args)
    return _report(planned, outcomes)


def plan(args: argparse.Namespace, out: Path) -> list[Planned]:
    """Load every file and decide for every run: run, redo or skip; refuse what is unclear."""
    from simlib.scenario import load_scenario

    problems: list[str] = []
    planned: dict[str, Planned] = {}
    for file in args.params:
        try:
            loaded = load_scenario(file)
        except ParameterError as e:
            problems.extend(str(p) for p in e.problems)
            continue
        run_id = f"{loaded.name}-{run_hash(loaded.hash, args.seed, args.replicates, args.scale)}"
        run_dir = out / run_id
        request = RunRequest(
            params_file=str(loaded.file),
            run_dir=str(run_dir),
            seed=args.seed,
            replicates=args.replicates,
            scale=args.scale,
            lang=args.lang,
            notebook=args.notebooks,
            quiet=True,
        )
        action, problem = _decide(run_dir, args.resume, args.force)
        if problem:
            problems.append(problem)
        planned.setdefault(run_id, Planned(request, action, loaded.name))
    if problems:
        raise UserError("nothing was run:\n  " + "\n  ".join(problems))
    return list(planned.values())


def _decide(run_dir: Path, resume: bool, force: bool) -> tuple[str, str | None]:
    if not run_dir.exists():
        return "run", None
    found = state(run_dir)
    if force:
        return "redo", None
    if found == "running":
        pid = runs.read_manifest(run_dir).get("pid")
        return "skip", f"{run_dir} is being run now (process {pid}): wait, or --force redoes it"
    if found == "ok":
        if resume:
            return "skip", None
        return "skip", f"{run_dir} holds this run, complete: --resume skips it, --force redoes it"
    if resume:
        return "redo", None
    return "skip", (
        f"{run_dir} holds this run, not complete ({found}): --resume or --force redoes it"
    )


def _execute_all(todo: list[Planned], args: argparse.Namespace) -> dict[str, RunOutcome]:
    outcomes: dict[str, RunOutcome] = {}
    requests = [p.request for p in todo]
    try:
        for i, outcome in map_tasks(
            execute,
            requests,
            workers=args.workers,
            scheduler=args.scheduler,
            desc="batch",
            quiet=args.quiet,
        ):
            outcomes[requests[i].run_dir] = _settled(requests[i], outcome)
    except KeyboardInterrupt:
        for r in requests:
            if r.run_dir not in outcomes:
                _mark_failed(Path(r.run_dir), "interrupted")
        print("simlib: batch interrupted; `--resume` redoes the runs not complete", file=sys.stderr)
        raise
    return outcomes


def _settled(request: RunRequest, outcome: RunOutcome | Failed) -> RunOutcome:
    """A worker that raised or died: its run is marked failed with the error."""
    if isinstance(outcome, RunOutcome):
        return outcome
    _mark_failed(Path(request.run_dir), outcome.error)
    return RunOutcome(request.run_dir, "failed", outcome.error, 0.0)


def _mark_failed(run_dir: Path, error: str) -> None:
    if not run_dir.is_dir():
        return
    manifest = runs.read_manifest(run_dir)
    if manifest.get("status") == "ok":
        return
    runs.write_manifest(run_dir, manifest | {"status": "failed", "error": error, "end": runs.now()})


def _report(planned: list[Planned], outcomes: dict[str, RunOutcome]) -> int:
    failed = 0
    print(f"{'run':<40} {'status':<8} {'seconds':>8}  error")
    for p in planned:
        name = Path(p.request.run_dir).name
        o = outcomes.get(p.request.run_dir)
        if o is None:
            print(f"{name:<40} {'skipped':<8} {'':>8}  (complete)")
            continue
        failed += o.status != "ok"
        print(f"{name:<40} {o.status:<8} {o.seconds:>8.1f}  {o.error or ''}")
    if failed:
        print(f"simlib: {failed} run(s) failed; see the manifests", file=sys.stderr)
    return 1 if failed else 0


def _say(text: str, args: argparse.Namespace) -> None:
    if not args.quiet:
        print(f"simlib: {text}", file=sys.stderr)
