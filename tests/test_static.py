"""scrapl_edu.static: widgets frozen into static HTML from the state an executed notebook saved.

One test executes a small notebook with nbclient (as ``make book`` does) whose widget draws a
matplotlib figure into an ``Output`` by its default action, the way the course's panels do;
the frozen HTML must hold that figure as a PNG, the controls with their values, and no
widget view or widget state may remain.
"""

from __future__ import annotations

import base64
import os
import re

import nbformat
import pytest

from scrapl_edu.static import STATE_MIME, VIEW_MIME, freeze_widgets, render_widget

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nnot really").decode()


def _nb_with(states: dict, view: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("panel")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={VIEW_MIME: {"model_id": view}, "text/plain": "VBox()"}
        )
    ]
    nb.cells = [cell]
    nb.metadata["widgets"] = {STATE_MIME: {"state": states, "version_major": 2}}
    return nb


def _model(name: str, **state) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def test_saved_state_becomes_html() -> None:
    states = {
        "box": _model("VBoxModel", children=["IPY_MODEL_row", "IPY_MODEL_out"]),
        "row": _model("HBoxModel", children=["IPY_MODEL_chk", "IPY_MODEL_dd", "IPY_MODEL_btn"]),
        "chk": _model("CheckboxModel", value=True, description="P-SAGA (Eq. 9)"),
        "dd": _model("DropdownModel", _options_labels=["path 0", "path 7"], index=1),
        "btn": _model("ButtonModel", description="Run", _dom_classes=["scrapl-run-button"]),
        "out": _model(
            "OutputModel",
            outputs=[
                {"output_type": "stream", "name": "stdout", "text": "a < b\n"},
                {
                    "output_type": "display_data",
                    "data": {"image/png": PNG, "text/plain": "<Figure>"},
                },
                {
                    "output_type": "display_data",
                    "data": {"text/markdown": "| a |\n|---|\n| **1** |"},
                },
            ],
        ),
    }
    nb = _nb_with(states, "box")
    report = freeze_widgets(nb)
    assert report.frozen == 1 and report.missing == []
    assert "widgets" not in nb.metadata
    page = nb.cells[0].outputs[0]["data"]["text/html"]
    assert VIEW_MIME not in nb.cells[0].outputs[0]["data"]
    assert f"src='data:image/png;base64,{PNG}'" in page
    assert "<input type='checkbox' disabled checked> P-SAGA (Eq. 9)" in page
    assert "<option selected>path 7</option>" in page
    assert "scrapl-run-button' disabled>Run</button>" in page
    assert "a &lt; b" in page  # text is escaped
    assert "<table>" in page and "<strong>1</strong>" in page  # markdown rendered
    assert page.index("P-SAGA") < page.index("data:image/png")  # children in order


def test_missing_and_unknown_models_are_visible() -> None:
    nb = _nb_with({"w": _model("FancyModel")}, "gone")
    report = freeze_widgets(nb)
    assert report.missing == ["gone"]
    assert "state was not saved" in nb.cells[0].outputs[0]["data"]["text/html"]
    assert "(FancyModel)" in render_widget("w", {"w": _model("FancyModel")})
    loop = {"a": _model("VBoxModel", children=["IPY_MODEL_a"])}
    with pytest.raises(ValueError, match="nesting"):
        render_widget("a", loop)


@pytest.mark.slow
def test_executed_widget_keeps_its_default_figure() -> None:
    from nbclient import NotebookClient

    source = """
import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display
out = W.Output()
box = W.Checkbox(value=True, description="P-Adam")
with out:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    display(fig)
    plt.close(fig)
    print("drawn by the default action")
W.VBox([box, W.HTML("<b>path 3</b>"), out])
"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    env = dict(
        os.environ, OMP_NUM_THREADS="1", MPLBACKEND="module://matplotlib_inline.backend_inline"
    )
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute(env=env)
    assert VIEW_MIME in nb.cells[0].outputs[-1]["data"], nb.cells[0].outputs
    report = freeze_widgets(nb)
    assert report.frozen == 1 and not report.missing
    page = nb.cells[0].outputs[-1]["data"]["text/html"]
    figures = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(figures) == 1 and base64.b64decode(figures[0])[:4] == b"\x89PNG"
    assert "drawn by the default action" in page and "<b>path 3</b>" in page
    assert "checked> P-Adam" in page
