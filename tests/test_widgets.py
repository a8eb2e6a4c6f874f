"""Widgets: controls change the config given to the runner, Run counts, DOM classes hold."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from scrapl_edu import JTFS  # noqa: E402
from scrapl_edu.lab import Results, Snapshot, StepProgress  # noqa: E402
from scrapl_edu.widgets import (  # noqa: E402
    DEFAULT_RESULTS_DIR,
    LabDashboard,
    PathExplorer,
    TogglePanel,
    find_results_table,
    markdown_table_to_html,
)


def fake_results(score: float, steps: int, counts: list[int] | None) -> Results:
    """A Results with only what the dashboard shows filled in."""
    return Results(
        config={},
        param_names=["am_hz", "fm_oct_per_s"],
        test_theta_l1_permille=score,
        test_theta_l1_permille_per_param={"am_hz": score, "fm_oct_per_s": score},
        val_steps=[0, steps],
        val_theta_l1_permille=[300.0, 200.0],
        val_theta_l1_permille_per_param=[[300.0, 300.0], [200.0, 200.0]],
        steps_to_convergence=None,
        val_total_variation=0.1,
        steps=steps,
        ms_per_step=1.0,
        wall_s=1.0,
        theta_is_s=0.0,
        peak_rss_mb=1.0,
        path_counts=counts,
    )


class FakeRunner:
    """Records configs; reports progress twice; θ L1 depends on the switches."""

    def __init__(self) -> None:
        self.configs: list[dict] = []

    def __call__(self, config, progress):
        self.configs.append(dict(config))
        P = 5
        counts = np.zeros(P, dtype=int)
        counts[0] = config["steps"]
        for step in (config["steps"] // 2, config["steps"]):
            progress(
                Snapshot(
                    step=step,
                    steps=config["steps"],
                    val_steps=[0, step],
                    val_theta_l1=[300.0, 200.0],
                    path_counts=counts.tolist(),
                    probs=None,
                    losses=list(np.linspace(1, 0.1, step)),
                    grad_var=[],
                )
            )
        score = 100.0 + 10 * config.get("p_adam", 0) + 20 * config.get("p_saga", 0)
        return fake_results(score, config["steps"], counts.tolist())


@pytest.fixture
def dash(tmp_path):
    runner = FakeRunner()
    d = LabDashboard(runner=runner, results_dir=tmp_path, presets=["classroom"], steps=4)
    return d, runner


def test_dashboard_runs_once_headless_and_keeps_the_dom_contract(dash) -> None:
    d, runner = dash
    assert len(runner.configs) == 1
    assert d.status.value == "Run 1 finished"
    assert "scrapl-run-button" in d.button._dom_classes
    assert "scrapl-status" in d.status._dom_classes
    assert "scrapl-result" in d.result._dom_classes
    assert "scrapl-plot" in d.plot._dom_classes
    for key, css in [
        ("p_adam", "scrapl-toggle-p-adam"),
        ("p_saga", "scrapl-toggle-p-saga"),
        ("theta_is", "scrapl-toggle-theta-is"),
    ]:
        assert css in d.toggles[key]._dom_classes
    assert "P-SAGA on" in d.result.value and "130.0 ‰" in d.result.value


def test_toggling_changes_the_config_and_the_result(dash) -> None:
    d, runner = dash
    first = d.result.value
    d.toggles["p_saga"].value = False
    d.seed.value = 3
    d.steps.value = 6
    d.button.click()
    cfg = runner.configs[-1]
    assert cfg == {
        "preset": "classroom",
        "loss": "scrapl",
        "steps": 6,
        "seed": 3,
        "p_adam": True,
        "p_saga": False,
        "theta_is": True,
    }
    assert d.status.value == "Run 2 finished"
    assert d.result.value != first and "P-SAGA off" in d.result.value
    assert d.bar.value == 6


def test_non_scrapl_loss_switches_techniques_off(dash) -> None:
    d, runner = dash
    d.loss.value = "mss"
    assert all(b.disabled for b in d.toggles.values())
    d.run()
    cfg = runner.configs[-1]
    assert cfg["loss"] == "mss" and not (cfg["p_adam"] or cfg["p_saga"] or cfg["theta_is"])
    assert "MSS" in d.result.value


def test_runner_errors_are_reported(tmp_path) -> None:
    def broken(config, progress):
        raise ValueError("unknown preset 'nope'")

    d = LabDashboard(runner=broken, results_dir=tmp_path, presets=["x"], steps=2, run_default=False)
    with pytest.raises(ValueError, match="unknown preset"):
        d.run()
    assert "failed" in d.status.value and "unknown preset" in d.status.value
    with pytest.raises(TypeError, match="must return scrapl_edu.lab.Results"):
        LabDashboard(runner=lambda c, p: {}, results_dir=tmp_path, presets=["x"], steps=2)
    with pytest.raises(ValueError, match="presets is empty"):
        LabDashboard(runner=broken, presets=[], steps=2, run_default=False)


def test_ablation_table_is_read_from_results(tmp_path) -> None:
    """The panel reads the table the index names, not whatever a glob finds first."""
    for folder in ("ablation_old", "ablation_new"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "table.md").write_text(
            f"# {folder}\n\n| Method | θ L1 |\n|---|---|\n| SCRAPL | 50 |\n"
        )
    assert find_results_table(tmp_path) is None  # no index: no table
    index = {"tables": {"ablation": {"table": "ablation_new/table.md", "mirrors": "Table 2"}}}
    (tmp_path / "index.json").write_text(json.dumps(index))
    found = find_results_table(tmp_path)
    assert found.path == tmp_path / "ablation_new" / "table.md" and found.mirrors == "Table 2"
    assert find_results_table(tmp_path, "losses") is None
    d = LabDashboard(runner=FakeRunner(), results_dir=tmp_path, presets=["c"], steps=2)
    assert "<td>SCRAPL</td>" in d.table.value and "<h4>ablation_new</h4>" in d.table.value
    assert "mirrors Table 2" in d.table_label.value
    html = markdown_table_to_html("| a | b |\n|---|---|\n| <x> | 2 |")
    assert "<th>a</th>" in html and "&lt;x&gt;" in html


def test_repository_results_index() -> None:
    """Every table the index names exists, says which paper table it mirrors, and the
    dashboard's ablation is the one notebook 09 reads (data/results/lab/v2)."""
    from scrapl_edu.lab.evidence import RESULTS_DIR

    index = json.loads((DEFAULT_RESULTS_DIR / "index.json").read_text())["tables"]
    for name in index:
        found = find_results_table(DEFAULT_RESULTS_DIR, name)
        assert found is not None and found.path.is_file(), name
        assert "Table" in found.mirrors, name
    ablation = find_results_table(DEFAULT_RESULTS_DIR, "ablation")
    assert ablation.path.parent.parent == RESULTS_DIR
    assert "10 paired seeds" in ablation.title and "granular" in ablation.mirrors


def test_toggle_panel_passes_switches_and_counts_runs() -> None:
    seen = []
    panel = TogglePanel(
        lambda s: seen.append(dict(s)), techniques=("p_adam", "p_saga"), defaults={"p_adam": False}
    )
    assert seen == [{"p_adam": False, "p_saga": True}]
    panel.toggles["p_adam"].value = True
    panel.button.click()
    assert seen[-1] == {"p_adam": True, "p_saga": True}
    assert panel.status.value == "Run 2 finished"
    with pytest.raises(ValueError, match="unknown technique"):
        TogglePanel(lambda s: None, techniques=("p_adamm",))


def test_path_explorer_selects_and_describes() -> None:
    jtfs = JTFS(shape=512, J=4, Q1=4, Q2=1, J_fr=2, Q_fr=1, sr=1000)
    coefs = np.random.default_rng(0).random((jtfs.n_paths, *jtfs.paths[0].shape))
    coefs[7] *= 10
    ex = PathExplorer(jtfs, coefs)
    assert ex.index == 7 and "path 7" in ex.info.value
    ex.dropdown.value = 2
    assert ex.index == 2 and "path 2" in ex.info.value
    with pytest.raises(ValueError, match="path index"):
        ex.select(jtfs.n_paths)
    with pytest.raises(ValueError, match="n_paths"):
        PathExplorer(jtfs, coefs[:3])


def test_step_reports_move_the_bar_without_redrawing(dash, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    from scrapl_edu import viz

    d, _ = dash
    drawn: list[dict] = []

    def show(fig, fallback=None) -> None:
        drawn.append(fig)
        plt.close(fallback)

    monkeypatch.setattr(viz, "show_plotly", show)
    d._on_progress(StepProgress(3, 10))
    assert (d.bar.value, d.bar.max) == (3, 10) and "step 3 / 10" in d.status.value
    assert drawn == []
    d._on_progress(Snapshot(4, 10, [0, 4], [300.0, 250.0], None, None, [1.0] * 4, []))
    assert d.bar.value == 4 and len(drawn) == 1
    with pytest.raises(TypeError, match="Snapshot or StepProgress"):
        d._on_progress({"step": 5, "steps": 10})


def test_markdown_tables_render_with_markdown_it(tmp_path) -> None:
    html = markdown_table_to_html(
        "### Table\n\nintro *text*\n\n| A | B |\n|:--|--:|\n| 1 | 2 |\n| 3 | 4 |\n"
    )
    assert "<h4>Table</h4>" in html and "<em>text</em>" in html
    assert '<table class="scrapl-table">' in html
    assert html.count("<tr>") == 3 and '<td style="text-align:right">4</td>' in html


def test_committed_ablation_table_shows_in_the_dashboard() -> None:
    """The dashboard's default results folder is the repository's committed data/results, and
    it shows the current ablation (the 10-seed v2 table notebook 09 reads), labelled with the
    paper's table it mirrors."""
    d = LabDashboard(runner=FakeRunner(), presets=["classroom"], steps=2, run_default=False)
    assert "data/results/lab/v2/ablation/table.md" in d.table.value
    assert "mirrors the paper&#x27;s Table 2" in d.table_label.value
    assert d.table.value.count("<tr>") >= 5 and "SCRAPL" in d.table.value
