"""The data set of a run: theta ~ U[0,1]^U, its audio, split train / validation / test.

Drums (Section 4.4): a voice per example (bass drum, snare, tom, hi-hat) and theta inside that
voice's box (:func:`scrapl_edu.synths.sample_drum_theta`); in meso every target gets its own
seeded random shift (the paper's unaligned recordings), kept as ``shift_<split>`` so that the
metrics can align a prediction to its target's onset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor

from scrapl_edu.synths import DrumConfig, DrumSynth, SynthPreset, sample_drum_theta, sample_theta

__all__ = ["DataSpec", "make_dataset", "split_sizes"]


class DataSpec(Protocol):
    """What :func:`make_dataset` reads of a run's configuration (a
    :class:`scrapl_edu.lab.LabConfig`): a protocol, as config.py imports this module."""

    @property
    def seed(self) -> int: ...

    @property
    def data_seed(self) -> int | None: ...

    @property
    def n_examples(self) -> int: ...

    @property
    def split(self) -> Sequence[float]: ...

    def synth_config(self) -> SynthPreset | DrumConfig: ...


#: examples synthesised per call (bounds the memory of a large data set)
_CHUNK = 256


def split_sizes(n_examples: int, split: Sequence[float]) -> tuple[int, int, int]:
    """Train / validation / test sizes: rounded shares, the test set takes the rest."""
    n_train = int(round(n_examples * split[0]))
    n_val = int(round(n_examples * split[1]))
    return n_train, n_val, n_examples - n_train - n_val


def make_dataset(config: DataSpec) -> dict[str, Tensor]:
    """theta ~ U[0,1]^U (log-uniform physical values) and the audio, split 60/20/20.

    Every example has its own seeded random shift / grain draw, so the data set is fixed by
    ``data_seed`` (Appendix E, "N (# of examples)", "train / val / test split"). Returns
    ``x_train``, ``theta_train``, ``x_val``, ``theta_val``, ``x_test``, ``theta_test`` (and
    for drums ``shift_train``, ``shift_val``, ``shift_test``: each target's shift in samples).
    """
    seed = config.seed if config.data_seed is None else config.data_seed
    synth = config.synth_config().build()
    gen = torch.Generator().manual_seed(10_000 + int(seed))
    drums = isinstance(synth, DrumSynth)
    if drums:
        theta, _ = sample_drum_theta(synth.config, config.n_examples, generator=gen)
    else:
        theta = sample_theta(config.n_examples, generator=gen, n_params=synth.n_params)
    seeds = [int(s) for s in torch.randint(0, 2**31 - 1, (config.n_examples,), generator=gen)]
    shifts = synth.sample_shifts(config.n_examples, seed=seeds) if drums else None
    with torch.no_grad():
        chunks = [
            synth(theta[i : i + _CHUNK], shifts=shifts[i : i + _CHUNK])
            if drums
            else synth(theta[i : i + _CHUNK], seed=seeds[i : i + _CHUNK])
            for i in range(0, config.n_examples, _CHUNK)
        ]
    audio = torch.cat(chunks)
    n_train, n_val, _ = split_sizes(config.n_examples, config.split)
    sl = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val)}
    sl["test"] = slice(n_train + n_val, config.n_examples)
    out = {}
    for name, s in sl.items():
        out[f"x_{name}"] = audio[s]
        out[f"theta_{name}"] = theta[s]
        if drums:
            out[f"shift_{name}"] = shifts[s]
    return out
