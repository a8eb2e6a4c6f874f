"""Write the reference JTFS fixtures in ``data/reference/`` from the paper's implementation.

Run with the reference environment (see ``tools/build_reference_env.sh``)::

    make fixtures
    # = bash tools/build_reference_env.sh && .venv-ref/bin/python tools/make_reference_fixtures.py

The reference is kymatio 0.4.0.dev0 ``TimeFrequencyScattering``, vendored inside the
PyPI package ``scrapl-loss==0.1.0`` (``scrapl/kymatio``). This script only *calls* it;
no reference code is copied into this repository. Each configuration gives one
compressed ``.npz`` (float32 coefficients, float64 filter tables); ``manifest.json``
lists them with the versions used. ``data/reference/README.md`` documents every key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import scrapl  # noqa: F401  (puts the vendored kymatio on sys.path; must precede kymatio)
import torch

import kymatio  # isort: skip
from kymatio.scattering1d.core.timefrequency_scattering import (  # isort: skip
    time_scattering_widthfirst,
)
from kymatio.torch import Scattering1D, TimeFrequencyScattering  # isort: skip
from scrapl import SCRAPLLoss  # isort: skip
from scrapl.single_path_jtfs import TimeFrequencyScrapl  # isort: skip

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "reference"

# name -> (constructor kwargs of our JTFS API, batch, paths to store or None = all, expected counts)
CONFIGS: dict[str, dict[str, Any]] = {
    "a": dict(
        kwargs=dict(shape=8192, J=6, Q1=8, Q2=1, J_fr=2, Q_fr=1, T=None, F=None),
        batch=1,
        paths=None,
        expect=dict(n_psi1=38, n_psi2=7, n_psi_fr=7, n_paths=28),
        first_order=True,
    ),
    "b": dict(
        kwargs=dict(shape=8192, J=8, Q1=8, Q2=1, J_fr=3, Q_fr=1, T=None, F=None),
        batch=2,
        paths=None,
        expect=dict(n_psi1=54, n_psi2=9, n_psi_fr=9, n_paths=54),
        first_order=True,
    ),
    "c": dict(
        # T=32 gives log2_T=5 = max j2, so the reference does not hit its
        # `log2_T < max j2` crash; F=2 < 2**J_fr exercises a separate F.
        kwargs=dict(shape=4096, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=2, T=32, F=2),
        batch=1,
        paths=None,
        expect=dict(n_psi1=22, n_psi2=13, n_psi_fr=11, n_paths=99),
        first_order=True,
    ),
    "d_paper": dict(
        kwargs=dict(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8),
        batch=1,
        paths="subset",
        expect=dict(n_psi1=86, n_psi2=25, n_psi_fr=15, n_paths=315),
        first_order=True,
    ),
}
# Paths whose reference coefficient is also checked against scrapl-loss's single-path JTFS.
SINGLEPATH_CHECKS = {"a": [0, 13, 27], "b": [5, 40], "c": [3, 50, 98], "d_paper": None}


def make_signal(n: int, batch: int, seed: int) -> np.ndarray:
    """Deterministic test signals, float32 (batch, n).

    Row 0: exponential chirp (0.002 -> 0.35 cycles/sample) under a Hann-like
    envelope with a 6-per-signal amplitude modulation, plus white noise (std 0.05).
    Row 1 (if any): white noise plus a steady tone at 0.05 cycles/sample.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    f0, f1 = 0.002, 0.35
    k = np.log(f1 / f0) / n
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    env = np.sin(np.pi * (t + 0.5) / n) ** 2 * (1 + 0.5 * np.sin(2 * np.pi * 6 * t / n))
    rows = [env * np.sin(phase) + 0.05 * rng.standard_normal(n)]
    if batch > 1:
        rows.append(rng.standard_normal(n) * 0.5 + 0.3 * np.sin(2 * np.pi * 0.05 * t))
    for _ in range(2, batch):
        rows.append(rng.standard_normal(n))
    return np.stack(rows).astype(np.float32)


def reference_jtfs(kw: dict[str, Any], **extra: Any) -> TimeFrequencyScattering:
    """The vendored kymatio-dev JTFS, joint format, array output (as the paper used)."""
    return TimeFrequencyScattering(
        shape=(kw["shape"],),
        J=kw["J"],
        Q=(kw["Q1"], kw["Q2"]),
        J_fr=kw["J_fr"],
        Q_fr=kw["Q_fr"],
        T=kw["T"],
        F=kw["F"],
        format="joint",
        out_type="array",
        **extra,
    )


def table(filters: list[dict[str, Any]], spin: bool = False) -> dict[str, np.ndarray]:
    """xi, sigma, j (and spin = sign(xi)) of a kymatio filter list, in its order."""
    out = {
        "xi": np.array([float(f["xi"]) for f in filters], dtype=np.float64),
        "sigma": np.array([float(f["sigma"]) for f in filters], dtype=np.float64),
        "j": np.array([int(f["j"]) for f in filters], dtype=np.int64),
    }
    if spin:
        out["spin"] = np.sign(out["xi"]).astype(np.int64)
    return out


def path_table(jt: TimeFrequencyScattering, kw: dict[str, Any]) -> dict[str, np.ndarray]:
    """SCRAPL path table, in scrapl-loss's ``path_idx`` order, cross-checked against it."""
    psi1, psi2, psi_fr = jt.psi1_f, jt.psi2_f, jt.filters_fr[1]
    n_fr_count = len(psi_fr)
    n2_kept = [n2 for n2 in range(len(psi2)) if any(psi2[n2]["j"] > p["j"] for p in psi1)]
    keys = [(n2, n_fr) for n2 in n2_kept for n_fr in range(n_fr_count)]
    # scrapl-loss's own list: SCRAPLLoss.scrapl_keys[path_idx] = (n2, n_fr)
    loss = SCRAPLLoss(
        kw["shape"],
        kw["J"],
        kw["Q1"],
        kw["Q2"],
        kw["J_fr"],
        kw["Q_fr"],
        kw["T"],
        kw["F"],
        use_p_adam=False,
        use_p_saga=False,
    )
    scrapl_keys = [tuple(int(v) for v in k) for k in loss.scrapl_keys]
    assert scrapl_keys == keys, "scrapl-loss path order differs from (n2 - n2_first)*(2K+1)+n_fr"
    n2_first = n2_kept[0]
    for i, (n2, n_fr) in enumerate(keys):
        assert i == (n2 - n2_first) * n_fr_count + n_fr
    n1_used = [[n1 for n1, p in enumerate(psi1) if psi2[n2]["j"] > p["j"]] for n2, _ in keys]
    width = max(len(u) for u in n1_used)
    n1_pad = np.full((len(keys), width), -1, dtype=np.int64)
    for i, u in enumerate(n1_used):
        n1_pad[i, : len(u)] = u
    return {
        "n2": np.array([k[0] for k in keys], dtype=np.int64),
        "n_fr": np.array([k[1] for k in keys], dtype=np.int64),
        "j2": np.array([psi2[k[0]]["j"] for k in keys], dtype=np.int64),
        "j_fr": np.array([psi_fr[k[1]]["j"] for k in keys], dtype=np.int64),
        "spin": np.array([np.sign(psi_fr[k[1]]["xi"]) for k in keys], dtype=np.int64),
        "n1_count": np.array([len(u) for u in n1_used], dtype=np.int64),
        "n1_used": n1_pad,
    }


def paper_subset(paths: dict[str, np.ndarray], n_fr_count: int) -> np.ndarray:
    """12 paths spread over all j2 (n2 = first..last) and over spins 0, +1, -1 and j_fr."""
    n2_all = np.unique(paths["n2"])
    n2_pick = n2_all[np.round(np.linspace(0, len(n2_all) - 1, 12)).astype(int)]
    k = (n_fr_count - 1) // 2
    # cycle spin 0 / up / down, and walk j_fr through the bank
    n_fr_pick = [0, 1, k + 2, 3, 0, k + 4, 5, k + 6, 0, k, 2 * k, k + 1]
    idx = []
    for n2, n_fr in zip(n2_pick, n_fr_pick, strict=True):
        (i,) = np.nonzero((paths["n2"] == n2) & (paths["n_fr"] == n_fr))[0]
        idx.append(int(i))
    return np.array(idx, dtype=np.int64)


def first_order_scalogram(
    jt: TimeFrequencyScattering, x: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """S0 (B, frames) and S1 (B, n1, frames), unpadded, from the reference's own core."""
    x3 = jt.backend.reshape_input(x, x.shape[-1:])  # (B, 1, N), as kymatio's frontend does
    U_0 = jt.backend.pad(x3, pad_left=jt.pad_left, pad_right=jt.pad_right)
    gen = time_scattering_widthfirst(
        U_0, jt.backend, [jt.phi_f, jt.psi1_f, jt.psi2_f], jt.log2_stride, True
    )
    s0, s1 = next(gen)["coef"], next(gen)["coef"]
    i0, i1 = jt.ind_start[jt.log2_stride], jt.ind_end[jt.log2_stride]
    # kymatio keeps a trailing singleton axis: (B, 1, T, 1) and (B, 1, n1, T, 1)
    s0 = s0[..., i0:i1, 0].reshape(x.shape[0], -1)
    s1 = s1[..., i0:i1, 0].reshape(x.shape[0], len(jt.psi1_f), -1)
    # Cross-check with the reference's plain Scattering1D (a separate code path).
    sc = Scattering1D(J=jt.J, shape=jt.shape, Q=jt.Q, T=jt.T, max_order=1, out_type="list")
    with torch.no_grad():
        out = sc(x)
    ref0 = out[0]["coef"]
    ref1 = torch.stack([p["coef"] for p in out[1:]], dim=1)
    for mine, ref in ((s0, ref0), (s1, ref1)):
        err = float((mine - ref).abs().max() / ref.abs().max())
        assert mine.shape == ref.shape and err <= 1e-6, (mine.shape, ref.shape, err)
    return s0.numpy().astype(np.float32), s1.numpy().astype(np.float32)


def singlepath_check(
    kw: dict[str, Any], x: torch.Tensor, coef: np.ndarray, idx: list[int], keys: list[tuple]
) -> float:
    """Max relative difference between our extracted joint-format path and scrapl-loss's.

    scrapl-loss's single path does not unpad in time; its frames
    ``ind_start[log2_T]:ind_end[log2_T]`` must equal the joint-format path.
    """
    sp = TimeFrequencyScrapl(
        shape=(kw["shape"],),
        J=kw["J"],
        Q=(kw["Q1"], kw["Q2"]),
        J_fr=kw["J_fr"],
        Q_fr=kw["Q_fr"],
        T=kw["T"],
        F=kw["F"],
    )
    i0, i1 = sp.ind_start[sp.log2_stride], sp.ind_end[sp.log2_stride]
    worst = 0.0
    for slot, i in enumerate(idx):
        n2, n_fr = keys[i]
        with torch.no_grad():
            c = sp.scattering_singlepath(x, n2, n_fr)["coef"]
        # (B, 1, rows, padded frames, 1): drop the singleton axes, then unpad in time
        c = c.reshape(coef.shape[0], coef.shape[-2], -1)[..., i0:i1].numpy()
        ref = coef[:, slot]
        err = float(np.abs(c - ref).max() / max(np.abs(ref).max(), 1e-30))
        print(f"    single-path check path {i} (n2={n2}, n_fr={n_fr}): rel err {err:.2e}")
        worst = max(worst, err)
    assert worst <= 1e-6, f"joint-format extraction disagrees with scrapl-loss single path: {worst}"
    return worst


def build(name: str, spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """Compute every array stored for one configuration."""
    kw = spec["kwargs"]
    t0 = time.time()
    jt = reference_jtfs(kw)
    psi1, psi2, psi_fr = table(jt.psi1_f), table(jt.psi2_f), table(jt.filters_fr[1], spin=True)
    paths = path_table(jt, kw)
    n_fr_count = len(jt.filters_fr[1])
    k_first = (n_fr_count - 1) // 2 + 1  # first-order joint paths: phi_fr + K spin-up
    got = dict(
        n_psi1=len(jt.psi1_f),
        n_psi2=len(jt.psi2_f),
        n_psi_fr=n_fr_count,
        n_paths=len(paths["n2"]),
    )
    assert got == spec["expect"], f"config {name}: counts {got} != {spec['expect']}"

    x_np = make_signal(kw["shape"], spec["batch"], seed)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        S = jt(x)  # (B, K+1 + n_paths, rows, frames): first-order joint, then SCRAPL paths
    assert S.shape[1] == k_first + got["n_paths"], S.shape
    if spec["paths"] == "subset":
        idx = paper_subset(paths, n_fr_count)
    else:
        idx = np.arange(got["n_paths"])
    coef = S[:, k_first + idx].numpy().astype(np.float32)
    s1_joint = S[:, :k_first].numpy().astype(np.float32)
    s0, s1 = first_order_scalogram(jt, x)
    keys = list(zip(paths["n2"].tolist(), paths["n_fr"].tolist(), strict=True))
    checks = SINGLEPATH_CHECKS[name]
    slots = (
        list(range(len(idx)))
        if checks is None
        else [int(np.nonzero(idx == i)[0][0]) for i in checks]
    )
    sp_err = singlepath_check(kw, x, coef[:, slots], [int(idx[s]) for s in slots], keys)

    phi_fr = jt.filters_fr[0]
    config = dict(
        kwargs=kw, batch=spec["batch"], seed=seed, T_resolved=int(jt.T), F_resolved=int(jt.F)
    )
    arrays: dict[str, Any] = {
        "config_json": np.array(json.dumps(config)),
        "x": x_np,
        "N_pad": np.int64(jt._N_padded),
        "N_fr": np.int64(jt._N_padded_fr),
        "pad_left": np.int64(jt.pad_left),
        "pad_right": np.int64(jt.pad_right),
        "log2_T": np.int64(jt.log2_stride),
        "log2_F": np.int64(jt.log2_stride_fr),
        "frame_start": np.int64(jt.ind_start[jt.log2_stride]),
        "frame_end": np.int64(jt.ind_end[jt.log2_stride]),
        "phi_sigma": np.float64(jt.phi_f["sigma"]),
        "phi_j": np.int64(jt.phi_f["j"]),
        "phi_fr_sigma": np.float64(phi_fr["sigma"]),
        "phi_fr_j": np.int64(phi_fr["j"]),
        "phi_fr_f": phi_fr["levels"][0].reshape(-1).numpy().astype(np.float32),
        "psi_fr_f": np.stack([f["levels"][0].reshape(-1).numpy() for f in jt.filters_fr[1]]).astype(
            np.float32
        ),
        "path_index": idx,
        "coef": coef,
        "s0": s0,
        "s1": s1,
        "s1_joint": s1_joint,
        "singlepath_check_rel_err": np.float64(sp_err),
        "singlepath_check_paths": np.array([int(idx[s]) for s in slots], dtype=np.int64),
    }
    for prefix, tab in (("psi1", psi1), ("psi2", psi2), ("psi_fr", psi_fr)):
        for key, val in tab.items():
            arrays[f"{prefix}_{key}"] = val
    for key, val in paths.items():
        arrays[f"path_{key}"] = val
    print(f"  {name}: coef {coef.shape}, S1 {s1.shape}, {time.time() - t0:.1f} s")
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="config names to rebuild")
    parser.add_argument("--seed", type=int, default=20260)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    OUT.mkdir(parents=True, exist_ok=True)
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest["generator"] = "tools/make_reference_fixtures.py"
    manifest["versions"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "kymatio (vendored in scrapl-loss)": kymatio.__version__,
        "scrapl-loss": _dist_version("scrapl-loss"),
    }
    files = manifest.setdefault("files", {})
    for name, spec in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        print(f"config {name}: {spec['kwargs']}")
        arrays = build(name, spec, args.seed)
        path = OUT / f"jtfs_{name}.npz"
        if _same_arrays(path, arrays):
            print(f"  {path.name} unchanged; kept (zip timestamps would churn the file)")
        else:
            np.savez_compressed(path, **arrays)
        files[path.name] = {
            "config": spec["kwargs"],
            "batch": spec["batch"],
            "n_paths": spec["expect"]["n_paths"],
            "paths_stored": int(len(arrays["path_index"])),
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(f["bytes"] for f in files.values())
    print(f"wrote {len(files)} files to {OUT.relative_to(ROOT)} ({total / 1e6:.2f} MB)")


def _same_arrays(path: Path, arrays: dict[str, Any]) -> bool:
    """True if ``path`` already holds exactly these arrays (same keys, dtypes, values)."""
    if not path.exists():
        return False
    with np.load(path) as old:
        if set(old.files) != set(arrays):
            return False
        for key, val in arrays.items():
            new = np.asarray(val)
            if old[key].dtype != new.dtype or not np.array_equal(old[key], new):
                return False
    return True


def _dist_version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    sys.exit(main())
