"""The modality contract: one implementation of how modalities are represented.

Every multi-modal estimator of the package (neural and classic) goes through this package,
so the rules below hold everywhere (DESIGN.md, "Modalities"):

* ``X`` is a DataFrame (or a 2-D array) and ``modalities={"name": columns}`` says which
  columns form which modality: column names, positions, a slice, or a single string (one
  column). ``modalities=None`` makes all columns one modality named ``"X"``.
* The type of each modality is inferred from its columns and can be overridden with
  ``modality_types={"name": type}``:

  - ``"numeric"``: all columns numeric (bool, int, float, or objects holding numbers);
  - ``"categorical"``: string / category / object columns with few levels;
  - ``"tabular"``: numeric and categorical columns mixed (each part handled as above);
  - ``"text"``: one free-text column (several columns are joined with a space). One string
    column is text when its values have more than 2 words on average, or more than
    :data:`MAX_CATEGORIES` distinct values that are also more than a fifth of its rows;
    else categorical. Fit warns when the call is ambiguous (``_frame._text_inference``);
  - ``"image"``: a column whose cells are arrays, or pixel columns with a declared shape,
    ``modality_types={"digits": ("image", (8, 8))}`` (shape ``(H, W)`` or ``(C, H, W)``).

  Each type is a block class (:class:`ModalityBlock`) in the registry
  :data:`MODALITY_BLOCKS`; registering a subclass adds a type.

* A modality whose columns are **all** missing in a row is *absent* for that row (for text:
  ``None`` / ``NaN`` / an empty or blank string). :func:`presence_mask` gives the boolean
  ``(n_samples, n_modalities)`` mask; models never see imputed values for an absent modality.
  A row with every modality absent is predicted from the training prior of each task.
* Columns of ``X`` in no modality are not used; fit warns about them.
* :class:`ModalityPreprocessor` is the fitted per-modality preprocessing of the neural
  estimators: NaN-aware standardisation of numeric columns, category vocabularies with an
  unknown bucket, a TF-IDF (or hashing) text vocabulary fitted in ``fit`` (nothing is
  downloaded) or pretrained sentence embeddings (``text_vectorizer="minilm"``, the extra
  ``text``: weights from an installed package), pixel scaling. Its output is
  :class:`ModalityBlocks`: per modality a tuple of dense arrays, plus the presence mask.

Errors name the modality and the column. Importing this package never imports torch (the
blocks import their torch encoders when they build them).

Layout: :mod:`._frame` (column helpers), :mod:`._blocks` (the kinds), :mod:`._spec`
(resolution, presence, checks), :mod:`._preprocessor` (fitted preprocessing).
"""

from ._blocks import (
    MODALITY_BLOCKS,
    CategoricalBlock,
    ImageBlock,
    ModalityBlock,
    NumericBlock,
    TabularBlock,
    TextBlock,
    block_class,
)
from ._frame import (
    MAX_CATEGORIES,
    _as_numeric,
    _categorical_array,
    _image_array,
    _joined_text,
    _level_key,
    _missing_scalar,
    _numeric_array,
    as_frame,
    modality_frame,
)
from ._preprocessor import TEXT_VECTORIZERS, ModalityBlocks, ModalityPreprocessor
from ._spec import (
    DEFAULT_MODALITY,
    Modality,
    fit_modalities,
    presence_mask,
    resolve_modalities,
    validate_modality_X,
)

#: The built-in modality types (one block class each; :data:`MODALITY_BLOCKS` may hold more).
MODALITY_TYPES = tuple(MODALITY_BLOCKS)

__all__ = [
    "DEFAULT_MODALITY",
    "MAX_CATEGORIES",
    "MODALITY_BLOCKS",
    "MODALITY_TYPES",
    "TEXT_VECTORIZERS",
    "CategoricalBlock",
    "ImageBlock",
    "Modality",
    "ModalityBlock",
    "ModalityBlocks",
    "ModalityPreprocessor",
    "NumericBlock",
    "TabularBlock",
    "TextBlock",
    "_as_numeric",
    "_categorical_array",
    "_image_array",
    "_joined_text",
    "_level_key",
    "_missing_scalar",
    "_numeric_array",
    "as_frame",
    "block_class",
    "modality_frame",
    "presence_mask",
    "resolve_modalities",
    "fit_modalities",
    "validate_modality_X",
]
