"""ipywidgets panels for the notebooks: they compose :mod:`scrapl_edu.lab` and :mod:`scrapl_edu.viz`.

Every panel runs its default action when built (``run_default=True``), so a notebook executed
headless (nbmake, Voilà's first render) exercises the same code a click would. Figures are
matplotlib drawn into an ``Output`` widget: they render in JupyterLab, Voilà and as static
PNGs in a saved notebook, with no JavaScript bundle to fetch.

* :class:`PathExplorer` (notebook 2): choose a path, see its coefficients φ_p(x) (Eq. 1) and
  where it sits on the rate x scale grid.
* :class:`TogglePanel` (notebooks 5-7): checkboxes for SCRAPL's techniques, a Run button, and
  a figure produced by a callable from the switches.
* :class:`LabDashboard` (notebook 8): the sound-matching lab (Sections 4.2-4.3) with P-Adam
  (Eq. 6-8), P-SAGA (Eq. 9) and θ-IS (Eq. 10-12) switches, live curves and the current
  committed ablation table (named in ``data/results/index.json``); after a run, the target and the encoder's reconstruction as sound; a "compare"
  action that runs the setting and the setting with one switch flipped on paired seeds
  (:func:`scrapl_edu.lab.switch.compare_switch`) and shows each seed's pair and the paired
  difference. Its DOM classes are a contract with the browser test:
  ``scrapl-run-button``, ``scrapl-toggle-p-adam``, ``scrapl-toggle-p-saga``,
  ``scrapl-toggle-theta-is``, ``scrapl-result``, ``scrapl-status``, ``scrapl-compare-button``,
  ``scrapl-compare-status``.

matplotlib, ipywidgets and IPython are imported inside the functions that use them: they are
heavy, and ipywidgets is optional outside the notebooks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from markdown_it import MarkdownIt

from scrapl_edu import viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab import Results, Snapshot, StepProgress, make_config, run
from scrapl_edu.lab.config import LOSS_LABELS, LOSSES
from scrapl_edu.lab.listen import reconstructions
from scrapl_edu.lab.loss_kinds import loss_kind
from scrapl_edu.lab.switch import RunStatus, SwitchComparison, compare_switch
from scrapl_edu.presets import preset_names
from scrapl_edu.sound import players

__all__ = [
    "LabDashboard",
    "PathExplorer",
    "TogglePanel",
    "lab_runner",
    "markdown_table_to_html",
    "ResultsTable",
    "find_results_table",
]

#: techniques of Algorithm 1 and their checkbox labels / CSS classes
TECHNIQUES = {
    "p_adam": ("P-Adam (Eq. 6-8)", "scrapl-toggle-p-adam"),
    "p_saga": ("P-SAGA (Eq. 9)", "scrapl-toggle-p-saga"),
    "theta_is": ("θ-IS (Eq. 10-12)", "scrapl-toggle-theta-is"),
}
#: the loss menu: (label, loss) of every loss the lab trains with, SCRAPL first
LOSS_CHOICES = [(LOSS_LABELS[loss], loss) for loss in reversed(LOSSES)]

#: what a runner reports: a snapshot at each validation, a step count after every step
Progress = Snapshot | StepProgress
#: ``runner(config, progress) -> Results``: what the dashboard's Run button calls
Runner = Callable[[dict[str, Any], Callable[[Progress], None]], Results]
#: ``comparer(config, switch, seeds, on_progress) -> SwitchComparison``: the Compare button's
Comparer = Callable[
    [dict[str, Any], str, list[int], Callable[[list[RunStatus]], None]], SwitchComparison
]


def _close_all() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


def _show(fig) -> None:
    """Show a matplotlib figure inside the current Output context, then free it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


# --------------------------------------------------------------------------- path explorer
class PathExplorer:
    """Choose a JTFS path and see its coefficients and its cell on the path grid (notebook 2).

    Args:
        jtfs: the :class:`scrapl_edu.JTFS` that produced ``coefs``.
        coefs: all paths of one signal, shape (P, rows, frames) (``jtfs(x)[0]``).
        index: the path shown first (default: the one with the most energy).
    """

    def __init__(self, jtfs: Any, coefs: np.ndarray, index: int | None = None) -> None:
        import ipywidgets as W

        coefs = np.asarray(coefs, dtype=float)
        if coefs.ndim != 3 or coefs.shape[0] != jtfs.n_paths:
            raise ValueError(
                f"coefs must be (n_paths={jtfs.n_paths}, rows, frames) for one signal, "
                f"got shape {coefs.shape}; pass jtfs(x)[0]"
            )
        self.jtfs = jtfs
        self.coefs = coefs
        self.energy = (coefs**2).sum(axis=(1, 2))
        options = [
            (
                f"{p.index}: rate {p.rate_hz or p.xi2:.3g}{' Hz' if p.rate_hz else ''}, "
                f"scale {p.scale_cpo:+.2g} c/o",
                p.index,
            )
            for p in jtfs.paths
        ]
        start = int(np.argmax(self.energy)) if index is None else int(index)
        self.dropdown = W.Dropdown(options=options, value=start, description="path")
        self.info = W.HTML()
        self.out = W.Output()
        self.dropdown.observe(lambda change: self.select(change["new"]), names="value")
        self.widget = W.VBox([self.dropdown, self.info, self.out])
        self.select(start)

    def describe(self, index: int) -> str:
        """The path's metadata as one line of HTML."""
        p = self.jtfs.paths[index]
        share = self.energy[index] / max(self.energy.sum(), 1e-300)
        rate = f"{p.rate_hz:.3g} Hz" if p.rate_hz is not None else f"{p.xi2:.3g} cycles/sample"
        return (
            f"<b>path {p.index}</b> = (n2={p.n2}, n_fr={p.n_fr}): rate {rate}, "
            f"scale {p.scale_cpo:+.3g} cycles/octave, spin {p.spin:+d}, j2={p.j2}, "
            f"j_fr={p.j_fr}, uses {len(p.n1_used)} first-order filters; "
            f"{100 * share:.2f}% of the signal's second-order energy"
        )

    def select(self, index: int) -> None:
        """Show path ``index`` (what choosing it in the dropdown does)."""
        import matplotlib.pyplot as plt

        index = int(index)
        if not 0 <= index < self.jtfs.n_paths:
            raise ValueError(f"path index must be in [0, {self.jtfs.n_paths - 1}], got {index}")
        if self.dropdown.value != index:
            self.dropdown.value = index  # triggers select again through observe
            return
        self.index = index
        self.info.value = self.describe(index)
        self.out.clear_output(wait=True)
        with self.out:
            fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
            viz.plot_path_grid(
                self.jtfs,
                np.log10(self.energy + 1e-30),
                ax=axes[0],
                title="log10 energy of every path",
                label="log10 energy",
            )
            viz.mark_path(axes[0], self.jtfs, index)
            viz.plot_path(self.coefs[index], self.jtfs, index, ax=axes[1])
            fig.tight_layout()
            _show(fig)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# --------------------------------------------------------------------------- toggle panel
class TogglePanel:
    """Checkboxes for SCRAPL's techniques + a Run button; ``action(switches)`` draws a figure.

    Args:
        action: ``action({"p_adam": bool, ...}) -> matplotlib Figure | None``; it may also
            print. Called once at construction when ``run_default`` is True.
        techniques: which switches to show (keys of :data:`TECHNIQUES`).
        defaults: initial values (default: all on).
        run_default: run ``action`` once with the defaults right away (headless notebooks).
    """

    def __init__(
        self,
        action: Callable[[dict[str, bool]], Any],
        techniques: tuple[str, ...] = ("p_adam", "p_saga"),
        defaults: dict[str, bool] | None = None,
        run_default: bool = True,
    ) -> None:
        import ipywidgets as W

        unknown = set(techniques) - set(TECHNIQUES)
        if unknown:
            raise ValueError(
                f"unknown technique(s) {sorted(unknown)}; choose from {list(TECHNIQUES)}"
            )
        defaults = defaults or {}
        self.action = action
        self.toggles = {}
        for key in techniques:
            label, css = TECHNIQUES[key]
            box = W.Checkbox(value=bool(defaults.get(key, True)), description=label, indent=False)
            box.add_class(css)
            self.toggles[key] = box
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.add_class("scrapl-run-button")
        self.status = W.HTML()
        self.out = W.Output()
        self.runs = 0
        self.button.on_click(lambda _: self.run())
        self.widget = W.VBox([W.HBox([*self.toggles.values(), self.button]), self.status, self.out])
        if run_default:
            self.run()

    @property
    def switches(self) -> dict[str, bool]:
        """The current value of every checkbox."""
        return {k: bool(b.value) for k, b in self.toggles.items()}

    def run(self) -> Any:
        """Call ``action`` with the current switches and show what it returns."""
        self.button.disabled = True
        self.status.value = "running…"
        self.out.clear_output(wait=True)
        try:
            with self.out:
                fig = self.action(self.switches)
                if fig is not None:
                    _show(fig)
        finally:
            self.button.disabled = False
        self.runs += 1
        self.status.value = f"Run {self.runs} finished"
        return fig

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# --------------------------------------------------------------------------- lab dashboard
def markdown_table_to_html(md: str) -> str:
    """Render a results table's markdown as HTML (markdown-it-py, CommonMark + tables).

    Raw HTML in the text is escaped; headings become ``<h4>`` (they sit in a side panel)
    and tables get the ``scrapl-table`` class.
    """
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(md)
    for tok in tokens:
        if tok.type in ("heading_open", "heading_close"):
            tok.tag = "h4"
        elif tok.type == "table_open":
            tok.attrSet("class", "scrapl-table")
    return parser.renderer.render(tokens, parser.options, {})


#: the repository's committed results (the kernel of a notebook runs in notebooks/)
DEFAULT_RESULTS_DIR = Path(__file__).resolve().parents[1] / "data" / "results"


#: the index of the current committed tables, by name (in ``results_dir``)
RESULTS_INDEX = "index.json"


@dataclass(frozen=True)
class ResultsTable:
    """A committed results table named in ``data/results/index.json``.

    Attributes:
        name: its key in the index (``"ablation"``, ``"losses"``, ...).
        path: the markdown table.
        title: what the table holds (synth, seeds, front end).
        mirrors: the paper's table it reproduces in small.
    """

    name: str
    path: Path
    title: str
    mirrors: str


def find_results_table(results_dir: str | Path, name: str = "ablation") -> ResultsTable | None:
    """The current committed table ``name``, read from ``<results_dir>/index.json``.

    The index names each current table (``{"tables": {name: {"table", "title", "mirrors"}}}``,
    paths relative to ``results_dir``), so an older table left in the folder is never picked
    by accident. ``None`` if there is no index, no such name, or the file it names is missing.
    """
    root = Path(results_dir)
    index = root / RESULTS_INDEX
    if not index.is_file():
        return None
    entry = json.loads(index.read_text()).get("tables", {}).get(name)
    if not entry:
        return None
    path = root / entry["table"]
    if not path.is_file():
        return None
    return ResultsTable(name, path, entry.get("title", ""), entry.get("mirrors", ""))


def _tag(config: dict[str, Any]) -> str:
    if not loss_kind(config.get("loss", "scrapl")).switches_apply:
        return dict((v, k) for k, v in LOSS_CHOICES).get(config["loss"], config["loss"])
    on = [TECHNIQUES[k][0].split(" ")[0] for k in TECHNIQUES if config.get(k)]
    return "SCRAPL + " + " + ".join(on) if on else "SCRAPL (sampling only)"


def lab_runner(
    config: dict[str, Any],
    progress: Callable[[Progress], None],
    *,
    fast: bool = False,
    device: str = "auto",
    on_audio: Callable[[dict[str, Any]], None] | None = None,
) -> Results:
    """Run the lab (:func:`scrapl_edu.lab.run`), reporting progress as it goes.

    ``config`` holds ``preset``, ``loss``, ``p_adam``, ``p_saga``, ``theta_is``, ``steps``
    and ``seed``; ``fast`` shrinks the preset (:func:`scrapl_edu.presets.shrink`).
    ``progress`` receives the lab's :class:`~scrapl_edu.lab.Snapshot` at each validation
    (validation curve in θ L1 ‰, visits per path, π, per-step losses, gradient variance) and
    a :class:`~scrapl_edu.lab.StepProgress` after every step (for the progress bar).
    Nothing is written to disk. ``device``: where to train (``"auto"``: the GPU when there
    is one; :func:`scrapl_edu.lab.device.resolve_device`). Returns the run's
    :class:`~scrapl_edu.lab.Results` (``results.device`` says where it ran). ``on_audio``
    receives :func:`scrapl_edu.lab.listen.reconstructions` of the final encoder (a test
    target and the synth at its predicted θ).
    """
    keys = ("loss", "p_adam", "p_saga", "theta_is", "steps", "seed")
    cfg = make_config(config["preset"], fast=fast, **{k: config[k] for k in keys if k in config})
    return run(
        cfg,
        None,
        progress=False,
        callback=progress,
        on_step=lambda step, steps: progress(StepProgress(step, steps)),
        device=device,
        on_finish=None if on_audio is None else lambda p, s: on_audio(reconstructions(p, s)),
    )


def switch_comparer(
    config: dict[str, Any],
    switch: str,
    seeds: list[int],
    on_progress: Callable[[list[RunStatus]], None],
    *,
    fast: bool = False,
    jobs: int = 2,
) -> SwitchComparison:
    """The dashboard's Compare: :func:`scrapl_edu.lab.switch.compare_switch`, ``jobs`` at a time."""
    keys = ("preset", "loss", "p_adam", "p_saga", "theta_is", "steps")
    cfg = {k: config[k] for k in keys if k in config}
    return compare_switch(cfg, switch, seeds, jobs=jobs, fast=fast, on_progress=on_progress)


class LabDashboard:
    """The sound-matching lab as a classroom dashboard (notebook 8; Sections 4.2-4.3, Table 2).

    Controls: checkboxes for P-Adam, P-SAGA and θ-IS, the loss (SCRAPL, full JTFS, MSS,
    P-loss), the lab preset, steps and seed; a Run button with a progress bar. Live plotly
    figure (:func:`scrapl_edu.viz.plotly_lab_progress`, with a matplotlib PNG fallback for
    renderers without JavaScript): validation θ L1 (‰), visits per path against π, and
    the running gradient variance (the rolling variance of the per-step loss when the
    runner reports no ``grad_var``). Beside it, the ablation table committed in
    ``results_dir``.

    Args:
        runner: ``runner(config, progress) -> Results`` (default :func:`lab_runner`); tests
            inject a fast fake. A :class:`~scrapl_edu.lab.Snapshot` given to ``progress``
            redraws the figure; a :class:`~scrapl_edu.lab.StepProgress` moves the bar only.
        results_dir: where the committed comparison tables live (default: the
            repository's ``data/results``, wherever the kernel's working folder is).
        presets: preset names for the dropdown (default: the classroom presets).
        steps, seed: initial values (default steps: the preset's).
        run_default: run once right away with the defaults (headless notebooks, Voilà).
        fast: shrink the presets (default: ``SCRAPL_EDU_FAST``, read here: the dashboard
            is where a notebook's run starts).
        device: where :func:`lab_runner` trains: ``"auto"`` (default: the GPU when there is
            one, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        comparer: ``comparer(config, switch, seeds, on_progress) -> SwitchComparison``
            (default :func:`switch_comparer`, two runs at a time); tests inject a fake.
    """

    def __init__(
        self,
        runner: Runner | None = None,
        results_dir: str | Path | None = None,
        presets: list[str] | None = None,
        steps: int | None = None,
        seed: int = 0,
        run_default: bool = True,
        fast: bool | None = None,
        device: str = "auto",
        comparer: Comparer | None = None,
    ) -> None:
        self.fast = fast_mode() if fast is None else bool(fast)
        self.runner: Runner = runner or partial(
            lab_runner, fast=self.fast, device=device, on_audio=self._audio
        )
        self.comparer: Comparer = comparer or partial(switch_comparer, fast=self.fast)
        if presets is None:
            presets = [p for p in preset_names() if p.startswith("classroom")]
        if not presets:
            raise ValueError("presets is empty: give at least one lab preset name")
        if steps is None:
            steps = self._default_steps(presets[0])
        self._make_run_controls(presets, int(steps), int(seed))
        self._make_outputs(DEFAULT_RESULTS_DIR if results_dir is None else results_dir)
        self._make_compare_controls()
        #: every finished comparison (:class:`~scrapl_edu.lab.switch.SwitchComparison`)
        self.comparisons: list[SwitchComparison] = []
        self.runs = 0
        #: every finished run: ``{"config": the dashboard's config, "results": Results}``
        self.history: list[dict[str, Any]] = []
        self.loss.observe(lambda _: self._sync_toggles(), names="value")
        self.button.on_click(lambda _: self.run())
        self.compare_button.on_click(lambda _: self.compare())
        self.widget = self._layout()
        if run_default:
            self.run()

    def _make_run_controls(self, presets: list[str], steps: int, seed: int) -> None:
        """The technique checkboxes, the loss, preset, steps and seed, the Run button, its
        progress bar and status line."""
        import ipywidgets as W

        self.toggles: dict[str, Any] = {}
        for key, (label, css) in TECHNIQUES.items():
            box = W.Checkbox(value=True, description=label, indent=False)
            box.add_class(css)
            self.toggles[key] = box
        self.loss = W.Dropdown(options=LOSS_CHOICES, value="scrapl", description="loss")
        self.preset = W.Dropdown(options=presets, value=presets[0], description="preset")
        self.steps = W.BoundedIntText(value=steps, min=1, max=100_000, description="steps")
        self.seed = W.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.add_class("scrapl-run-button")
        self.bar = W.IntProgress(value=0, min=0, max=steps, description="steps")
        self.status = W.HTML("ready")
        self.status.add_class("scrapl-status")

    def _make_outputs(self, results_dir: str | Path) -> None:
        """The run's result line, figure and sound, and the committed ablation table."""
        import ipywidgets as W

        self.result = W.HTML("no run yet")
        self.result.add_class("scrapl-result")
        self.plot = W.Output()
        self.plot.add_class("scrapl-plot")
        found = find_results_table(results_dir)
        self.table_label = W.HTML(
            "<b>Committed ablation</b>"
            + (f" (mirrors {html.escape(found.mirrors)})" if found and found.mirrors else "")
        )
        self.table = W.HTML(self._table_html(results_dir))
        self.sound = W.Output()
        self.sound.add_class("scrapl-sound")

    def _make_compare_controls(self) -> None:
        """The Compare action's switch to flip, number of seeds, button, bar, status, output."""
        import ipywidgets as W

        self.flip = W.Dropdown(
            options=[(TECHNIQUES[k][0].split(" ")[0], k) for k in TECHNIQUES],
            value="p_saga",
            description="flip",
        )
        self.n_seeds = W.BoundedIntText(value=3, min=2, max=20, description="seeds")
        self.compare_button = W.Button(description="Compare on paired seeds", icon="balance-scale")
        self.compare_button.add_class("scrapl-compare-button")
        self.compare_bar = W.IntProgress(value=0, min=0, max=1, description="runs")
        self.compare_status = W.HTML("")
        self.compare_status.add_class("scrapl-compare-status")
        self.compare_out = W.Output()

    def _layout(self) -> Any:
        """The panel: controls beside the table, then the result, sound, figure and Compare."""
        import ipywidgets as W

        controls = W.VBox(
            [
                W.HTML("<b>SCRAPL techniques</b> (Algorithm 1)"),
                *self.toggles.values(),
                self.loss,
                self.preset,
                self.steps,
                self.seed,
                W.HBox([self.button, self.bar]),
                self.status,
            ]
        )
        right = W.VBox([self.table_label, self.table])
        compare = W.VBox(
            [
                W.HTML(
                    "<b>Compare</b>: this setting and the same with one switch flipped, on "
                    "paired seeds (same data, initialisation, batches and shifts)"
                ),
                W.HBox([self.flip, self.n_seeds, self.compare_button, self.compare_bar]),
                self.compare_status,
                self.compare_out,
            ]
        )
        return W.VBox([W.HBox([controls, right]), self.result, self.sound, self.plot, compare])

    def _default_steps(self, preset: str) -> int:
        try:
            return int(make_config(preset, fast=self.fast).steps)
        except ValueError:  # an unknown preset is reported at run time
            return 100

    @staticmethod
    def _table_html(results_dir: str | Path) -> str:
        found = find_results_table(results_dir)
        if found is None:
            return (
                "<p>No committed ablation table yet: run "
                "<code>python -m scrapl_edu.lab compare --table ablation</code> and name its "
                "table in <code>data/results/index.json</code>.</p>"
            )
        path = found.path
        shown = path
        root = Path(results_dir).resolve().parent.parent
        if path.resolve().is_relative_to(root):
            shown = path.resolve().relative_to(root)  # e.g. data/results/lab/ablation/table.md
        return f"<p><code>{html.escape(str(shown))}</code></p>" + markdown_table_to_html(
            path.read_text()
        )

    def _sync_toggles(self) -> None:
        switches = loss_kind(self.loss.value).switches_apply
        for box in self.toggles.values():
            box.disabled = not switches

    @property
    def config(self) -> dict[str, Any]:
        """The configuration the next Run passes to the runner."""
        cfg: dict[str, Any] = {
            "preset": self.preset.value,
            "loss": self.loss.value,
            "steps": int(self.steps.value),
            "seed": int(self.seed.value),
        }
        switches = loss_kind(self.loss.value).switches_apply
        for key, box in self.toggles.items():
            cfg[key] = bool(box.value) and switches
        return cfg

    def _on_progress(self, info: Progress) -> None:
        if not isinstance(info, Snapshot | StepProgress):
            raise TypeError(f"progress takes a Snapshot or StepProgress, got {type(info).__name__}")
        self.bar.max = max(1, int(info.steps))
        self.bar.value = min(int(info.step), self.bar.max)
        self.status.value = f"Run {self.runs + 1}: step {self.bar.value} / {self.bar.max}"
        if isinstance(info, StepProgress):  # a step report: the progress bar only
            return
        self.plot.clear_output(wait=True)
        with self.plot:  # interactive plotly, with a matplotlib PNG for renderers without JS
            viz.show_plotly(viz.plotly_lab_progress(info), fallback=viz.plot_lab_progress(info))

    def run(self) -> Results:
        """One run with the current controls (what the Run button does)."""
        cfg = self.config
        self.button.disabled = True
        self.bar.value = 0
        self.status.value = f"Run {self.runs + 1} running…"
        try:
            res = self.runner(cfg, self._on_progress)
        except Exception as err:
            self.status.value = f"Run {self.runs + 1} failed: {html.escape(str(err))}"
            raise
        finally:
            self.button.disabled = False
        if not isinstance(res, Results):
            raise TypeError(
                f"the runner must return scrapl_edu.lab.Results, got {type(res).__name__}"
            )
        self.runs += 1
        self.history.append({"config": cfg, "results": res})
        self.result.value = self._result_html(cfg, res)
        self.status.value = f"Run {self.runs} finished"
        return res

    def _audio(self, rec: dict[str, Any]) -> None:
        """Show the target and the encoder's reconstruction as players (after a run)."""
        self.last_audio = rec
        truth = ", ".join(f"{v:.2f}" for v in rec["theta"][0])
        guess = ", ".join(f"{v:.2f}" for v in rec["theta_hat"][0])
        self.sound.clear_output(wait=True)
        with self.sound:
            from IPython.display import display

            display(
                players(
                    {"target": rec["targets"][0], "reconstruction": rec["reconstructions"][0]},
                    int(rec["sr"]),
                    title=f"a test sound: θ = ({truth}), the encoder's θ̂ = ({guess})",
                )
            )

    def compare(self, switch: str | None = None, n_seeds: int | None = None) -> SwitchComparison:
        """Run the setting with ``switch`` off and on, on paired seeds (the Compare button).

        Seeds ``seed, seed + 1, ...`` (the seed box and ``n_seeds`` after it). Progress: the
        bar counts finished runs, the status line each running run's step. Then each seed's
        pair and the paired difference (on − off) with its 95% CI, p and seeds improved.
        """
        cfg = {**self.config, "loss": "scrapl"}
        switch = self.flip.value if switch is None else switch
        n = int(self.n_seeds.value if n_seeds is None else n_seeds)
        seeds = list(range(cfg["seed"], cfg["seed"] + n))
        self.compare_button.disabled = True
        self.compare_bar.max, self.compare_bar.value = 2 * n, 0
        self.compare_status.value = f"starting {2 * n} runs…"
        try:
            cmp = self.comparer(cfg, switch, seeds, self._on_compare_progress)
        except Exception as err:
            self.compare_status.value = f"compare failed: {html.escape(str(err))}"
            raise
        finally:
            self.compare_button.disabled = False
        if not isinstance(cmp, SwitchComparison):
            raise TypeError(
                f"the comparer must return a SwitchComparison, got {type(cmp).__name__}"
            )
        self.comparisons.append(cmp)
        item = cmp.paired()
        st = item.theta_l1
        self.compare_bar.value = self.compare_bar.max
        self.compare_status.value = (
            f"{html.escape(cmp.label)}: Δ θ L1 = {st.mean:+.1f} ± {st.ci:.1f} ‰ "
            f"(p = {st.p_t:.2g}), {st.improved}/{st.n} seeds improved, "
            f"{cmp.wall_s:.0f} s"
        )
        self.compare_out.clear_output(wait=True)
        with self.compare_out:
            from IPython.display import HTML, display

            display(HTML(self._compare_html(cmp)))
            _show(viz.plot_paired([item], title=f"{cmp.label}, paired seeds"))
        return cmp

    def _on_compare_progress(self, runs: list[RunStatus]) -> None:
        self.compare_bar.value = sum(r.state == "done" for r in runs)
        busy = [f"{r.arm} s{r.seed} {r.step}/{r.steps}" for r in runs if r.state == "running"]
        waiting = sum(r.state == "waiting" for r in runs)
        self.compare_status.value = (
            f"{self.compare_bar.value}/{len(runs)} runs done; running: "
            + (", ".join(busy) or "none")
            + (f"; {waiting} waiting" if waiting else "")
        )

    @staticmethod
    def _compare_html(cmp: SwitchComparison) -> str:
        name = cmp.label[2:]
        head = f"<tr><th>seed</th><th>{name} off</th><th>{name} on</th><th>Δ (on − off)</th></tr>"
        rows = []
        for s, a, b in zip(cmp.seeds, cmp.results["off"], cmp.results["on"], strict=True):
            d = b.test_theta_l1_permille - a.test_theta_l1_permille
            rows.append(
                f"<tr><td>{s}</td><td>{a.test_theta_l1_permille:.1f}</td>"
                f"<td>{b.test_theta_l1_permille:.1f}</td><td>{d:+.1f}</td></tr>"
            )
        return (
            "<table class='scrapl-table'><caption>test θ L1 (‰) per seed</caption>"
            f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def _result_html(self, cfg: dict[str, Any], res: Results) -> str:
        on = ", ".join(
            f"{TECHNIQUES[k][0].split(' ')[0]} {'on' if cfg.get(k) else 'off'}" for k in TECHNIQUES
        )
        pp = res.test_theta_l1_permille_per_param
        per = ", ".join(f"{k} {v:.1f} ‰" for k, v in pp.items())
        ms = res.ms_per_step
        rows = [
            f"<b>Run {self.runs}</b>: {html.escape(_tag(cfg))} on preset "
            f"<code>{html.escape(cfg['preset'])}</code>, {cfg['steps']} steps, seed {cfg['seed']}",
            f"techniques: {on}",
            f"final test θ L1: <b>{res.test_theta_l1_permille:.1f} ‰</b>"
            + (f" ({per})" if per else ""),
        ]
        if np.isfinite(ms):
            rows.append(f"{ms:.1f} ms per step on {html.escape(res.device)}")
        return "<br>".join(rows)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
