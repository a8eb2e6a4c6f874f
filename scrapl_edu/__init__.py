"""scrapl-edu: a teaching toolkit for SCRAPL (ICLR 2026).

SCRAPL makes the joint time-frequency scattering transform (JTFS) usable as a
training loss by computing one random scattering path per step and stabilising
the gradient with P-Adam (Eq. 6-8), P-SAGA (Eq. 9) and theta-importance sampling
(Eq. 10-12), combined as in Algorithm 1 of the paper.
"""

from scrapl_edu.jtfs import JTFS, PathInfo
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss, mss_loss
from scrapl_edu.optim import SCRAPLOptimizer, adam_direction, p_adam_direction, p_saga_direction
from scrapl_edu.sampling import PathSampler
from scrapl_edu.theta_is import ThetaISResult, theta_importance_sampling, top_eigenvalue_hvp

__all__ = [
    "JTFS",
    "PathInfo",
    "JTFSLoss",
    "SCRAPLLoss",
    "mss_loss",
    "SCRAPLOptimizer",
    "adam_direction",
    "p_adam_direction",
    "p_saga_direction",
    "PathSampler",
    "ThetaISResult",
    "theta_importance_sampling",
    "top_eigenvalue_hvp",
]
__version__ = "0.1.0"
