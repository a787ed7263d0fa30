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
