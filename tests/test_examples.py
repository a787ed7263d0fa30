"""Run every gallery script of ``examples/`` in its quick mode.

The documentation build executes the examples in full; this test keeps them working in CI
without building the docs. Each script runs in a fresh interpreter with
``SKLEARN_MTML_QUICK=1`` (the examples shrink their data and grids), the Agg backend and
one thread for torch / BLAS (the test workers already run in parallel; oversubscribed torch
threads make small networks many times slower).
An example whose optional dependency is missing is skipped, naming the module.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))
TIMEOUT_S = 120  # per script; the quick mode of each aims at a few seconds

_MISSING = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    env = dict(
        os.environ,
        SKLEARN_MTML_QUICK="1",
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,  # examples must not depend on (or litter) the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if proc.returncode != 0:
        missing = _MISSING.search(proc.stderr)
        if missing and not missing.group(1).startswith("sklearn_mtml"):
            pytest.skip(f"{path.name} needs the optional module {missing.group(1)!r}")
        pytest.fail(f"{path.name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def test_examples_are_found():
    names = {p.name for p in EXAMPLES}
    assert "plot_school_multitask_ridge.py" in names
    assert "plot_streaming_partial_fit.py" in names


# ----------------------------------------------------------------- docstring examples
# Every docstring's ``Examples`` section runs as a doctest: numpydoc examples must run.


def _package_modules():
    import pkgutil

    import sklearn_mtml

    names = ["sklearn_mtml"]
    for info in pkgutil.walk_packages(sklearn_mtml.__path__, prefix="sklearn_mtml."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


@pytest.fixture
def one_torch_thread():
    """Small networks in docstrings run many times faster on one thread than on
    oversubscribed ones (the test workers already run in parallel)."""
    import sys

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    yield
    if torch is not None:
        torch.set_num_threads(before)


@pytest.mark.parametrize("module_name", _package_modules())
def test_docstring_examples(module_name, one_torch_thread):
    import doctest
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("sklearn_mtml"):
            pytest.skip(f"{module_name} needs the optional module {exc.name!r}")
        raise
    tests = [t for t in doctest.DocTestFinder().find(module, module_name) if t.examples]
    if not tests:
        pytest.skip(f"{module_name} has no docstring examples")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
