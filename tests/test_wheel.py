"""The wheel in a clean virtual environment, without any extra (install in parts).

Builds the wheel from this checkout, installs ``torch==2.13.0`` and then the wheel alone
into a fresh ``python -m venv`` (outside the repository, so nothing is imported from the
checkout), and checks that a student gets what the base package promises:
``scrapl-edu course DIR`` writes the student edition, ``scrapl-edu lab run --help`` works,
and the core computes one JTFS path and one SCRAPL optimizer step, while the extras'
packages (JupyterLab, ipywidgets, Dask, kymatio, Sphinx) are absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

CORE = """
import importlib.util, torch
import scrapl_edu
from scrapl_edu import JTFS, PathSampler, SCRAPLLoss, SCRAPLOptimizer

assert "site-packages" in scrapl_edu.__file__, scrapl_edu.__file__
for extra in ("jupyterlab", "ipywidgets", "dask", "kymatio", "sphinx", "nbgrader"):
    assert importlib.util.find_spec(extra) is None, f"{extra} came with the base package"
torch.manual_seed(0)
jtfs = JTFS(shape=2048, J=6, Q1=4, Q2=1, J_fr=2, Q_fr=1, T=128, F=2, sr=1024)
x = torch.randn(2, 2048)
assert torch.isfinite(jtfs.path(x, 0)).all()
w = torch.nn.Parameter(torch.zeros(2048))
loss_fn = SCRAPLLoss(jtfs, PathSampler(jtfs.n_paths, seed=0))
opt = SCRAPLOptimizer([w], n_paths=jtfs.n_paths, lr=1e-2, p_adam=True, p_saga=True)
loss_fn(x + w, x.flip(0)).backward()
opt.step(path=loss_fn.last_path)
assert w.detach().abs().sum() > 0, "the step changed nothing"
print("core ok")
"""


def run(cmd: list[str], cwd: Path, timeout: int = 900) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_wheel_installs_alone_in_a_clean_venv(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    dist = tmp_path / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        cwd=tmp_path,
    )
    wheel = next(dist.glob("scrapl_edu-*.whl"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py, bin_ = venv / "bin" / "python", venv / "bin"
    # torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
    run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0"], cwd=tmp_path)
    run([str(py), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)
    installed = time.perf_counter() - t0

    course = tmp_path / "course"
    out = run([str(bin_ / "scrapl-edu"), "course", str(course)], cwd=tmp_path)
    notebooks = sorted((course / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == len(list((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))), out
    text = "".join(p.read_text() for p in notebooks)
    assert "### BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    assert all(json.loads(p.read_text())["cells"] for p in notebooks)
    assert (course / "data" / "results").is_dir()

    help_ = run([str(bin_ / "scrapl-edu"), "lab", "run", "--help"], cwd=tmp_path)
    assert "--preset" in help_
    assert "--preset" in run([str(py), "-m", "scrapl_edu.lab", "run", "--help"], cwd=tmp_path)
    assert "core ok" in run([str(py), "-c", CORE], cwd=tmp_path)
    print(
        f"wheel built and installed in {installed:.0f} s, checked in "
        f"{time.perf_counter() - t0 - installed:.0f} s"
    )
