"""Task-balancing methods: loss weighting and gradient combination for multi-task training.

Every method is a :class:`LossWeighting` (a ``torch.nn.Module``) whose
:meth:`~LossWeighting.backward` replaces ``loss.backward()`` in a training step.
Methods are chosen by name from :data:`WEIGHTINGS` through :func:`get_weighting`.
Pure torch: nothing here knows sklearn.
"""

from ._aligned_mtl import AlignedMTL
from ._base import GradientBalancing, LossWeighting
from ._cagrad import CAGrad
from ._dwa import DynamicWeightAverage
from ._famo import FAMO
from ._fixed import FixedWeighting
from ._gradnorm import GradNorm
from ._mgda import MGDA
from ._nash_mtl import NashMTL
from ._pcgrad import PCGrad
from ._random import RandomWeighting
from ._registry import WEIGHTINGS, get_weighting
from ._uncertainty import UncertaintyWeighting

__all__ = [
    "FAMO",
    "AlignedMTL",
    "NashMTL",
    "MGDA",
    "WEIGHTINGS",
    "CAGrad",
    "DynamicWeightAverage",
    "FixedWeighting",
    "GradNorm",
    "PCGrad",
    "RandomWeighting",
    "UncertaintyWeighting",
    "GradientBalancing",
    "LossWeighting",
    "get_weighting",
]
