"""Our JTFS against the paper's: fixtures from kymatio 0.4.0.dev0 (vendored in scrapl-loss 0.1.0).

The fixtures in ``data/reference/`` were written by ``tools/make_reference_fixtures.py``
in a separate environment (``make fixtures``); see ``data/reference/README.md``.
Tolerances: filter tables ``rtol=1e-10``; coefficients ``1e-5 * max|ref|`` per path.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from scrapl_edu import JTFS

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
COEF_RTOL = 1e-5  # max|ours - ref| <= COEF_RTOL * max|ref|, per path
TABLE_RTOL = 1e-10

# name -> counts (psi1, psi2, psi_fr, SCRAPL paths), from the paper / JTFS_SPEC.md
EXPECTED = {
    "a": (38, 7, 7, 28),
    "b": (54, 9, 9, 54),
    "c": (22, 13, 11, 99),
    "d_paper": (86, 25, 15, 315),
}
SMALL = ["a", "b", "c"]  # all paths stored
ALL = [*SMALL, "d_paper"]


def _params(names: list[str]) -> list[Any]:
    """One xdist group per configuration, so a worker builds each JTFS once."""
    return [pytest.param(n, marks=pytest.mark.xdist_group(f"ref_jtfs_{n}")) for n in names]


@functools.cache
def ref(name: str) -> dict[str, Any]:
    """The fixture of one configuration as a dict of numpy arrays (+ parsed config)."""
    path = REF / f"jtfs_{name}.npz"
    if not path.exists():
        pytest.fail(f"missing fixture {path}; run `make fixtures`")
    with np.load(path) as z:
        out = {k: z[k] for k in z.files}
    out["config"] = json.loads(str(out["config_json"]))
    return out


@functools.cache
def ours(name: str) -> JTFS:
    """Our JTFS, built with the fixture's constructor arguments."""
    return JTFS(**ref(name)["config"]["kwargs"])


@functools.cache
def our_paths(name: str) -> torch.Tensor:
    """``jtfs.path(x, i)`` for every stored path i: (B, n_stored, rows, frames)."""
    r, jtfs = ref(name), ours(name)
    x = torch.from_numpy(r["x"])
    with torch.no_grad():
        return torch.stack([jtfs.path(x, int(i)) for i in r["path_index"]], dim=1)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """max|a - b| / max|b|."""
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-30))


def table(jtfs: JTFS, which: str) -> dict[str, np.ndarray]:
    """A filter table as arrays; prefers ``jtfs.filter_table(which)``."""
    if hasattr(jtfs, "filter_table"):
        return {k: np.asarray(v) for k, v in jtfs.filter_table(which).items()}
    rows = getattr(jtfs, f"{which}_table")
    keys = ["xi", "sigma", "j"] + (["spin"] if which == "psi_fr" else [])

    def get(row: Any, k: str) -> Any:
        return row[k] if isinstance(row, dict) else getattr(row, k)

    if isinstance(rows, dict) or not isinstance(rows, (list, tuple)):
        return {k: np.asarray(get(rows, k)) for k in keys}
    return {k: np.array([get(row, k) for row in rows]) for k in keys}


# ---------------------------------------------------------------- structure


@pytest.mark.parametrize("name", _params(ALL))
def test_counts_and_sizes(name: str) -> None:
    r, jtfs = ref(name), ours(name)
    n1, n2, nfr, npaths = EXPECTED[name]
    got = (
        len(table(jtfs, "psi1")["xi"]),
        len(table(jtfs, "psi2")["xi"]),
        len(table(jtfs, "psi_fr")["xi"]),
        jtfs.n_paths,
    )
    assert got == (n1, n2, nfr, npaths), f"config {name}: (psi1, psi2, psi_fr, paths)"
    assert len(jtfs.paths) == npaths
    assert (jtfs.N_pad, jtfs.N_fr) == (int(r["N_pad"]), int(r["N_fr"])), "(N_pad, N_fr)"


@pytest.mark.parametrize("which", ["psi1", "psi2", "psi_fr"])
@pytest.mark.parametrize("name", _params(ALL))
def test_filter_table(name: str, which: str) -> None:
    r, got = ref(name), table(ours(name), which)
    np.testing.assert_array_equal(got["j"], r[f"{which}_j"], err_msg=f"{name} {which} j")
    for key in ("xi", "sigma"):
        np.testing.assert_allclose(
            got[key], r[f"{which}_{key}"], rtol=TABLE_RTOL, atol=1e-300,
            err_msg=f"{name} {which} {key}",
        )  # fmt: skip
    if which == "psi_fr":
        np.testing.assert_array_equal(got["spin"], r["psi_fr_spin"], err_msg=f"{name} spin")


@pytest.mark.parametrize("name", _params(ALL))
def test_path_table(name: str) -> None:
    """Path i = (n2 - n2_first)(2K+1) + n_fr, as scrapl-loss's ``path_idx``."""
    r, jtfs = ref(name), ours(name)
    bad = []
    for i, p in enumerate(jtfs.paths):
        n1 = tuple(int(v) for v in r["path_n1_used"][i, : r["path_n1_count"][i]])
        want = dict(
            index=i,
            n2=int(r["path_n2"][i]),
            n_fr=int(r["path_n_fr"][i]),
            j2=int(r["path_j2"][i]),
            j_fr=int(r["path_j_fr"][i]),
            spin=int(r["path_spin"][i]),
            n1_used=n1,
        )
        have = {k: (tuple(getattr(p, k)) if k == "n1_used" else getattr(p, k)) for k in want}
        if have != want:
            bad.append(f"path {i}: ours {have} != ref {want}")
    assert not bad, f"config {name}: {len(bad)} path-table mismatches:\n" + "\n".join(bad[:10])


def test_paper_config_facts() -> None:
    """The paper config's numbers quoted in JTFS_SPEC.md, straight from the fixture."""
    r = ref("d_paper")
    assert (int(r["N_pad"]), int(r["N_fr"])) == (65536, 168)
    assert (int(r["frame_start"]), int(r["frame_end"])) == (4, 12)
    assert sorted(set(r["path_n2"].tolist())) == list(range(4, 25))
    counts = sorted(set(r["path_n1_count"].tolist()))
    assert counts == [10, 18, 26, 34, 42, 50, 58, 66, 74, 81, 85]
    assert r["coef"].shape[-2:] == (21, 8)


# ---------------------------------------------------------------- coefficients


def _compare_paths(name: str, got: torch.Tensor) -> None:
    """Assert every stored path of ``name`` is within COEF_RTOL; list all that are not."""
    r = ref(name)
    want = r["coef"]
    assert tuple(got.shape) == want.shape, f"config {name}: shape {tuple(got.shape)} != ref"
    assert got.dtype == torch.float32
    got_np = got.numpy()
    bad = []
    for slot, i in enumerate(r["path_index"]):
        err = rel_err(got_np[:, slot], want[:, slot])
        if not err <= COEF_RTOL:
            bad.append(
                f"path {int(i)} (n2={int(r['path_n2'][i])}, n_fr={int(r['path_n_fr'][i])}, "
                f"j2={int(r['path_j2'][i])}, spin={int(r['path_spin'][i])}): rel err {err:.2e}, "
                f"max|ref| {np.abs(want[:, slot]).max():.3e}"
            )
    assert not bad, (
        f"config {name}: {len(bad)}/{len(r['path_index'])} paths off by > {COEF_RTOL:g} "
        "* max|ref|:\n" + "\n".join(bad[:20])
    )


@pytest.mark.parametrize("name", _params(SMALL))
def test_path_coefficients(name: str) -> None:
    """``jtfs.path(x, i)`` equals kymatio's joint-format path, for every path."""
    _compare_paths(name, our_paths(name))


@pytest.mark.parametrize("name", _params(SMALL))
def test_forward_equals_paths(name: str) -> None:
    """``jtfs(x)[:, i] == jtfs.path(x, i)`` and both match the reference."""
    r, jtfs = ref(name), ours(name)
    with torch.no_grad():
        full = jtfs(torch.from_numpy(r["x"]))
    assert full.shape[1] == jtfs.n_paths
    _compare_paths(name, full)
    single = our_paths(name)
    scale = single.abs().amax(dim=(0, 2, 3)).clamp_min(1e-30)
    err = (full - single).abs().amax(dim=(0, 2, 3)) / scale
    worst = int(err.argmax())
    assert float(err.max()) <= 1e-6, f"config {name}: jtfs(x)[:, {worst}] vs path: {err.max():.2e}"


@pytest.mark.parametrize("name", _params(ALL))
def test_scalogram(name: str) -> None:
    """First order S1 = |x * psi1| * phi, unpadded (B, n1, frames)."""
    r, jtfs = ref(name), ours(name)
    if not hasattr(jtfs, "scalogram"):
        pytest.skip("JTFS has no scalogram()")
    with torch.no_grad():
        got = jtfs.scalogram(torch.from_numpy(r["x"])).numpy()
    assert got.shape == r["s1"].shape
    err = rel_err(got, r["s1"])
    row = int(np.abs(got - r["s1"]).max(axis=(0, 2)).argmax())
    assert err <= COEF_RTOL, f"config {name}: S1 rel err {err:.2e} (worst n1={row})"


@pytest.mark.slow
@pytest.mark.parametrize("name", _params(["d_paper"]))
def test_paper_config_paths(name: str) -> None:
    """Paper config (N=32768, J=12, Q=(8,2), J_fr=3, Q_fr=2, T=4096, F=8): 12 paths."""
    _compare_paths(name, our_paths(name))
