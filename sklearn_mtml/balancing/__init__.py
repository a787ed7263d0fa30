"""Task-balancing methods: loss weighting and gradient combination for multi-task training.

Every method is a :class:`LossWeighting` (a ``torch.nn.Module``) whose
:meth:`~LossWeighting.backward` replaces ``loss.backward()`` in a training step.
Methods are chosen by name from :data:`WEIGHTINGS` through :func:`get_weighting`.
Pure torch: nothing here knows sklearn.
"""

from ._base import GradientBalancing, LossWeighting
from ._fixed import FixedWeighting
from ._registry import WEIGHTINGS, get_weighting

__all__ = [
    "WEIGHTINGS",
    "FixedWeighting",
    "GradientBalancing",
    "LossWeighting",
    "get_weighting",
]
