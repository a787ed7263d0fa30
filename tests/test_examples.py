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
