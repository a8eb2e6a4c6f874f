"""``--device`` and ``--max-steps`` of the lab (issue 13, items 1-2).

This machine has no GPU: the tests check what can be checked without one (the choices, the
errors before any work, that the device is not part of the configuration, the checkpoint's
contents on the CPU, a shortened run). The CUDA side is checked by
``benchmarks/gpu_lab_check.py`` on a machine with a GPU.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from scrapl_edu import lab
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.device import DeviceUnavailableError, device_label, resolve_device
from scrapl_edu.lab.run_args import cap_steps, config_from_argv
from scrapl_edu.lab.train import CHECKPOINT

NO_CUDA = not torch.cuda.is_available()


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    torch.set_num_threads(1)


def test_device_choices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected == resolve_device(None).type
    assert device_label(torch.device("cpu")) == "cpu"
    for bad in ("gpu", "cuda:x", "cuda:-1", "mps0", ""):
        with pytest.raises(ValueError, match="choose auto, cpu, cuda or cuda:N"):
            resolve_device(bad)


@pytest.mark.skipif(not NO_CUDA, reason="checks the machine without CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_says_what_to_do(spec):
    with pytest.raises(DeviceUnavailableError, match="none is usable") as info:
        resolve_device(spec)
    msg = str(info.value)
    assert f"--device {spec}" in msg and "--device cpu" in msg and "--device auto" in msg
    assert isinstance(info.value, ValueError)


def test_cuda_index_beyond_the_gpus_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    with pytest.raises(DeviceUnavailableError, match=r"only 2 GPU\(s\) here \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


@pytest.mark.skipif(not NO_CUDA, reason="checks the machine without CUDA")
def test_run_on_a_missing_gpu_fails_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as info:
        main(["run", "--device", "cuda", "--out", str(out)])
    assert info.value.code == 2
    assert "--device cuda asks for a GPU but none is usable" in capsys.readouterr().err
    assert not out.exists()  # nothing written, nothing computed
    with pytest.raises(DeviceUnavailableError):
        lab.run(lab.make_config("classroom", fast=True), out, device="cuda")
    assert not out.exists()
    with pytest.raises(DeviceUnavailableError):  # the local pool: once, before any run
        lab.compare(["classroom"], ["p_loss"], [0], tmp_path / "cmp", fast=True, device="cuda")
    assert not (tmp_path / "cmp" / "runs").exists()


def test_device_is_not_part_of_the_configuration(tmp_path):
    """The same config on any device: results.json["config"] has no device, results.json
    says where it ran, and a CPU checkpoint holds no GPU state."""
    cfg = lab.make_config("classroom", fast=True, loss="scrapl", seed=2)
    assert "device" not in asdict(cfg)
    a = config_from_argv(["--loss", "scrapl", "--seed", "2"], fast=True)
    b = config_from_argv(["--loss", "scrapl", "--seed", "2", "--device", "auto"], fast=True)
    assert asdict(a) == asdict(b) == asdict(cfg)
    assert lab.run(cfg, tmp_path, progress=False, stop_after=3) is None
    ck = torch.load(tmp_path / CHECKPOINT, map_location="cpu", weights_only=False)
    assert set(ck["rng"]) == {"torch", "numpy", "python"}  # a CUDA run adds "cuda"
    assert ck["config"] == asdict(cfg)
    res = lab.run(cfg, tmp_path, progress=False, resume=True, device="auto" if NO_CUDA else "cpu")
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["device"] == res.device == "cpu" and saved["peak_device_mb"] is None
    assert "device" not in saved["config"]


def test_max_steps_caps_and_is_part_of_the_identity(tmp_path, capsys):
    full = config_from_argv(["--preset", "granular"], fast=False)
    assert full.steps == 19200 and full.batch_size == 32  # Table 10: 200 epochs x 96 steps
    short = config_from_argv(["--preset", "granular", "--max-steps", "50"], fast=False)
    assert short.steps == 50 and asdict(short) != asdict(full)
    assert {k for k in asdict(full) if asdict(full)[k] != asdict(short)[k]} == {"steps"}
    chirp = ["--preset", "chirplet_am1-2_fm0.5-1"]
    assert config_from_argv(chirp, fast=False).steps == 4800  # Table 11: 50 epochs x 96
    assert config_from_argv(chirp + ["--max-steps", "100000"], fast=False).steps == 4800  # a cap
    assert config_from_argv(["--steps", "30", "--max-steps", "8"], fast=False).steps == 8
    assert config_from_argv(["--steps", "5", "--max-steps", "8"], fast=False).steps == 5
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="--max-steps must be a positive integer"):
            cap_steps(full, bad)
    out = tmp_path / "short"
    assert main(["run", "--loss", "p_loss", "--max-steps", "2", "--out", str(out)]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["steps"] == 2 and saved["config"]["steps"] == 2
    assert saved["val_steps"][-1] == 2  # the shortened run is evaluated at its last step
    with pytest.raises(SystemExit):
        main(["run", "--max-steps", "0", "--out", str(tmp_path / "bad")])
    assert "--max-steps must be a positive integer" in capsys.readouterr().err
