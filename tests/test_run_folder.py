"""The notebook of a run: a kernel started ahead with its imports, papermill imported lean."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from simlib import notebooks, run_folder
from tests.conftest import BASELINE, ROOT

with notebooks.deferred_iri_grammar():
    import nbformat

PROBE = "colorsys"  # a standard module neither IPython nor ipykernel imports


def write_notebook(folder, source: str):
    """A notebook with a parameters cell (``x = 1``) and one code cell; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


REPORT = (
    "import json, os, sys\n"
    f"print(json.dumps({{'cwd': os.getcwd(), 'loaded': {PROBE!r} in sys.modules, 'x': x,\n"
    "    'names': sorted(n for n in globals() if n.startswith('_m') or n == "
    f"{PROBE!r})}}))"
)


def run_probe(tmp_path, kernel):
    """Execute the probe notebook (x = 2) in ``kernel``; what its last cell reported and the
    execution counts of its cells."""
    notebook = write_notebook(tmp_path / "nb", REPORT)
    out = tmp_path / "out.ipynb"
    assert notebooks.execute(notebook, out, {"x": 2}, kernel=kernel) is None
    nb = nbformat.read(out, as_version=4)
    report = json.loads(nb.cells[-1].outputs[0]["text"])
    return report, [c.execution_count for c in nb.cells]


def test_a_kernel_started_ahead_has_its_modules_and_an_empty_namespace(tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    kernel = notebooks.start_kernel(folder, [PROBE, "no_such_module_at_all"])
    report, counts = run_probe(tmp_path, kernel)
    # the probe module is loaded, the one that does not exist was skipped; the preloading
    # left no name behind, the notebook ran in its folder with its parameter, and its
    # cells are numbered from 1 (parameters, injected parameters, the probe)
    assert report == {"cwd": str(folder), "loaded": True, "x": 2, "names": []}
    assert counts == [1, 2, 3]
    assert not kernel.has_kernel  # execute shut it down


def test_a_new_kernel_has_not_loaded_the_probe(tmp_path):
    report, counts = run_probe(tmp_path, None)  # so the test above can fail
    assert report["loaded"] is False and counts == [1, 2, 3]


def test_a_run_whose_model_fails_stops_its_kernel(tmp_path, monkeypatch):
    started = []

    def kernel(request):
        started.append(notebooks.start_kernel(tmp_path))
        return started[0]

    monkeypatch.setattr(run_folder, "_notebook_kernel", kernel)
    request = run_folder.RunRequest(
        params_file=str(BASELINE), run_dir=str(tmp_path / "run"), seed=1, replicates=1, scale=2.0
    )
    outcome = run_folder.execute(request)
    assert outcome.status == "failed" and "scale must be in (0, 1]" in outcome.error
    assert len(started) == 1 and not started[0].has_kernel


def test_without_a_kernel_the_model_runs_and_the_run_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "KERNEL", "no-such-kernel")
    assert notebooks.start_kernel_if_possible(tmp_path) is None
    request = run_folder.RunRequest(
        params_file=str(BASELINE), run_dir=str(tmp_path / "run"), seed=1, replicates=1, scale=0.01
    )
    outcome = run_folder.execute(request)
    # the kernel that could not start ahead is tried again by papermill, whose error is the
    # run's; the model ran before, so its tables are there
    assert outcome.status == "failed" and outcome.error.startswith("notebook: NoSuchKernel")
    assert (tmp_path / "run" / "results.parquet").is_file()


IRI_CHECKS_BY_RFC3987_SYNTAX = pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None
    or importlib.util.find_spec("rfc3987") is not None,  # jsonschema would use that one
    reason="jsonschema checks IRIs with rfc3987_syntax only where it is installed alone",
)
IMPORT = (
    "import sys\n"
    "from simlib.notebooks import deferred_iri_grammar\n"
    "with deferred_iri_grammar():\n"
    "    import jsonschema\n"
    "check = jsonschema.Draft7Validator.FORMAT_CHECKER\n"
    "print('iri' in check.checkers, 'lark' in sys.modules, 'rfc3987_syntax' in sys.modules)\n"
)


def python(code: str) -> list[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()


@IRI_CHECKS_BY_RFC3987_SYNTAX
def test_jsonschema_loads_without_the_iri_grammar_and_hands_iri_checks_on():
    fake = (  # the module the first check loads: a fake that accepts only "ok"
        "import types\n"
        "sys.modules['rfc3987_syntax'] = types.SimpleNamespace(is_valid_syntax=lambda t, v: "
        "t == 'iri' and v == 'ok')\n"
        "print(check.conforms('ok', 'iri'), check.conforms('not ok', 'iri'))\n"
    )
    # jsonschema has its "iri" check, but neither the grammar (built with lark) nor the
    # module is loaded; the check goes to whatever the module is when first used
    assert python(IMPORT + fake) == ["True", "False", "False", "True", "False"]


@pytest.mark.slow
@IRI_CHECKS_BY_RFC3987_SYNTAX
def test_the_real_grammar_is_built_on_the_first_iri_check():
    real = (
        "good = check.conforms('https://例子.测试/民政?年=2020', 'iri')\n"
        "bad = check.conforms('no scheme here', 'iri')\n"
        "print(good, bad, 'lark' in sys.modules)\n"
    )
    assert python(IMPORT + real) == ["True", "False", "False", "True", "False", "True"]
