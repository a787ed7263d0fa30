"""The modality block registry: one block class per kind, and users' own kinds."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sklearn_mtml._modalities import (
    MODALITY_BLOCKS,
    MODALITY_TYPES,
    ModalityPreprocessor,
    NumericBlock,
    block_class,
    resolve_modalities,
)
from sklearn_mtml.utils._keys import MASK_KEY, block_key


def _frame(n=12):
    rng = np.random.default_rng(0)
    cells = np.empty(n, dtype=object)
    cells[:] = [rng.normal(size=(4, 4)) for _ in range(n)]
    return pd.DataFrame({
        "a": rng.normal(size=n), "b": rng.normal(size=n),
        "c": rng.choice(["x", "y", "z"], n), "d": rng.choice(["u", "v"], n),
        "e": rng.normal(size=n),
        "t": rng.choice(["soft warm wool", "thin cheap cotton", "lovely fit"], n),
        "img": cells,
    })


SPEC = {"num": ["a", "b"], "cat": "c", "tab": ["d", "e"], "text": "t", "img": "img"}


def test_every_builtin_kind_has_a_block():
    assert MODALITY_TYPES == tuple(MODALITY_BLOCKS)
    mods = resolve_modalities(_frame(), SPEC, {"text": "text"})
    assert [m.kind for m in mods] == list(MODALITY_TYPES)


def test_each_kind_fits_transforms_and_builds_its_encoder():
    torch = pytest.importorskip("torch")
    X = _frame()
    mods = resolve_modalities(X, SPEC, {"text": "text"})
    pre = ModalityPreprocessor(mods).fit(X)
    blocks = pre.transform(X)
    flat = blocks.flat()
    assert MASK_KEY in flat
    for m in mods:
        block = pre.block(m)
        assert isinstance(block, MODALITY_BLOCKS[m.kind])
        arrays = blocks.arrays[m.name]
        assert len(arrays) == len(block.inputs)
        assert all(block_key(m.name, i) in flat for i in range(len(arrays)))
        encoder = block.make_encoder(hidden=(8,), out_features=4)
        out = encoder(*(torch.from_numpy(a) for a in arrays))
        assert out.shape == (len(X), 4)


def test_unknown_type_names_the_modality_and_the_type():
    with pytest.raises(ValueError, match="Unknown encoder 'audio' for modality 'num'"):
        resolve_modalities(_frame(), {"num": ["a"]}, {"num": "audio"})
    with pytest.raises(ValueError, match="Unknown encoder 'audio' for modality 'clip'"):
        block_class("audio", "clip")


class SquaredBlock(NumericBlock):
    """A user's kind: numeric columns, squared after standardisation."""

    def transform(self, frame, rows, **context):
        (x,) = super().transform(frame, rows, **context)
        return (x * x,)


@pytest.fixture
def squared(monkeypatch):
    monkeypatch.setitem(MODALITY_BLOCKS._entries, "squared", SquaredBlock)
    return "squared"


def test_users_block_is_registered_and_used(squared):
    X = _frame()
    mods = resolve_modalities(X, {"sq": ["a", "b"], "num": "e"}, {"sq": squared})
    assert mods[0].kind == "squared"
    pre = ModalityPreprocessor(mods).fit(X)
    blocks = pre.transform(X)
    np.testing.assert_allclose(blocks.arrays["sq"][0], blocks.arrays["sq"][0].clip(0))
    assert isinstance(pre.block(mods[0]), SquaredBlock)


def test_users_block_in_a_multimodal_estimator(squared):
    pytest.importorskip("torch")
    from sklearn_mtml.neural import MultiModalClassifier

    X = _frame(40)
    y = (X["a"] ** 2 > 0.5).astype(int).to_numpy()
    clf = MultiModalClassifier({"sq": "a", "rest": ["b", "e"]}, modality_types={"sq": squared},
                               encoder_sizes=(8,), fusion_size=8, hidden_layer_sizes=(8,),
                               max_epochs=3, random_state=0).fit(X, y)
    assert clf.modalities_[0].kind == "squared"
    assert clf.predict(X).shape == (40,)


def test_encoders_use_the_estimator_activation():
    torch = pytest.importorskip("torch")
    from sklearn_mtml.neural import MultiModalClassifier

    X = _frame(30)
    y = np.arange(30) % 2
    clf = MultiModalClassifier(SPEC, modality_types={"text": "text"}, activation="tanh",
                               encoder_sizes=(8, 4), fusion_size=8, hidden_layer_sizes=(8,),
                               max_epochs=1, random_state=0).fit(X, y)
    encoders = clf.net_.module_.encoders
    kinds = [type(mod) for enc in encoders for mod in enc.modules()]
    assert torch.nn.Tanh in kinds and torch.nn.ReLU not in kinds


def test_modality_contract_imports_no_torch():
    code = ("import sys, sklearn_mtml._modalities; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
