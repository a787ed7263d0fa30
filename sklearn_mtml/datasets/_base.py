"""Shared helpers of the dataset loaders: file locations and Bunch assembly."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

_PACKAGE = "sklearn_mtml.datasets"


def data_path(*parts: str) -> Path:
    """Path of a bundled data file (under ``sklearn_mtml/datasets/data``)."""
    return Path(str(resources.files(_PACKAGE).joinpath("data", *parts)))


def load_descr(name: str) -> str:
    """Text of ``descr/<name>.rst``."""
    return resources.files(_PACKAGE).joinpath("descr", f"{name}.rst").read_text(encoding="utf-8")


def make_bunch(
    frame: pd.DataFrame,
    feature_names: list,
    target_columns: list,
    *,
    as_frame: bool,
    return_X_y: bool,
    descr: str,
    target_names=None,
    data_dtype=np.float64,
    **extra,
) -> Bunch | tuple:
    """Split ``frame`` into data / target and wrap them the way sklearn's loaders do.

    A single target column gives a 1-D target (Series or array); several give a 2-D one.
    """
    X = frame[feature_names]
    y = frame[target_columns[0]] if len(target_columns) == 1 else frame[target_columns]
    if not as_frame:
        X = X.to_numpy(dtype=data_dtype)
        y = y.to_numpy()
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame if as_frame else None,
        feature_names=list(feature_names),
        target_names=list(target_columns) if target_names is None else target_names,
        DESCR=descr,
        **extra,
    )
