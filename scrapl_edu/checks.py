"""Input checks shared by every layer (the bottom of the import graph: imports no scrapl_edu).

One path-index validator for the JTFS, the losses, the optimizer and θ-IS, so that a bad
path reads the same wherever it is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["PathIndexError", "check_path_index"]


class PathIndexError(ValueError, IndexError):
    """A path index that is not an integer in [0, P - 1].

    A ValueError (bad input, like every input error of the package) and an IndexError
    (what indexing a sequence of paths raises), so either ``except`` catches it.
    """


def check_path_index(path: Any, n_paths: int, name: str = "path") -> int:
    """Return ``path`` as a Python int in [0, n_paths - 1], or raise :class:`PathIndexError`.

    Accepts a Python or NumPy integer, or a one-element integer tensor; refuses bools,
    floats (also integral ones such as ``2.0``) and anything else, naming ``name`` and the
    valid range.
    """
    value = path
    if isinstance(value, Tensor):
        integral = not (value.is_floating_point() or value.is_complex())
        if value.numel() == 1 and integral and value.dtype != torch.bool:
            value = int(value.item())
    elif isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_paths:
        raise PathIndexError(
            f"{name} must be an integer in [0, {n_paths - 1}] (a path index, "
            f"n_paths={n_paths}); got {path!r}"
        )
    return value
