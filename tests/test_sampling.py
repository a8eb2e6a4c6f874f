"""Tests of PathSampler and the probability helpers of scrapl_edu.sampling (π, Eq. 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from scrapl_edu.sampling import PathSampler, apply_min_prob, probs_from_importance

# ------------------------------------------------------------------ sampler


@pytest.mark.parametrize(
    "probs",
    [None, [0.05, 0.3, 0.1, 0.15, 0.02, 0.08, 0.2, 0.1]],
    ids=["uniform", "non-uniform"],
)
def test_sampler_chi_square(probs) -> None:
    n = 20_000
    sampler = PathSampler(8, probs, seed=1234)
    draws = sampler.sample_many(n)
    observed = np.bincount(draws, minlength=8)
    expected = n * (np.full(8, 1 / 8) if probs is None else np.asarray(probs))
    stat, pvalue = chisquare(observed, expected)
    assert pvalue > 0.01, (stat, pvalue)
    assert sampler.counts.tolist() == observed.tolist()


def test_sampler_is_reproducible_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a = PathSampler(30, seed=7).sample_many(50)
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert a == PathSampler(30, seed=7).sample_many(50)
    assert a != PathSampler(30, seed=8).sample_many(50)


def test_sampler_state_dict_resumes_sequence() -> None:
    s = PathSampler(12, seed=3)
    full = s.sample_many(40)
    s1 = PathSampler(12, seed=3)
    first = s1.sample_many(15)
    state = s1.state_dict()
    s2 = PathSampler(12, seed=999)
    s2.load_state_dict(state)
    assert first + s2.sample_many(25) == full
    assert int(s2.counts.sum()) == 40
    with pytest.raises(ValueError, match="n_paths"):
        PathSampler(5).load_state_dict(state)


def test_zero_probability_path_never_drawn() -> None:
    probs = [0.5, 0.0, 0.5, 0.0]
    draws = PathSampler(4, probs, seed=0).sample_many(2000)
    assert set(draws) == {0, 2}


@pytest.mark.parametrize("f", [0.0, 0.2, 0.5, 1.0])
def test_min_prob_frac_floor(f: float) -> None:
    probs = [0.7, 0.3, 0.0, 0.0, 0.0]
    s = PathSampler(5, probs, seed=0, min_prob_frac=f)
    assert s.probs.dtype == torch.float64
    assert float(s.probs.sum()) == pytest.approx(1.0, abs=1e-15)
    assert float(s.probs.min()) >= f / 5 - 1e-15
    expected = [(1 - f) * q + f / 5 for q in probs]
    assert s.probs.tolist() == pytest.approx(expected, abs=1e-15)
    with pytest.raises(ValueError, match="min_prob_frac"):
        apply_min_prob(s.probs, 1.5)


@pytest.mark.parametrize(
    ("probs", "what"),
    [
        ([0.5, 0.6, -0.1], "non-negative"),
        ([0.5, 0.5], "length"),
        ([0.2, 0.2, 0.2], "sum to 1"),
        ([0.0, 0.0, 0.0], "all zero"),
        ([float("nan"), 0.5, 0.5], "finite"),
        ([[0.5, 0.5, 0.0]], "1-D"),
    ],
)
def test_bad_probabilities(probs, what) -> None:
    with pytest.raises(ValueError, match=rf"^probs must.*{what}"):
        PathSampler(3, probs)


def test_bad_sampler_arguments() -> None:
    with pytest.raises(ValueError, match="n_paths"):
        PathSampler(0)
    with pytest.raises(ValueError, match="min_prob_frac"):
        PathSampler(3, min_prob_frac=-0.1)
    with pytest.raises(ValueError, match="seed"):
        PathSampler(3, seed=1.5)


def test_probs_from_importance_eq10() -> None:
    C = torch.tensor([[1.0, 3.0, 0.0], [2.0, 2.0, 4.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    pi = probs_from_importance(C)
    # rows: [1/4, 3/4, 0], [1/4, 1/4, 1/2], all-zero row -> uniform [1/3]*3
    expected = [(0.25 + 0.25 + 1 / 3) / 3, (0.75 + 0.25 + 1 / 3) / 3, (0 + 0.5 + 1 / 3) / 3]
    assert pi.tolist() == pytest.approx(expected, rel=1e-12)
    assert math.isclose(float(pi.sum()), 1.0, abs_tol=1e-15)


# ------------------------------------------------------------------ resumed states
def _saved(**changes):
    s = PathSampler(4, [0.1, 0.2, 0.3, 0.4], seed=5, min_prob_frac=0.2)
    s.sample_many(7)
    return {**s.state_dict(), **changes}


@pytest.mark.parametrize("key", ["probs", "base_probs"])
@pytest.mark.parametrize(
    ("bad", "what"),
    [
        ([0.2, 0.3, 0.5, 0.4], "sum to 1"),  # sums to 1.4
        ([0.5, 0.6, -0.1, 0.0], "non-negative"),
        ([float("nan"), 0.5, 0.25, 0.25], "finite"),
        ([float("inf"), 0.0, 0.0, 0.0], "finite"),
        ([0.5, 0.5], "length"),
        ([0.0, 0.0, 0.0, 0.0], "all zero"),
        ("uniform", "sequence of 4 numbers"),
    ],
)
def test_load_state_dict_refuses_bad_probabilities(key, bad, what) -> None:
    sampler = PathSampler(4, seed=1)
    before = sampler.state_dict()
    with pytest.raises(ValueError, match=rf"the sampler state's {key} must.*{what}"):
        sampler.load_state_dict(_saved(**{key: bad}))
    after = sampler.state_dict()  # left as it was
    assert torch.equal(after["probs"], before["probs"]) and after["seed"] == before["seed"]
    assert torch.equal(after["generator_state"], before["generator_state"])


@pytest.mark.parametrize(
    ("key", "bad", "what"),
    [
        ("min_prob_frac", 1.5, "min_prob_frac must be in"),
        ("min_prob_frac", float("nan"), "min_prob_frac must be in"),
        ("counts", torch.tensor([1, 2, 3]), "counts must be 4 non-negative integers"),
        ("counts", torch.tensor([1, -2, 3, 0]), "counts must be 4 non-negative integers"),
        ("counts", torch.tensor([1.0, 2.0, 3.0, 0.0]), "counts must be 4 non-negative integers"),
        ("seed", 1.5, "seed must be an integer"),
        ("generator_state", torch.zeros(3, dtype=torch.uint8), "generator_state is not valid"),
    ],
)
def test_load_state_dict_refuses_other_bad_entries(key, bad, what) -> None:
    sampler = PathSampler(4, seed=1)
    with pytest.raises(ValueError, match=what):
        sampler.load_state_dict(_saved(**{key: bad}))
    assert sampler.seed == 1 and sampler.min_prob_frac == 0.0


def test_load_state_dict_keeps_the_saved_numbers_bit_for_bit() -> None:
    """A probability vector that sums to 1 within the tolerance is kept, not renormalised."""
    probs = torch.tensor([0.25, 0.25, 0.25, 0.25 + 3e-7], dtype=torch.float64)
    state = _saved(probs=probs)
    sampler = PathSampler(4)
    sampler.load_state_dict(state)
    assert torch.equal(sampler.probs, probs)
    assert torch.equal(sampler.base_probs, state["base_probs"])
    assert sampler.counts.tolist() == state["counts"].tolist() and sampler.min_prob_frac == 0.2
