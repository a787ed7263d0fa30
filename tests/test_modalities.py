"""The modality contract: spec resolution, type inference, presence, preprocessing."""

import numpy as np
import pandas as pd
import pytest

from sklearn_mtml._modalities import (
    ModalityPreprocessor,
    modality_frame,
    presence_mask,
    resolve_modalities,
)


def _frame():
    return pd.DataFrame(
        {
            "age": [25.0, 31.0, np.nan, 47.0, 52.0],
            "height": [160.0, 170.0, np.nan, 180.0, np.nan],
            "city": ["paris", "rome", None, "paris", "oslo"],
            "colour": pd.Categorical(["red", "blue", "red", None, "blue"]),
            "review": ["really soft and warm", "runs small, sent it back", None, "",
                       "lovely colour but thin"],
        }
    )


def test_spec_by_names_positions_slice_and_string():
    X = _frame()
    mods = resolve_modalities(
        X, {"num": ["age", "height"], "cat": [2, 3], "text": "review"}
    )
    assert [m.kind for m in mods] == ["numeric", "categorical", "text"]
    assert mods[1].columns == ("city", "colour")
    assert resolve_modalities(X, {"num": slice(0, 2)})[0].columns == ("age", "height")
    assert resolve_modalities(X, {"num": slice("age", "height")})[0].positions == (0, 1)


def test_array_input_and_default_modality():
    mods = resolve_modalities(np.zeros((4, 3)))
    assert len(mods) == 1 and mods[0].name == "X" and mods[0].kind == "numeric"
    obj = np.array([[1, "a"], [2, "b"]], dtype=object)
    (tab,) = resolve_modalities(obj, {"t": [0, 1]})
    assert tab.kind == "tabular" and tab.numeric == (0,) and tab.categorical == (1,)


@pytest.mark.parametrize("dtype", [object, "str"])
def test_string_dtypes_pandas_2_and_3(dtype):
    X = pd.DataFrame({"c": pd.Series(["a", "b", "a"], dtype=dtype),
                      "t": pd.Series(["one two three four"] * 3, dtype=dtype)})
    kinds = [m.kind for m in resolve_modalities(X, {"c": "c", "t": "t"})]
    assert kinds == ["categorical", "text"]


def test_type_override_and_image_shapes():
    X = pd.DataFrame(np.arange(24, dtype=float).reshape(2, 12))
    (img,) = resolve_modalities(X, {"img": slice(None)}, {"img": ("image", (3, 4))})
    assert img.kind == "image" and img.image_shape == (1, 3, 4)
    cells = np.empty(2, dtype=object)
    cells[:] = [np.ones((2, 2, 2)), None]
    (arr,) = resolve_modalities(pd.DataFrame({"pic": cells}), {"pic": "pic"})
    assert arr.kind == "image" and arr.array_column and arr.image_shape == (2, 2, 2)
    (cat,) = resolve_modalities(_frame(), {"a": "age"}, {"a": "categorical"})
    assert cat.kind == "categorical"


@pytest.mark.parametrize(
    "modalities, types, match",
    [
        ({"num": ["age", "nope"]}, None, r"Modality 'num': column 'nope' is not a column"),
        ({"a": ["age"], "b": ["city", "age"]}, None, r"Column 'age' is in two modalities"),
        ({"num": ["age"]}, {"num": "video"}, r"Unknown encoder 'video' for modality 'num'"),
        ({"num": ["age"]}, {"other": "text"}, r"unknown modality\(ies\) \['other'\]"),
        ({"num": [0, 1, 2]}, {"num": ("image", (2, 2))}, r"'num': image shape \(1, 2, 2\)"),
        ({"num": [0, 1, 2]}, {"num": "image"}, r"'num': 3 pixel columns are not a square"),
        ({"num": ["age", "city"]}, {"num": "numeric"}, r"'num'.*column 'city' is not numeric"),
        ({"num": [99]}, None, r"'num': column position 99 is out of range"),
        ({"num": []}, None, r"'num' has no columns"),
        ({}, None, "non-empty dict"),
    ],
)
def test_bad_specs_name_modality_and_column(modalities, types, match):
    with pytest.raises(ValueError, match=match):
        resolve_modalities(_frame(), modalities, types)


def test_presence_mask_rules():
    X = _frame()
    mods = resolve_modalities(X, {"num": ["age", "height"], "cat": ["city"], "text": "review"})
    mask = presence_mask(X, mods)
    np.testing.assert_array_equal(mask[:, 0], [True, True, False, True, True])
    np.testing.assert_array_equal(mask[:, 1], [True, True, False, True, True])
    np.testing.assert_array_equal(mask[:, 2], [True, True, False, False, True])


def test_preprocessor_numeric_categorical_text_image():
    X = _frame()
    cells = np.empty(5, dtype=object)
    cells[:] = [np.full((2, 2), i, dtype=float) for i in range(4)] + [None]
    X["pic"] = cells
    mods = resolve_modalities(
        X, {"num": ["age", "height"], "cat": ["city", "colour"], "text": "review", "pic": "pic"}
    )
    pre = ModalityPreprocessor(mods).fit(X)
    blocks = pre.transform(X)
    num = blocks.arrays["num"][0]
    assert num.dtype == np.float32 and np.isfinite(num).all()
    assert np.allclose(num[blocks.mask[:, 0]].mean(axis=0)[0], 0, atol=1e-6)
    assert (num[~blocks.mask[:, 0]] == 0).all()
    assert pre.cardinalities_["cat"] == [4, 3]
    ids, weights = blocks.arrays["text"]
    assert ids.shape == weights.shape and (ids[2] == 0).all() and (weights[3] == 0).all()
    assert blocks.arrays["pic"][0].shape == (5, 1, 2, 2)
    # Unknown categories and words map to the unknown bucket / padding.
    new = X.iloc[:1].copy()
    new["city"] = "tokyo"
    new["review"] = "zzz qqq"
    out = pre.transform(new)
    assert out.arrays["cat"][0][0, 0] == 0 and (out.arrays["text"][0] == 0).all()
    sub = blocks.take([0, 4])
    assert len(sub) == 2 and set(sub.flat()) >= {"num__0", "text__1", "mask"}


def test_hashing_text_and_empty_vocabulary():
    X = pd.DataFrame({"t": ["a b c d", "b c d e", "", None]})
    mods = resolve_modalities(X, {"t": "t"}, {"t": "text"})
    pre = ModalityPreprocessor(mods, text_vectorizer="hashing", text_max_features=64).fit(X)
    ids, _ = pre.transform(X).arrays["t"]
    assert ids.max() <= 64 and pre.vocabulary_size_["t"] == 65
    empty = pd.DataFrame({"t": ["", None, "  "]})
    pre = ModalityPreprocessor(resolve_modalities(empty, {"t": "t"}, {"t": "text"})).fit(empty)
    assert pre.vocabulary_size_["t"] == 1


def test_inf_is_rejected_naming_the_column():
    X = pd.DataFrame({"a": [1.0, np.inf]})
    (m,) = resolve_modalities(X, {"num": "a"})
    with pytest.raises(ValueError, match="modality 'num', column 'a'"):
        ModalityPreprocessor([m]).fit(X)


def test_modality_frame_from_dict_of_arrays():
    X, spec = modality_frame({"img": np.zeros((3, 4)), "txt": ["a", "b", "c"]})
    assert X.shape == (3, 5) and spec["txt"] == ["txt"]
    with pytest.raises(ValueError, match="Modality 'b' has 2 rows"):
        modality_frame({"a": np.zeros((3, 1)), "b": np.zeros((2, 1))})
