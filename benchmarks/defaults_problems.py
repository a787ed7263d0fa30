"""The defaults suite's problems: loaders by kind, fixed splits, the hold-out list
(used by ``defaults.py``; see its docstring for the protocols)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedShuffleSplit

from sklearn_mtml.datasets import load_school
from sklearn_mtml.model_selection import TaskShuffleSplit

HERE = Path(__file__).resolve().parent
SUITE = Path(os.environ.get("MTML_SUITE", HERE.parent.parent / "shared" / "data" / "suite"))
if not SUITE.exists():
    SUITE = Path("/work/shared/data/suite")
RESULTS = HERE / "results" / "defaults"
TASK = "task"
REG, CLF = "regression", "classification"

# ------------------------------------------------------------------------------ problems
#: Kept back: NOT used to choose the default recipe, only to judge it afterwards.
HOLDOUT = ("jura", "osales", "enron", "foodtruck", "parkinsons_motor", "parkinsons_total")
QUICK = ("enb", "flags", "computer_survey", "school")
MTR = ("andro", "atp1d", "edm", "enb", "jura", "oes97", "osales", "scm20d", "scpf", "sf1",
       "sf2", "slump", "wq", "sarcos_test", "air_quality")
MLC = ("emotions", "flags", "enron", "medical", "genbase", "cal500", "foodtruck",
       "tmc2007_500", "tox21", "bibtex", "corel5k", "delicious")
LONG = ("school", "landmine", "parkinsons_motor", "parkinsons_total", "computer_survey")
#: The big multi-label sets (hundreds of labels): optional, not in the default run.
OPTIONAL = ("bibtex", "corel5k", "delicious")
ALL = MTR + MLC + LONG


@dataclass
class Problem:
    name: str
    kind: str  # "mtr", "mlc", "long_reg", "long_clf", "mixed"
    X: pd.DataFrame  # features (+ "task" column for long format)
    Y: pd.DataFrame  # targets, NaN = missing
    task_types: list[str]
    protocol: str
    split_fn: object = None  # s -> (train_idx, test_idx)
    long: bool = False
    info: dict = field(default_factory=dict)

    @property
    def main(self) -> tuple[str, bool]:
        """(metric name, higher is better)."""
        return {"mtr": ("aRRMSE", False), "mlc": ("AUC", True), "long_reg": ("EV%", True),
                "long_clf": ("task AUC", True), "mixed": ("like RMSE", False)}[self.kind]

    def split(self, s: int):
        return self.split_fn(s)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(SUITE / f"{name}.csv.gz", low_memory=False)


def _features(df: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
    X = df.drop(columns=drop)
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):  # object or pandas' str dtype
            X[c] = X[c].astype("category")
    num = X.select_dtypes("number").columns
    X[num] = X[num].astype(np.float64).replace([np.inf, -np.inf], np.nan)
    return X


def _official(df):
    tr = np.flatnonzero(df["split"].eq("train").to_numpy())
    te = np.flatnonzero(df["split"].eq("test").to_numpy())
    return lambda s: (tr, te)


def _kfold(n):
    folds = list(KFold(5, shuffle=True, random_state=0).split(np.zeros(n)))
    return lambda s: folds[s % 5]


def load_problem(name: str) -> Problem:
    if name == "school":
        X, y = load_school(as_frame=True, return_X_y=True)
        X = X.rename(columns={"school": TASK}).astype(np.float64)
        X[TASK] = X[TASK].astype(int)
        def split(s):
            tss = TaskShuffleSplit(n_splits=1, train_size=0.3, random_state=s, task_column=TASK)
            return next(tss.split(X))

        return Problem(name, "long_reg", X, y.to_frame("score"), [REG],
                       "TaskShuffleSplit(train_size=0.3, random_state=s), 139 schools",
                       split, long=True)
    if name.startswith("parkinsons"):
        df = _read("parkinsons")
        target = {"parkinsons_motor": "target__motor_UPDRS",
                  "parkinsons_total": "target__total_UPDRS"}[name]
        ycols = [c for c in df.columns if c.startswith("target__")]
        X = _features(df, ycols)
        X[TASK] = df[TASK].astype(int)
        rank = df.groupby(TASK)["test_time"].rank(method="first", pct=True).to_numpy()
        tr, te = np.flatnonzero(rank <= 0.5), np.flatnonzero(rank > 0.5)
        return Problem(name, "long_reg", X, df[[target]], [REG],
                       "per patient: earliest 50% of recordings train, rest test (fixed)",
                       lambda s: (tr, te), long=True)
    if name == "landmine":
        df = _read("landmine")
        X = _features(df, ["target"])
        X[TASK] = df[TASK].astype(int)
        y = df["target"].astype(float)

        def split(s):
            trs = []
            for t, rows in df.groupby(TASK).groups.items():
                rows = np.asarray(rows)
                sss = StratifiedShuffleSplit(1, train_size=0.2, random_state=1000 * s + int(t))
                a, _ = next(sss.split(rows, y.iloc[rows]))
                trs.append(rows[a])
            tr = np.sort(np.concatenate(trs))
            return tr, np.setdiff1d(np.arange(len(df)), tr)

        return Problem(name, "long_clf", X, y.to_frame("target"), [CLF],
                       "per task stratified 20% train / 80% test, seed s", split, long=True)
    if name == "computer_survey":
        df = _read(name)
        X = _features(df, ["target__like", "target__buy", "split", TASK])
        X["respondent"] = df[TASK].astype(str).astype("category")
        Y = df[["target__like", "target__buy"]].astype(float)
        return Problem(name, "mixed", X, Y, [REG, CLF],
                       "official split (profiles 17-20 test); respondent id a categorical "
                       "feature; 2 tasks like (regression) + buy (binary)", _official(df))
    df = _read(name)
    ycols = [c for c in df.columns if c == "target" or c.startswith("target__")]
    meta = [c for c in ("task", "split") if c in df.columns]
    X = _features(df, ycols + meta + (["datetime"] if name == "air_quality" else []))
    Y = df[ycols].astype(float)
    if name == "air_quality":
        dt = pd.to_datetime(df["datetime"])
        X["hour"], X["dayofweek"], X["month"] = dt.dt.hour, dt.dt.dayofweek, dt.dt.month
        X = X.astype({"hour": float, "dayofweek": float, "month": float})
        cut = int(0.7 * len(df))
        tr, te = np.arange(cut), np.arange(cut, len(df))
        return Problem(name, "mtr", X, Y, [REG] * len(ycols),
                       "chronological: first 70% train, last 30% test (fixed)",
                       lambda s: (tr, te))
    kind = "mtr" if name in MTR else "mlc"
    types = [REG if kind == "mtr" else CLF] * len(ycols)
    if "split" in df.columns:
        return Problem(name, kind, X, Y, types, "official split", _official(df))
    return Problem(name, kind, X, Y, types, "KFold(5, shuffle=True, random_state=0), fold s",
                   _kfold(len(df)))
