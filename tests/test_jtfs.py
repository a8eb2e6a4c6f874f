"""Our JTFS against kymatio 0.3.0 (same environment) and against its own definition.

The comparison with kymatio 0.4.0.dev0 (the JTFS the paper used) lives in
tests/test_reference_jtfs.py and reads fixtures made in a separate environment.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from scrapl_edu import JTFS
from scrapl_edu.filters import filterbank_params, gauss_1d, morlet_1d, periodize


@pytest.fixture(scope="module")
def kymatio_fb():
    """kymatio 0.3.0's filter bank (absent on a bare GPU box: those tests skip there)."""
    return pytest.importorskip("kymatio.scattering1d.filter_bank")


SMALL = dict(shape=1024, J=5, Q1=4, Q2=1, J_fr=2, Q_fr=1)


@pytest.fixture(scope="module")
def small() -> JTFS:
    return JTFS(**SMALL)


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize(
    "kw, n_psi1, n_psi2, n_fr, n_paths",
    [
        (dict(shape=8192, J=8, Q1=8, Q2=1, J_fr=3, Q_fr=1), 54, 9, 9, 54),
        (dict(shape=8192, J=6, Q1=8, Q2=1, J_fr=2, Q_fr=1), 38, 7, 7, 28),
        (dict(shape=4096, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=2, T=32, F=2), 22, 13, 11, 99),
        (dict(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8), 86, 25, 15, 315),
    ],
)
def test_counts(kw, n_psi1, n_psi2, n_fr, n_paths):
    j = JTFS(**kw)
    assert len(j.psi1_specs) == n_psi1
    assert len(j.psi2_specs) == n_psi2
    assert len(j.psi_fr_specs) == n_fr
    assert j.n_paths == n_paths
    assert [p.index for p in j.paths] == list(range(n_paths))


def test_paper_config_layout():
    j = JTFS(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8, sr=8192)
    assert j.N_pad == 65536 and j.N_fr == 168
    assert (j.paths[0].n2, j.paths[-1].n2) == (4, 24)
    per_pair = sorted({len(p.n1_used) for p in j.paths})
    assert per_pair == [10, 18, 26, 34, 42, 50, 58, 66, 74, 81, 85]
    assert all(p.shape == (21, 8) for p in j.paths)
    # index = (n2 - n2_first) * (2K + 1) + n_fr
    assert all(p.index == (p.n2 - 4) * 15 + p.n_fr for p in j.paths)
    # strict j2 > j1 for every n1 used, and no n1 with j1 < j2 left out
    j1 = [f.j for f in j.psi1_specs]
    for p in j.paths:
        assert all(j1[n1] < p.j2 for n1 in p.n1_used)
        assert sum(1 for v in j1 if v < p.j2) == len(p.n1_used)
    # spins: n_fr 0 is the low-pass, 1..7 up, 8..14 down; rates in Hz from xi2 * sr
    assert [p.spin for p in j.paths[:15]] == [0] + [1] * 7 + [-1] * 7
    p = j.paths[20]
    assert p.rate_hz == pytest.approx(p.xi2 * 8192)
    assert p.scale_cpo == pytest.approx(p.spin * abs(p.xi_fr) * 8)


# ------------------------------------------------- filters vs kymatio 0.3.0


@pytest.mark.parametrize("J, Q", [(12, 8), (12, 2), (8, 1), (6, 4), (3, 2)])
def test_filterbank_params_match_kymatio(J, Q, kymatio_fb):
    xis, sigmas, js = kymatio_fb.compute_params_filterbank(0.1 / 2**J, Q, 5)
    ours = filterbank_params(J, Q)
    assert len(ours) == len(xis)
    np.testing.assert_allclose([f.xi for f in ours], xis, rtol=1e-12)
    np.testing.assert_allclose([f.sigma for f in ours], sigmas, rtol=1e-12)
    assert [f.j for f in ours] == list(js)


@pytest.mark.parametrize("M, xi, sigma", [(4096, 0.35, 0.05), (1024, 0.02, 0.003), (168, 0.2, 0.1)])
def test_morlet_and_gauss_match_kymatio(M, xi, sigma, kymatio_fb):
    np.testing.assert_allclose(
        morlet_1d(M, xi, sigma), kymatio_fb.morlet_1d(M, xi, sigma), atol=1e-13
    )
    np.testing.assert_allclose(gauss_1d(M, sigma), kymatio_fb.gauss_1d(M, sigma), atol=1e-13)
    # periodisation sums the periods (kymatio 0.4); 0.3.0 averages them
    h = morlet_1d(M, xi, sigma)
    np.testing.assert_allclose(
        periodize(h, 2), 4 * kymatio_fb.periodize_filter_fourier(h, 4), atol=1e-13
    )


def test_wavelets_have_zero_mean_and_unit_l1():
    for f in filterbank_params(8, 4):
        h = morlet_1d(2048, f.xi, f.sigma)
        assert abs(h[0]) < 1e-12  # exactly zero at DC: zero mean in time
        assert np.abs(np.fft.ifft(h)).sum() == pytest.approx(1.0, rel=1e-12)
        assert np.argmax(h) == pytest.approx(f.xi * 2048, abs=1)


def test_filters_accessor_matches_kymatio(kymatio_fb):
    """jtfs.filters(kind): kymatio 0.3.0's Morlets/Gaussians from kymatio's own parameters."""
    kw = dict(shape=2048, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=1, T=256)
    j = JTFS(**kw)
    for kind, Q in (("psi1", 4), ("psi2", 2)):
        xis, sigmas, _ = kymatio_fb.compute_params_filterbank(0.1 / 2**6, Q, 5)
        want = np.stack([kymatio_fb.morlet_1d(j.N_pad, x, s) for x, s in zip(xis, sigmas)])
        np.testing.assert_allclose(j.filters(kind), want, atol=1e-13, err_msg=kind)
    np.testing.assert_allclose(j.filters("phi"), kymatio_fb.gauss_1d(j.N_pad, 0.1 / 256)[None])
    assert j.filters("psi_fr").shape == (len(j.psi_fr_specs), j.N_fr)
    assert j.filters("phi_fr").shape == (1, j.N_fr)
    with pytest.raises(ValueError, match="kind must be one of"):
        j.filters("psi3")
    j.filters("psi1")[:] = 0  # a copy: the transform's own filters are untouched
    assert np.abs(j.filters("psi1")).max() > 0.5


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_filters_frequential_match_reference(name):
    """psi_fr / phi_fr (path order n_fr) equal kymatio 0.4.0.dev0's (the paper's) filters."""
    import json
    from pathlib import Path

    with np.load(Path(__file__).resolve().parents[1] / "data/reference" / f"jtfs_{name}.npz") as z:
        j = JTFS(**json.loads(str(z["config_json"]))["kwargs"])
        # the fixture stores float32: 1e-6 of the peak is its precision
        np.testing.assert_allclose(j.filters("psi_fr"), z["psi_fr_f"], atol=1e-6)
        np.testing.assert_allclose(j.filters("phi_fr"), z["phi_fr_f"][None], atol=1e-6)


# -------------------------------------------------- scalogram vs kymatio 0.3.0


def test_scalogram_matches_kymatio_030_first_order():
    Scattering1D = pytest.importorskip("kymatio.torch").Scattering1D

    N, J, Q = 4096, 6, 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = Scattering1D(J=J, shape=N, Q=(Q, 1), T=2**J, max_order=1)
    ours = JTFS(shape=N, J=J, Q1=Q, Q2=1, J_fr=2, Q_fr=1)
    g = torch.Generator().manual_seed(0)
    t = torch.arange(N) / N
    x = torch.sin(2 * torch.pi * (200 * t + 600 * t**2)) + 0.1 * torch.randn(2, N, generator=g)
    ref = sc(x)[:, sc.meta()["order"] == 1]
    S1 = ours.scalogram(x)
    assert S1.shape == ref.shape
    k1 = torch.tensor([ours.plan.k1(n) for n in range(S1.shape[1])], dtype=torch.float32)
    # 0.3.0 averages the periodised filter levels where 0.4 sums them: S1_030 = S1 / 2**k1
    err = (S1 / 2 ** k1[None, :, None] - ref).abs().max() / ref.abs().max()
    assert err < 1e-5


# --------------------------------------------------- internal consistency


def test_full_equals_paths(small):
    x = torch.randn(3, SMALL["shape"], generator=torch.Generator().manual_seed(1))
    full = small(x)
    assert full.shape[:2] == (3, small.n_paths)
    for i in range(small.n_paths):
        torch.testing.assert_close(full[:, i], small.path(x, i), rtol=0, atol=1e-6)


def test_band_windows_equal_exact_folds():
    kw = dict(shape=4096, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=2, T=64, F=4)
    fast, exact = JTFS(**kw), JTFS(**kw, exact=True)
    x = torch.randn(2, 4096, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for i in range(0, fast.n_paths, 7):
        a, b = fast.path(x, i), exact.path(x, i)
        assert (a - b).abs().max() <= 1e-10 * b.abs().max()


def test_accepts_channel_dim_and_follows_dtype(small):
    x = torch.randn(2, 1, SMALL["shape"], dtype=torch.float64)
    y = small.path(x, 3)
    assert y.dtype == torch.float64
    y32 = small.path(x.float(), 3)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y, rtol=1e-4, atol=1e-5 * float(y.abs().max()))
    assert y.shape == (2, *small.paths[3].shape)


def test_gradcheck_float64():
    j = JTFS(shape=256, J=3, Q1=2, Q2=1, J_fr=1, Q_fr=1)
    x = torch.randn(1, 256, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    x.requires_grad_(True)
    for i in (0, j.n_paths - 1):
        assert torch.autograd.gradcheck(
            lambda v, i=i: j.path(v, i), (x,), eps=1e-6, atol=1e-5, fast_mode=True
        )


def test_modulus_gradient_is_finite_at_zero(small):
    x = torch.zeros(1, SMALL["shape"], requires_grad=True)
    small.path(x, 0).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(small):
    x = torch.randn(2, SMALL["shape"])
    torch.testing.assert_close(
        small.path(x.cuda(), 5).cpu(), small.path(x, 5), rtol=1e-4, atol=1e-5
    )


def test_one_path_computes_only_its_n1(small, monkeypatch):
    """path() asks the first order only for the n1 with j1 < j2."""
    seen: list[int] = []
    orig = small._first_order

    def spy(Xr, m):
        out = orig(Xr, m)
        seen.extend(n1 for _, n1s, _ in out for n1 in n1s)
        return out

    monkeypatch.setattr(small, "_first_order", spy)
    p = small.paths[0]
    small.path(torch.randn(1, SMALL["shape"]), 0)
    assert sorted(seen) == list(p.n1_used)
    assert len(p.n1_used) < len(small.psi1_specs)


# ----------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(SMALL, shape=16), ValueError, "J=5"),
        (dict(SMALL, T=4096), ValueError, "T=4096"),
        (dict(SMALL, F=8), ValueError, "F=8"),
        (dict(SMALL, F="global"), ValueError, "F='global'"),
        (dict(SMALL, J=2.5), TypeError, "J must be an int"),
        (dict(SMALL, Q1=0), ValueError, "Q1 must be >= 1"),
        (dict(shape=4096, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=2, T=8), ValueError, "T=8 is too small"),
        (dict(SMALL, sr=-1), ValueError, "sr must be"),
    ],
)
def test_bad_config(kw, exc, match):
    with pytest.raises(exc, match=match):
        JTFS(**kw)


@pytest.mark.parametrize(
    "x, exc, match",
    [
        (torch.zeros(1024), ValueError, r"\(B, N\)"),
        (torch.zeros(2, 3, 1024), ValueError, "channels"),
        (torch.zeros(2, 1000), ValueError, "length 1000"),
        (torch.zeros(2, 1024, dtype=torch.int64), TypeError, "float32 or float64"),
        (torch.full((2, 1024), float("nan")), ValueError, "NaN"),
        (torch.full((2, 1024), float("inf")), ValueError, "Inf"),
        (np.zeros((2, 1024)), TypeError, "torch.Tensor"),
    ],
)
def test_bad_input(small, x, exc, match):
    with pytest.raises(exc, match=match):
        small.path(x, 0)


@pytest.mark.parametrize("i", [-1, 10**6, 1.5, True, torch.tensor(0.0)])
def test_bad_path_index(small, i):
    """One message everywhere (scrapl_edu.checks); a ValueError that is also an IndexError."""
    with pytest.raises(ValueError, match=rf"i must be an integer in \[0, {small.n_paths - 1}\]"):
        small.path(torch.zeros(1, 1024), i)
    with pytest.raises(IndexError, match="path index"):
        small.path(torch.zeros(1, 1024), i)


@pytest.mark.parametrize("shape", [(0, 1024), (0, 1, 1024)])
def test_empty_batch_is_named(small, shape):
    for call in (lambda x: small.path(x, 0), small, small.scalogram):
        with pytest.raises(ValueError, match=r"x is an empty batch .* B >= 1"):
            call(torch.zeros(shape))


def test_gradgradcheck_float64():
    """theta-IS differentiates the loss twice (Hessian-vector products, Eq. 12)."""
    j = JTFS(shape=256, J=3, Q1=2, Q2=1, J_fr=1, Q_fr=1)
    x = torch.randn(1, 256, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    x.requires_grad_(True)
    for i in (0, j.n_paths - 1):
        assert torch.autograd.gradgradcheck(
            lambda v, i=i: j.path(v, i), (x,), eps=1e-6, atol=1e-4, fast_mode=True
        )


def test_double_backward_finite_at_zero(small):
    x = torch.zeros(1, SMALL["shape"], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(small.path(x + 0.0, 2).pow(2).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(h).all()


def test_full_rate_first_order_equals_grouped():
    """The GPU strategy (one full-rate IFFT, then decimate) gives the same paths and grads."""
    kw = dict(shape=2048, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=1, T=64)
    grouped, full = JTFS(**kw, full_rate=False), JTFS(**kw, full_rate=True)
    x = torch.randn(2, 2048, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    for i in (0, grouped.n_paths // 2, grouped.n_paths - 1):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        a, b = grouped.path(xa, i), full.path(xb, i)
        assert (a - b).abs().max() <= 1e-9 * b.abs().max()
        a.pow(2).sum().backward()
        b.pow(2).sum().backward()
        assert (xa.grad - xb.grad).abs().max() <= 1e-8 * xb.grad.abs().max()
    torch.testing.assert_close(grouped.scalogram(x), full.scalogram(x))


@pytest.mark.parametrize("J, Q1, T", [(6, 8, 64), (8, 4, 128), (10, 8, 1024)])
def test_first_order_filterbank_equals_kymatio_030_scattering1d(J, Q1, T):
    """Same J, Q1, T: our psi1 (count, xi, sigma, j) is Scattering1D's own."""
    Scattering1D = pytest.importorskip("kymatio.torch").Scattering1D
    N = 4 * 2**J
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = Scattering1D(J=J, shape=N, Q=(Q1, 1), T=T)
    ours = JTFS(shape=N, J=J, Q1=Q1, Q2=1, J_fr=2, Q_fr=1, T=T).filter_table("psi1")
    ref = sc.psi1_f
    assert len(ours["xi"]) == len(ref)
    np.testing.assert_allclose(ours["xi"], [f["xi"] for f in ref], rtol=1e-12)
    np.testing.assert_allclose(ours["sigma"], [f["sigma"] for f in ref], rtol=1e-12)
    assert list(ours["j"]) == [f["j"] for f in ref]


def test_plan_is_frozen_and_its_arrays_read_only(small):
    """The plan (what to compute) cannot be changed under the module that applies it."""
    import dataclasses

    from scrapl_edu.jtfs_plan import make_plan

    with pytest.raises(dataclasses.FrozenInstanceError):
        small.plan.T = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        small.T = 2  # the module reads the plan's fields, read-only
    with pytest.raises(ValueError, match="read-only"):
        small.plan.psi1_f[0][0] = 1.0
    m = small.plan.n1_count[small.paths[0].n2]
    with pytest.raises(ValueError, match="read-only"):
        small.plan.fr_matrix(1, m)[0, 0] = 1.0
    again = make_plan(**{k: v for k, v in SMALL.items()})
    assert again.paths == small.paths and again.padding == small.padding


# ------------------------------------------------------- the configuration


def test_config_is_the_one_place_of_the_settings(small):
    """Keywords, a JTFSConfig and make_plan all build the same plan; the module reads it."""
    import dataclasses

    from scrapl_edu.jtfs import JTFSConfig
    from scrapl_edu.jtfs_plan import make_plan

    cfg = JTFSConfig(**SMALL)
    assert small.config == cfg and hash(small.config) == hash(cfg)
    assert cfg.T == 2**cfg.J and cfg.F == 2**cfg.J_fr  # None resolved: an int to read
    assert JTFSConfig(**SMALL, T=32, F=4) == small.config  # the defaults, written out
    other = JTFS.from_config(cfg)
    assert other.config is cfg and other.paths == small.paths
    assert make_plan(cfg).paths == make_plan(**SMALL).paths == small.paths
    positional = JTFS(1024, 5, 4, 1, 2, 1)  # the fields' order (kymatio's)
    assert positional.config == cfg
    for f in dataclasses.fields(cfg):  # every setting is readable on the module
        assert getattr(small, f.name) == getattr(cfg, f.name)
    assert small.N == cfg.N == 1024
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.J = 6  # type: ignore[misc]
    with pytest.raises(AttributeError, match="from_config"):
        small.J = 6
    with pytest.raises(AttributeError, match="layout"):
        small.N_pad = 4096
    x = torch.randn(2, 1024, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    assert torch.equal(other(x), small(x))  # bit for bit
    assert JTFS(**cfg.kwargs()).config == cfg
    from_numpy = JTFSConfig(shape=np.int64(1024), J=np.int64(5), Q1=4, Q2=1, J_fr=2, Q_fr=1)
    assert from_numpy == cfg and type(from_numpy.J) is int


def test_extra_repr_reads_the_config():
    from scrapl_edu.filters import filterbank_params as fb

    j = JTFS(**SMALL)
    assert j.extra_repr() == (
        "shape=1024, J=5, Q1=4, Q2=1, J_fr=2, Q_fr=1, T=32, F=4, n_paths=" + str(j.n_paths)
    )

    def narrow(J: int, Q: int):
        return fb(J, Q, r_psi=0.5)

    k = JTFS(**SMALL, sr=8000, exact=True, filterbank=narrow)
    assert k.extra_repr().endswith(
        "sr=8000.0, exact=True, filterbank=test_extra_repr_reads_the_config.<locals>.narrow, "
        f"n_paths={k.n_paths}"
    )
    assert "filterbank" not in JTFS(**SMALL, filterbank=fb).extra_repr()  # the default


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(SMALL, Jfr=3), TypeError, r"unknown JTFS setting 'Jfr' \(did you mean 'J_fr'\?\)"),
        (dict(SMALL, filterbank="morlet"), TypeError, "filterbank must be a function"),
        (dict(SMALL, filterbank=lambda J, Q: []), ValueError, "gave no wavelet"),
        (dict(SMALL, filterbank=lambda J, Q: [(0.7, 0.01)]), ValueError, "0 < xi <= 0.5"),
        (dict(SMALL, filterbank=lambda J, Q: [0.25]), TypeError, r"an \(xi, sigma\) pair"),
    ],
)
def test_config_errors_name_the_setting(kw, exc, match):
    from scrapl_edu.jtfs import JTFSConfig

    with pytest.raises(exc, match=match):
        JTFS(**kw)
    if "lambda" not in repr(kw.get("filterbank")):  # the bank itself is checked by make_plan
        with pytest.raises(exc, match=match):
            JTFSConfig.of(**kw)
    with pytest.raises(TypeError, match="not both"):
        JTFS(config=JTFSConfig(**SMALL), J=4)


def test_filterbank_hook():
    """The default hook is the reference's bank (bit for bit); another one changes the plan."""
    import functools

    from scrapl_edu.filters import max_dyadic_subsampling

    default = JTFS(**SMALL)
    explicit = JTFS(**SMALL, filterbank=filterbank_params)
    x = torch.randn(2, 1024, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    assert torch.equal(default(x), explicit(x))

    narrow = functools.partial(filterbank_params, r_psi=0.5)
    j = JTFS(**SMALL, filterbank=narrow)
    assert j.psi1_specs == tuple(narrow(5, 4)) and j.psi2_specs == tuple(narrow(5, 1))
    assert j.psi_fr_specs[1 : 1 + j.K_fr] == tuple(narrow(2, 1))
    assert j.psi1_specs[0].xi == default.psi1_specs[0].xi  # the same top wavelet, narrower
    assert j.psi1_specs[0].sigma < default.psi1_specs[0].sigma
    assert torch.isfinite(j(x)).all() and not torch.equal(j(x), default(x))

    def pairs(J: int, Q: int):  # (xi, sigma) pairs: j from the aliasing rule
        return [(f.xi, f.sigma) for f in filterbank_params(J, Q)]

    p = JTFS(**SMALL, filterbank=pairs)
    assert p.psi1_specs == default.psi1_specs
    assert all(f.j == max_dyadic_subsampling(f.xi, f.sigma) for f in p.psi2_specs)
    assert torch.equal(p(x), default(x))
