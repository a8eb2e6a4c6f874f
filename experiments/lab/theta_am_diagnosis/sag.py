"""Experiment: P-SAG instead of P-SAGA, a run that steps along the table average of the per-path
P-Adam updates *after* storing the current path's fresh entry::

    g_SAG = (1/|Γ|) Σ_{γ∈Γ} ĝ_γ       (ĝ_p ← g_current first)

instead of Eq. (9)'s ``g_SAGA = g_current − ĝ_p(old) + (1/|Γ|) Σ ĝ_γ(old)``. SAG (Le Roux et
al., 2012) is biased (stale entries) but its draw-to-draw variance is ~P times smaller. The
optimizer's Eq. (9) lines are swapped for SAG's in a copy of
``SCRAPLOptimizer._scrapl_update`` (:func:`sag_update`; it refuses if those lines changed).

Usage, as :mod:`run_one`; FINDINGS.md's row "P-SAG instead of P-SAGA" (queue2.sh)::

    python -m experiments.lab.theta_am_diagnosis.sag sag_lr1e-3 seed=0
    python -m experiments.lab.theta_am_diagnosis.sag sag_lr3e-3 seed=0 lr=3e-3
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Callable

import scrapl_edu.optim as O
from experiments.lab.theta_am_diagnosis import run_one


def sag_update() -> Callable:
    """``SCRAPLOptimizer._scrapl_update`` with Eq. (9) replaced by SAG's table mean."""
    src = textwrap.dedent(inspect.getsource(O.SCRAPLOptimizer._scrapl_update))
    lines = src.splitlines()
    try:
        i0 = next(
            i for i, s in enumerate(lines) if s.strip().startswith("update = p_saga_direction(")
        )
        i1 = next(i for i, s in enumerate(lines) if s.strip() == "table[path] = g_new")
    except StopIteration:
        raise RuntimeError("SCRAPLOptimizer._scrapl_update no longer has Eq. (9)'s lines") from None
    old = "\n".join(lines[i0 : i1 + 1])
    if "g_sum.sub_(g_old" not in old:
        raise RuntimeError("SCRAPLOptimizer._scrapl_update's Eq. (9) changed; update sag.py")
    ind = lines[i0][: len(lines[i0]) - len(lines[i0].lstrip())]
    new = [
        ind + "g_new = g_current.to(sdt)",
        ind + "g_sum.add_(g_new.to(g_sum.dtype))",
        ind + "if g_old is not None:",
        ind + "    g_sum.sub_(g_old.to(g_sum.dtype))",
        ind + "table[path] = g_new",
        ind + "update = (g_sum / len(table)).to(cdt)  # SAG: table mean incl. the fresh entry",
    ]
    ns = dict(O.__dict__)
    exec("\n".join(lines[:i0] + new + lines[i1 + 1 :]), ns)
    return ns["_scrapl_update"]


def main(argv: list[str]) -> None:
    O.SCRAPLOptimizer._scrapl_update = sag_update()
    run_one.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
