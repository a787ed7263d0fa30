"""Real datasets shipped inside the package, loaded in scikit-learn's style.

Nothing is downloaded: the files live in ``sklearn_mtml/datasets/data``.
"""

from ._loaders import load_multiple_features, load_school, load_womens_ecommerce

__all__ = ["load_multiple_features", "load_school", "load_womens_ecommerce"]
