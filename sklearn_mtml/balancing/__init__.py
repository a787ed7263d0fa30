"""Task-balancing methods: loss weighting and gradient combination for multi-task training.

Every method is a :class:`LossWeighting` (a ``torch.nn.Module``) whose
:meth:`~LossWeighting.backward` replaces ``loss.backward()`` in a training step.
Methods are chosen by name from :data:`WEIGHTINGS` through :func:`get_weighting`.
Pure torch: nothing here knows sklearn.

Loss-weighting methods (one backward pass):

=================  =============================  ========================================
name               class                          idea
=================  =============================  ========================================
``"fixed"``        :class:`FixedWeighting`        weighted sum with fixed ``task_weights``
``"uncertainty"``  :class:`UncertaintyWeighting`  learned homoscedastic uncertainty
``"dwa"``          :class:`DynamicWeightAverage`  weights from epoch-to-epoch loss ratios
``"random"``       :class:`RandomWeighting`       random weights at every step (RLW)
``"famo"``         :class:`FAMO`                  balances the log-loss decrease rates
=================  =============================  ========================================

Gradient methods (one gradient per task of the shared parameters):

=================  ===================  ============================================
name               class                idea
=================  ===================  ============================================
``"gradnorm"``     :class:`GradNorm`    learned weights equalising gradient norms
``"pcgrad"``       :class:`PCGrad`      projects away conflicting components
``"mgda"``         :class:`MGDA`        min-norm point of the gradients' hull
``"cagrad"``       :class:`CAGrad`      mean gradient, worst task protected
``"nash_mtl"``     :class:`NashMTL`     Nash bargaining solution
``"aligned_mtl"``  :class:`AlignedMTL`  equal singular values of the gradient system
``"imtl"``         :class:`IMTL`        equal projections on every task's direction
=================  ===================  ============================================

Write your own by subclassing :class:`LossWeighting` (override ``weights``) or
:class:`GradientBalancing` (override ``combine_gradients``) and pass the class or an instance
wherever a name is accepted.
"""

from ._aligned_mtl import AlignedMTL
from ._base import GradientBalancing, LossWeighting
from ._cagrad import CAGrad
from ._dwa import DynamicWeightAverage
from ._famo import FAMO
from ._fixed import FixedWeighting
from ._gradnorm import GradNorm
from ._imtl import IMTL
from ._mgda import MGDA
from ._nash_mtl import NashMTL
from ._pcgrad import PCGrad
from ._random import RandomWeighting
from ._registry import WEIGHTINGS, get_weighting
from ._uncertainty import UncertaintyWeighting

__all__ = [
    # bases, registry
    "LossWeighting",
    "GradientBalancing",
    "WEIGHTINGS",
    "get_weighting",
    # loss-weighting methods
    "FixedWeighting",
    "UncertaintyWeighting",
    "DynamicWeightAverage",
    "RandomWeighting",
    "FAMO",
    # gradient methods
    "GradNorm",
    "PCGrad",
    "MGDA",
    "CAGrad",
    "NashMTL",
    "AlignedMTL",
    "IMTL",
]
