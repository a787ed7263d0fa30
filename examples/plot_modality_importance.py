"""
===================================================
Which modality matters? Handwritten digits, 6 views
===================================================

UCI Multiple Features describes 2,000 handwritten digits by six views (modalities):
Fourier coefficients of the contour (``fou``), profile correlations (``fac``),
Karhunen-Loeve coefficients (``kar``), pixel averages (``pix``), Zernike moments (``zer``)
and six morphological features (``mor``).

A :class:`~sklearn_mtml.LateFusionClassifier` fits one classifier per view and stacks
their predictions. :class:`~sklearn_mtml.inspection.ModalityImportanceDisplay` then
measures what each view adds *given the others*: the drop of the test accuracy when the
view is removed (its columns made missing in every row, which the model treats as an
absent modality, not as values to impute). A view may add little when the other views
carry the same information.
"""

# %%
# Fit a late-fusion model on the six views
# ----------------------------------------
import os

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from sklearn_mtml import LateFusionClassifier
from sklearn_mtml.datasets import load_multiple_features
from sklearn_mtml.inspection import ModalityImportanceDisplay

QUICK = bool(os.environ.get("SKLEARN_MTML_QUICK"))  # fewer digits in the test suite

mfeat = load_multiple_features(as_frame=True)
X, y = mfeat.data, mfeat.target
if QUICK:
    X, _, y, _ = train_test_split(X, y, train_size=600, stratify=y, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y,
                                                    random_state=0)
model = LateFusionClassifier(mfeat.views, cv=3).fit(X_train, y_train)
print(f"test accuracy with every view: {model.score(X_test, y_test):.3f}")

# %%
# The score drop when each view is removed
# ----------------------------------------
# The bars are sorted, the largest drop on top. Removing one view costs little: the
# other five carry most of its information, which is what makes late fusion robust to a
# missing view at prediction time.
display = ModalityImportanceDisplay.from_estimator(model, X_test, y_test)
display.figure_.tight_layout()
plt.show()
