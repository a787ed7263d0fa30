"""The batch-dict key format shared by the modality blocks and the multi-modal network.

A multi-modal batch is a dict: ``block_key(name, i)`` holds the ``i``-th input array of
modality ``name`` (e.g. a categorical modality's codes, a text bag's token ids and weights)
and ``MASK_KEY`` the ``(n_rows, n_modalities)`` presence mask. Nothing else may spell the
format out.
"""

from __future__ import annotations

__all__ = ["MASK_KEY", "block_key"]

#: key of the presence mask in a multi-modal batch dict
MASK_KEY = "mask"


def block_key(name: str, i: int) -> str:
    """Key of input array ``i`` of modality ``name``.

    Examples
    --------
    >>> block_key("image", 0)
    'image__0'
    """
    return f"{name}__{i}"
