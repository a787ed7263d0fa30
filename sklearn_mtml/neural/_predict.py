"""Prediction of the neural estimators: batched forward passes, per-task outputs."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._targets import REGRESSION
from ..utils._torch import torch_threads
from ._data import n_rows, take, to_device

__all__ = ["NetPredictMixin"]


class NetPredictMixin:
    """``_predict_tasks`` / ``_predict_rows`` (the hooks of :mod:`sklearn_mtml._base`'s
    template) from the fitted network ``net_``, in batches of ``_predict_batch_size`` rows."""

    #: rows per forward pass at predict time (memory grows with this, not with n)
    _predict_batch_size = 4096

    def _forward_numpy(self, X, task_index=None) -> np.ndarray:
        """Network outputs ``(n_samples, sum(out_sizes))`` computed in batches.

        With ``task_index`` (long format, routing network): each row's own task outputs,
        ``(n_samples, max(out_sizes))``.
        """
        check_is_fitted(self, "net_")
        X_t = self._to_tensors(X, fit=False)
        task = None if task_index is None else torch.as_tensor(task_index, dtype=torch.long)
        module = self.net_.module_
        module.eval()
        n = n_rows(X_t)
        out = None
        step = self._predict_batch_size
        threads = self._threads_for(module, self.device_, step)
        with torch.inference_mode(), torch_threads(threads):
            for start in range(0, n, step):
                rows = slice(start, start + step)
                route = {} if task is None else {"task": task[rows].to(self.device_)}
                batch = module(to_device(take(X_t, rows), self.device_), **route)
                if isinstance(batch, list | tuple):
                    batch = torch.cat([b.reshape(len(b), -1) for b in batch], dim=1)
                batch = batch.float().cpu().numpy()
                if out is None:
                    out = np.empty((n, batch.shape[1]), dtype=np.float32)
                out[rows] = batch
        return out

    def _task_outputs(self, X) -> list[np.ndarray]:
        """Per task: values ``(n,)`` (regression, original scale) or probabilities ``(n, C)``."""
        out = self._forward_numpy(X)
        layout = self._task_layout
        offsets = np.concatenate([[0], np.cumsum(self._out_sizes(layout))])
        result = []
        for t, kind in enumerate(layout.task_types):
            block = out[:, offsets[t]:offsets[t + 1]].astype(np.float64)
            if kind == REGRESSION:
                result.append(block[:, 0] * self._target_scale_[t] + self._target_mean_[t])
            else:
                block -= block.max(axis=1, keepdims=True)
                np.exp(block, out=block)
                block /= block.sum(axis=1, keepdims=True)
                result.append(block)
        return result

    def _predict_tasks(self, X):
        columns = [p if p.ndim == 1 else p.argmax(axis=1)
                   for p in self._task_outputs(X)]
        return np.column_stack(columns)

    def _predict_rows(self, X, task_index):
        """Long format: each row's encoded prediction for its own task only."""
        if not self.net_.routed_:
            P = self._predict_tasks(X)
            return P[np.arange(len(task_index)), task_index]
        out = self._forward_numpy(X, task_index).astype(np.float64)
        layout = self._task_layout
        if all(kind == REGRESSION for kind in layout.task_types):
            return out[:, 0] * self._target_scale_[task_index] + self._target_mean_[task_index]
        sizes = np.asarray(self._out_sizes(layout))[task_index]
        out[np.arange(out.shape[1])[None, :] >= sizes[:, None]] = -np.inf
        return out.argmax(axis=1)
