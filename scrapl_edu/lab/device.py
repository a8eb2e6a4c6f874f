"""Where a run computes: ``--device auto | cpu | cuda[:N]``, resolved once, before any work.

The device is an argument of a run (:func:`scrapl_edu.lab.train.run`, ``--device``), not a
field of :class:`~scrapl_edu.lab.config.LabConfig`: the configuration says *what* is trained
(its ``results.json["config"]`` and checkpoints are the same on every device, so committed
results, ``compare --reuse`` and ``--resume`` keep working), and ``results.json["device"]``
records where it ran.

Determinism, per device:

* **CPU**: bit-identical from run to run and across ``--resume`` (tests check it).
* **CUDA**: the same numbers as the CPU up to float32 rounding, not bit for bit: cuFFT and
  cuBLAS sum in other orders, and the scatter-adds of the JTFS backward
  (``Tensor.index_add_``) use atomics, whose order changes between runs, so two CUDA runs may
  differ in the last bits and drift apart over many steps. TF32 is switched off during a run
  (the paper trains in single precision). Bit-reproducible CUDA runs would need
  ``torch.use_deterministic_algorithms(True)`` with ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` set
  before CUDA starts (deterministic cuBLAS workspaces, cuDNN convolutions and a sorted,
  slower ``index_add_``) and the same GPU model, driver and library versions; cuFFT is not
  covered by that flag (it is deterministic for a given plan and GPU in practice, not by
  contract). The lab does not switch it on: it would slow every step.

Random draws stay on the CPU on every device: the data set is synthesised on the CPU and
then moved, and the batch order, the synth's random shifts, the path sampler and θ-IS's
start vectors use CPU generators, so a CPU and a CUDA run of one configuration train on the
same data, batches, shifts and paths. Only the encoder's dropout draws from the device's
generator (its state is saved in CUDA checkpoints).
"""

from __future__ import annotations

import re

import torch

__all__ = ["DEVICE_CHOICES", "DeviceUnavailableError", "device_label", "resolve_device"]

#: what ``--device`` accepts (``cuda:N`` for the N-th GPU)
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")

_CUDA = re.compile(r"^cuda(?::(\d+))?$")


class DeviceUnavailableError(ValueError):
    """The requested device does not exist here (a ValueError with what to do instead)."""


def _no_cuda_reason() -> str:
    if torch.version.cuda is None:
        return (
            f"this torch ({torch.__version__}) is a CPU-only build; install a CUDA build of "
            "torch (https://pytorch.org/get-started/locally/) on a machine with an NVIDIA GPU"
        )
    return (
        f"torch {torch.__version__} was built for CUDA {torch.version.cuda} but sees no GPU "
        "(check nvidia-smi, the driver and CUDA_VISIBLE_DEVICES)"
    )


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The :class:`torch.device` of ``--device``: ``auto`` (CUDA when present), ``cpu``,
    ``cuda`` or ``cuda:N``.

    Call it before any work: an unknown name or a GPU that is not there raises at once.

    Raises:
        DeviceUnavailableError: ``cuda`` without CUDA, or ``cuda:N`` beyond the GPUs present
            (a ValueError saying what to do).
        ValueError: anything else than the choices above.
    """
    if spec is None:
        spec = "auto"
    if isinstance(spec, torch.device):
        spec = str(spec)
    if not isinstance(spec, str):
        raise ValueError(f"device must be a string, got {type(spec).__name__}")
    name = spec.strip().lower()
    if name == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = _CUDA.match(name)
    if match is None:
        raise ValueError(
            f"unknown device {spec!r}; choose auto, cpu, cuda or cuda:N (N = GPU index)"
        )
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"--device {spec} asks for a GPU but none is usable: {_no_cuda_reason()}. "
            "Run with --device cpu (or --device auto, which falls back to the CPU)."
        )
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceUnavailableError(
            f"--device {spec}: there {'is' if count == 1 else 'are'} only {count} GPU(s) "
            f"here (cuda:0 to cuda:{count - 1}); pick one of them or --device auto"
        )
    return torch.device("cuda", index)


def device_label(device: torch.device) -> str:
    """``"cpu"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"``: where a run computed, for its results."""
    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
