"""Save and load models without executing code from the file.

``pickle`` / ``joblib`` files run code when they are loaded: never load one from a source
you do not trust. This module offers two paths that do not:

* :func:`dump` / :func:`load` -- any fitted model, a whole :class:`~sklearn.pipeline.Pipeline`
  (``ColumnTransformer`` + network) included, in `skops <https://skops.readthedocs.io>`_'s
  format (a zip of JSON and ``.npy`` arrays); the package's neural estimators are stored
  as plain values and arrays (see :func:`dump`). Needs ``pip install skops``.
* :func:`save_safe` / :func:`load_safe` -- one fitted neural estimator to a
  `safetensors <https://huggingface.co/docs/safetensors>`_ file.

Both loaders check the type the caller expects before building anything.
"""

from ._safe import _digest, load_safe, save_safe  # noqa: F401
from ._skops import dump, load, trusted_types

__all__ = ["dump", "load", "load_safe", "save_safe", "trusted_types"]
