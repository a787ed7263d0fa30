"""
==============================================
Multi-task ridge on School: how much to share?
==============================================

School holds the exam scores of 15,362 students in 139 London schools. Each school is a
task: the same student attributes (gender, verbal-reasoning band, ethnic group, ...) may not
predict the score in the same way in every school, yet most schools have too few students to
fit a model on their own.

:class:`~sklearn_mtml.MultiTaskRidge` (Evgeniou & Pontil, 2004) gives each school the
weights ``w_0 + v_t``: a part shared by all schools plus a school-specific deviation whose
size is penalised by ``alpha``. A large ``alpha`` pulls every school to one pooled model; a
small ``alpha`` lets each school go its own way. In between lies the multi-task model.

We follow the protocol of the MALSAR toolbox: per school, a random 30% of the students for
training and the rest for testing, features standardised on the training set, and the pooled
explained variance ``1 - SSE / SST`` over all test students as the score.
"""

# %%
# Load the data
# -------------
# The data are in *long format*: one row per student and a column ``school`` that holds
# the task id. ``task_column="school"`` tells the estimator to use it as such (it is not a
# feature).
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtml import MultiTaskRidge
from sklearn_mtml.datasets import load_school
from sklearn_mtml.metrics import pooled_explained_variance

QUICK = bool(os.environ.get("SKLEARN_MTML_QUICK"))  # smaller grids in the test suite

X, y = load_school(as_frame=True, return_X_y=True)
print(f"{X.shape[0]} students, {X['school'].nunique()} schools, {X.shape[1] - 1} features")

X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=0.3, stratify=X["school"], random_state=0
)

# %%
# A pipeline that keeps the task column
# -------------------------------------
# The scaler must leave the task ids alone: a ``ColumnTransformer`` scales the features and
# passes ``school`` through, and pandas output keeps the column names so that
# ``task_column="school"`` still finds it.
features = [c for c in X.columns if c != "school"]
scale = ColumnTransformer(
    [("scale", StandardScaler(), features)],
    remainder="passthrough",
    verbose_feature_names_out=False,
).set_output(transform="pandas")


def explained_variance(model):
    """Pooled explained variance over all test students (the MALSAR score)."""
    return pooled_explained_variance(y_test, model.predict(X_test))


# %%
# From independent schools to one pooled model
# --------------------------------------------
# We sweep ``alpha`` from nearly independent schools (tiny ``alpha``) to a single pooled
# ridge (``alpha=np.inf``).
alphas = np.logspace(-3, 4, 8 if QUICK else 15)
scores = []
for alpha in alphas:
    model = make_pipeline(scale, MultiTaskRidge(alpha=alpha, task_column="school"))
    scores.append(explained_variance(model.fit(X_train, y_train)))
pooled = make_pipeline(scale, MultiTaskRidge(alpha=np.inf, task_column="school"))
pooled_score = explained_variance(pooled.fit(X_train, y_train))

# %%
# Choose ``alpha`` by cross-validation
# ------------------------------------
# ``alpha`` is a plain hyper-parameter, so ``GridSearchCV`` tunes it. The folds are
# stratified by school so that every school is present in every training fold (a model
# cannot predict a school it has never seen).
cv = StratifiedKFold(n_splits=2 if QUICK else 3, shuffle=True, random_state=0)
search = GridSearchCV(
    make_pipeline(scale, MultiTaskRidge(task_column="school")),
    {"multitaskridge__alpha": np.logspace(0, 4, 5 if QUICK else 9)},
    cv=cv.split(X_train, X_train["school"]),
)
search.fit(X_train, y_train)
best_alpha = search.best_params_["multitaskridge__alpha"]
tuned_score = explained_variance(search)
print(f"alpha chosen by CV: {best_alpha:.4g}")

# %%
# Results
# -------
# The tuned multi-task model explains more of the test variance than both the pooled model
# and the (nearly) independent schools. The figures published with the MALSAR protocol are
# about 23% for independent ridge per school and 34% for pooled ridge.
results = {
    "nearly independent\n(alpha=1e-3)": scores[0],
    "pooled\n(alpha=inf)": pooled_score,
    f"multi-task\n(alpha={best_alpha:.3g}, CV)": tuned_score,
}
for name, value in results.items():
    print(f"{name.replace(chr(10), ' '):45s} explained variance {100 * value:5.1f}%")

# ``score`` is the package's own metric: R² of each school on its own students, averaged
# over schools. It is lower than the pooled figure, which also credits the model for
# knowing that schools differ in their mean score.
print(f"multi-task model, mean per-school R²: {search.score(X_test, y_test):.3f}")

fig, (ax_path, ax_bar) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
ax_path.semilogx(alphas, 100 * np.array(scores), marker="o", label="MultiTaskRidge(alpha)")
ax_path.axhline(100 * pooled_score, color="gray", linestyle="--", label="pooled (alpha=inf)")
ax_path.axvline(best_alpha, color="C1", linestyle=":", label="alpha chosen by CV")
ax_path.set_xlabel("alpha (penalty on each school's deviation)")
ax_path.set_ylabel("test explained variance (%)")
ax_path.set_title("How much should schools share?")
ax_path.legend()

ax_bar.bar(list(results), [100 * v for v in results.values()], color=["C0", "gray", "C1"])
ax_bar.set_ylabel("test explained variance (%)")
ax_bar.set_title("School, 30% of each school for training")
plt.show()

# %%
# What each school keeps for itself
# ---------------------------------
# The fitted model exposes the shared weights ``shared_coef_`` and each school's weights
# ``coef_``; their difference is what the school does not share. Small schools are pulled
# closer to the shared model than large ones.
ridge = search.best_estimator_[-1]
deviation = np.linalg.norm(ridge.coef_ - ridge.shared_coef_, axis=1)
counts = X_train["school"].value_counts().reindex(ridge.task_names_).to_numpy()

fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
ax.scatter(counts, deviation, s=12)
ax.set_xlabel("training students in the school")
ax.set_ylabel("||w_t - w_0||  (school-specific part)")
ax.set_title("Shrinkage towards the shared model")
plt.show()
