"""One SCRAPL path's loss as a CUDA graph: optional, opt-in, GPU only.

One path of the paper's JTFS is about 172 kernel launches, forward and backward (README,
"Speed"), and on a GPU its time is mostly the cost of launching them. A CUDA graph records
those launches once, at one input shape, and replays them with a single launch
(``torch.cuda.make_graphed_callables``). :class:`CUDAGraphPathLoss` does that for the
per-path loss L_p of Eq. (3), one graph per (path, shape, dtype, device), captured the first
time it is needed; it is called like :meth:`scrapl_edu.losses.SCRAPLLoss.path_loss`,
``loss(x_hat, x, p)``. The CPU code path is untouched: nothing else imports this module.

Exactness. A replay runs the kernels of the eager call on the same addresses, so it gives the
eager numbers, except where the eager numbers already vary from call to call: the backward of
the band gathers sums with atomics (``index_add_``), in an order that changes between calls.
``benchmarks/gpu_check.py`` compares graphed and eager values and gradients against the
spread of eager against eager.

What the graph leaves out, and why:

* ``JTFS.path``'s input checks: its NaN/Inf check reads a value back from the GPU, which a
  capture forbids. The graphed loss checks shapes, dtypes and devices in Python and skips the
  NaN check.
* Double backward (θ-IS's Hessian-vector products, Eq. 12): graphed callables do not support
  it (torch raises); θ-IS stays eager.
* The graphs share one memory pool and their static inputs, so only one loss may wait for
  its backward at a time: computing another loss first would overwrite the activations the
  backward reads. The wrapper refuses that (a RuntimeError), rather than return wrong
  gradients. SCRAPL's step (one loss, then its backward) is exactly this pattern.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from scrapl_edu.checks import check_path_index
from scrapl_edu.jtfs import JTFS, PathInfo
from scrapl_edu.losses import Rho, rho_transform
from scrapl_edu.ops import rfft, stack_complex

__all__ = ["CUDAGraphPathLoss", "path_coefficients", "path_loss_unchecked"]


def path_coefficients(jtfs: JTFS, x: Tensor, info: PathInfo) -> Tensor:
    """``jtfs.path(x, i)`` without its input checks (no host synchronisation): capturable.

    ``x`` is (B, N) or (B, 1, N), float, already checked. The same operations as
    :meth:`scrapl_edu.jtfs.JTFS.path` after its checks (tests compare them bit for bit).
    """
    if x.ndim == 3:
        x = x[:, 0]
    U1 = jtfs._first_order(jtfs._spectrum(x), len(info.n1_used))
    Y2 = jtfs._Y2([(k1, n1s, rfft(u)) for k1, n1s, u in U1], info.n2)
    return jtfs._frequential(stack_complex(Y2, 1), info.n2, info.n_fr)[0]


def path_loss_unchecked(
    jtfs: JTFS, x_hat: Tensor, x: Tensor, *, p: int, rho: Rho = None, eps: float = 1e-3
) -> Tensor:
    """L_p of Eq. (3), P · mean_batch ‖ρφ_p(x) − ρφ_p(x̂)‖², without input checks.

    The operations of :func:`scrapl_edu.losses.path_distance` (tests compare them bit for
    bit), with :func:`path_coefficients` in place of ``jtfs.path``.
    """
    info = jtfs.paths[p]
    with torch.no_grad():
        target = rho_transform(path_coefficients(jtfs, x, info), rho, eps)
    pred = rho_transform(path_coefficients(jtfs, x_hat, info), rho, eps)
    sq = (pred - target).pow(2).reshape(pred.shape[0], -1).sum(dim=1)
    return int(jtfs.n_paths) * sq.mean()


class CUDAGraphPathLoss:
    """L_p of Eq. (3) replayed from CUDA graphs: ``loss(x_hat, x, p)``, forward and backward.

    Args:
        jtfs: the :class:`~scrapl_edu.jtfs.JTFS` of the loss.
        rho, eps: as :func:`scrapl_edu.losses.path_distance` (``None`` or ``"log1p"``).
        warmup: eager forward+backward passes before each capture (FFT plans, the JTFS's
            cached filter tensors and cuBLAS workspaces are made there, outside the graph).
        max_graphs: keep at most this many graphs (least recently used dropped first; None:
            all). Each costs a capture (``warmup`` + 1 eager passes) the first time its path
            is drawn, and its static gradient buffer (B x N floats).

    Raises:
        RuntimeError: CUDA is not available (on the CPU use the eager
            :func:`scrapl_edu.losses.path_distance`).
    """

    def __init__(
        self,
        jtfs: JTFS,
        *,
        rho: Rho = None,
        eps: float = 1e-3,
        warmup: int = 3,
        max_graphs: int | None = None,
    ) -> None:
        if not torch.cuda.is_available():
            raise RuntimeError(
                "CUDAGraphPathLoss needs a CUDA GPU (CUDA graphs exist only there); on the CPU "
                "use the eager loss, scrapl_edu.losses.path_distance or SCRAPLLoss.path_loss"
            )
        if not isinstance(jtfs, JTFS):
            raise TypeError(f"jtfs must be a scrapl_edu.JTFS, got {type(jtfs).__name__}")
        rho_transform(torch.zeros(1), rho, eps)  # a bad rho fails here
        if not isinstance(warmup, int) or warmup < 1:
            raise ValueError(f"warmup must be a positive integer, got {warmup!r}")
        if max_graphs is not None and (not isinstance(max_graphs, int) or max_graphs < 1):
            raise ValueError(f"max_graphs must be a positive integer or None, got {max_graphs!r}")
        self.jtfs, self.rho, self.eps = jtfs, rho, float(eps)
        self.warmup, self.max_graphs = warmup, max_graphs
        self._graphs: OrderedDict[tuple, Callable[[Tensor, Tensor], Tensor]] = OrderedDict()
        self._static: dict[tuple, tuple[Tensor, Tensor]] = {}  # shared inputs, per shape
        self._pool = None  # one memory pool for every graph (made at the first capture)
        self._pending: int | None = None  # the path whose backward has not run yet
        #: how many captures were made (a path dropped by max_graphs and drawn again: 2)
        self.captures = 0

    @property
    def n_graphs(self) -> int:
        """Graphs currently kept."""
        return len(self._graphs)

    def release(self) -> None:
        """Forget a loss whose backward will never run (so that the next call is allowed)."""
        self._pending = None

    def _check(self, x_hat: Tensor, x: Tensor) -> None:
        for name, t in (("x_hat", x_hat), ("x", x)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if t.device.type != "cuda":
                raise ValueError(
                    f"{name} is on {t.device}; CUDAGraphPathLoss runs on CUDA tensors only "
                    "(move them with .cuda(), or use the eager path_distance on the CPU)"
                )
        if x_hat.shape != x.shape or x_hat.dtype != x.dtype or x_hat.device != x.device:
            raise ValueError(
                "x_hat and x must have the same shape, dtype and device; got "
                f"{tuple(x_hat.shape)} {x_hat.dtype} {x_hat.device} and "
                f"{tuple(x.shape)} {x.dtype} {x.device}"
            )
        if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[1] != 1) or x.shape[-1] != self.jtfs.N:
            raise ValueError(
                f"x must be (B, {self.jtfs.N}) or (B, 1, {self.jtfs.N}), got {tuple(x.shape)}"
            )
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"x must be float32 or float64, got {x.dtype}")

    def _capture(self, p: int, x_hat: Tensor, x: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
        """The graphed ``(x_hat, x) -> L_p`` of one path, warmed up on copies of the inputs."""
        shape_key = (tuple(x.shape), x.dtype, x.device)
        if shape_key not in self._static:  # every graph of one shape reads the same inputs
            self._static[shape_key] = (
                x_hat.detach().clone().requires_grad_(True),
                x.detach().clone(),
            )
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        fn = partial(path_loss_unchecked, self.jtfs, p=p, rho=self.rho, eps=self.eps)
        self.captures += 1
        return torch.cuda.make_graphed_callables(
            fn, self._static[shape_key], num_warmup_iters=self.warmup, pool=self._pool
        )

    def __call__(self, x_hat: Tensor, x: Tensor, p: int) -> Tensor:
        """L_p(x̂, x) for path ``p``; backpropagate it before the next call."""
        p = check_path_index(p, self.jtfs.n_paths, name="p")
        self._check(x_hat, x)
        if self._pending is not None:
            raise RuntimeError(
                f"the loss of path {self._pending} has not been backpropagated yet: the graphs "
                "share their memory, so another replay would overwrite what its backward "
                "reads. Call .backward() on it first (or .release() to drop it)"
            )
        key = (p, tuple(x.shape), x.dtype, x.device)
        graphed = self._graphs.get(key)
        if graphed is None:
            graphed = self._capture(p, x_hat, x)
            self._graphs[key] = graphed
            if self.max_graphs is not None and len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)
        self._graphs.move_to_end(key)
        out = graphed(x_hat, x)
        if torch.is_grad_enabled() and x_hat.requires_grad:
            self._pending = p
            out.register_hook(self._backward_started)
        return out.clone()  # the graph's output buffer is overwritten by the next replay

    def _backward_started(self, grad: Tensor) -> None:
        self._pending = None  # the graph's backward replays right after this hook
