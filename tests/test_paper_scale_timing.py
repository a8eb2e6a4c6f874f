"""benchmarks/paper_scale_timing.py runs on the CPU (--device cpu --quick) and reports what it
measured: every method of Table 5, the ratios from its own medians, the paper's A5000 figures.

Run on the shrunk preset (--fast) to take seconds; the paper-scale run is the README's.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def timing():
    spec = importlib.util.spec_from_file_location(
        "paper_scale_timing", ROOT / "benchmarks" / "paper_scale_timing.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cpu_quick_run_reports_every_method(timing, tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "t.json"
    res = timing.main(["--device", "cpu", "--quick", "--fast", "--paths", "3", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["machine"]["device"] == "cpu" and list(saved["presets"]) == ["granular"]
    assert json.loads(json.dumps(res)) == saved
    saved = saved["presets"]["granular"]
    assert saved["config"]["quick"] and saved["config"]["n_paths"] == 35
    methods = ["JTFS", "SCRAPL", "MSS log + linear", "P-loss"]
    assert list(saved["loss"]) == methods and list(saved["step"]) == methods
    for part in ("loss", "step"):
        for name, s in saved[part].items():
            assert len(s["times_ms"]) == (3 if name == "SCRAPL" and part == "loss" else 2)
            assert all(t > 0 for t in s["times_ms"]) and s["peak_mb"] is None
    assert saved["loss"]["SCRAPL"]["paths"] == [0, 17, 34]  # evenly spread over P
    m = {k: v["median_ms"] for k, v in saved["loss"].items()}
    assert saved["ratios"]["SCRAPL/MSS"] == pytest.approx(m["SCRAPL"] / m["MSS log + linear"])
    assert saved["ratios"]["JTFS/SCRAPL"] == pytest.approx(m["JTFS"] / m["SCRAPL"])
    assert res["paper_ratios"]["JTFS/SCRAPL"] == pytest.approx(1730 / 89.8)
    assert res["paper_ratios"]["SCRAPL/MSS"] == pytest.approx(89.8 / 19.1)
    assert res["paper_a5000"]["P-loss"]["median_ms"] == 0.516
    t = saved["theta_is"]  # fast preset: 1 example, 1 power iteration, 2 paths timed
    assert t["n_examples"] == 1 and t["n_iter"] == 1 and t["paths"] == [0, 34]
    assert t["estimated_total_s"] == pytest.approx(t["median_ms"] * 1 * 35 / 1000)
    printed = capsys.readouterr().out
    assert "| SCRAPL (3 paths) |" in printed and "| JTFS/SCRAPL |" in printed
    assert "θ-IS (Eq. 10-12):" in printed


def test_cuda_only_options_are_refused_on_the_cpu(timing, capsys):
    with pytest.raises(SystemExit):
        timing.main(["--device", "cpu", "--cuda-graphs", "--fast", "--quick"])
    assert "--cuda-graphs needs --device cuda" in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            timing.main(["--device", "cuda", "--fast", "--quick"])
        assert "none is usable" in capsys.readouterr().err
