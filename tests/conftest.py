"""Test-wide settings.

The suite runs with ``pytest -n 2`` on 2 cores: each worker is limited to one BLAS / OpenMP /
torch thread, otherwise thread pools oversubscribe the cores and small fits get 10-30x
slower. (Library code never changes thread settings; estimators have ``n_threads``.)
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)

try:
    import torch
except ImportError:  # pragma: no cover - torch is a runtime dependency
    torch = None
else:
    torch.set_num_threads(1)


# ------------------------------------------------------------------------- shared helpers
# Test modules import these with ``from conftest import ...``: in pytest's default
# ("prepend") import mode the folder of this rootdir conftest is on ``sys.path``.

#: the words of negative (0) and positive (1) reviews in the toy multi-modal data
REVIEW_WORDS = {
    0: ["dull", "tight", "cheap", "returned"],
    1: ["lovely", "soft", "perfect", "great"],
}


def make_estimator(cls):
    """A small, fast instance of ``cls``: its ``_check_instance()`` if it has one.

    Estimators with required parameters (e.g. ``modalities``) or slow defaults provide
    ``_check_instance()``; the others are built with their defaults.
    """
    maker = getattr(cls, "_check_instance", None)
    return maker() if maker is not None else cls()


def fitted_attributes(est) -> list:
    """Names of the fitted attributes of ``est`` (trailing underscore, not dunder)."""
    return [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
