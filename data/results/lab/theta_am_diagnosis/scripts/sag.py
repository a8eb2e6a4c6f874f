"""Experiment: P-SAG instead of P-SAGA -- step along the table average of the per-path
P-Adam updates *after* storing the current path's fresh entry:
    g_SAG = (1/|Γ|) Σ_{γ∈Γ} ĝ_γ       (ĝ_p ← g_current first)
instead of Eq. (9)'s g_SAGA = g_current − ĝ_p(old) + (1/|Γ|) Σ ĝ_γ(old).  SAG (Le Roux et al.,
2012) is biased (stale entries) but its draw-to-draw variance is ~P times smaller.
Patched into a copy of the worktree's SCRAPLOptimizer._scrapl_update (source edit at import).
usage: sag.py TAG key=value ...  (as run_one.py)"""
import inspect, sys, textwrap
import scrapl_edu.optim as O
src = textwrap.dedent(inspect.getsource(O.SCRAPLOptimizer._scrapl_update))
lines = src.splitlines()
i0 = next(i for i, l in enumerate(lines) if l.strip() == "if g_old is None:")
i1 = next(i for i, l in enumerate(lines) if l.strip() == "table[path] = g_new")
ind = lines[i0][: len(lines[i0]) - len(lines[i0].lstrip())]
new = [ind + "g_new = g_current.to(self._store_dtype(p))",
       ind + "g_sum.add_(g_new.to(g_sum.dtype))",
       ind + "if g_old is not None:",
       ind + "    g_sum.sub_(g_old.to(g_sum.dtype))",
       ind + "table[path] = g_new",
       ind + "update = (g_sum / len(table)).to(cdt)  # SAG: table mean incl. the fresh entry"]
old = "\n".join(lines[i0 : i1 + 1])
src = "\n".join(lines[:i0] + new + lines[i1 + 1 :])
assert 'update = g_current - g_old' in old
ns = dict(O.__dict__)
exec(src, ns)
O.SCRAPLOptimizer._scrapl_update = ns["_scrapl_update"]
sys.argv[0] = "run_one.py"
exec(open(__file__.rsplit("/", 1)[0] + "/run_one.py").read())
