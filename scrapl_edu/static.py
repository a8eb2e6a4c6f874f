"""Widgets frozen into static HTML, for the read-only edition of the course (``make book``).

An executed notebook stores a widget as a *view* output (``application/vnd.jupyter.widget-view+json``:
a model id) and the models' states in its metadata (``widgets`` ->
``application/vnd.jupyter.widget-state+json``). A live page needs the ipywidgets JavaScript
manager, fetched from a CDN, to draw them; offline, or in any static copy, the path explorer,
the toggle panels and the dashboard show nothing.

:func:`freeze_widgets` replaces every view output by plain HTML drawn from the saved state: a
box becomes a ``div``, controls become disabled HTML controls showing their value, an
``Output`` widget becomes the outputs it captured (nbclient records them while it executes
the notebook: the figures the widget drew by its default action, as PNG), an ``HTML`` widget
its markup. Nothing in :mod:`scrapl_edu.widgets` has to change: every panel runs its default
action when built, so its saved state holds the default figure.

Only the standard ``@jupyter-widgets/controls`` and ``output`` models are drawn; an unknown
model is shown as its class name and value, so nothing silently disappears.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = [
    "FrozenReport",
    "STATE_MIME",
    "VIEW_MIME",
    "freeze_widgets",
    "output_html",
    "render_widget",
]

VIEW_MIME = "application/vnd.jupyter.widget-view+json"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
#: output mimetypes drawn inside a frozen Output widget, best first
_PRIORITY = ("image/png", "image/jpeg", "image/svg+xml", "text/html", "text/markdown", "text/plain")
_CSS = (
    "<style>.scrapl-static{font-family:var(--jp-ui-font-family,sans-serif);margin:.3em 0}"
    ".scrapl-static-row{display:flex;flex-wrap:wrap;gap:.6em;align-items:flex-start}"
    ".scrapl-static-col{display:flex;flex-direction:column;gap:.3em}"
    ".scrapl-static img{max-width:100%;height:auto}"
    ".scrapl-static-note{color:#666;font-size:85%;font-style:italic}</style>"
)


class FrozenReport(dict):
    """What :func:`freeze_widgets` did: ``frozen`` views, ``missing`` models (ids)."""

    @property
    def frozen(self) -> int:
        return int(self.get("frozen", 0))

    @property
    def missing(self) -> list[str]:
        return list(self.get("missing", []))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_html(output: dict[str, Any], states: dict[str, Any], _depth: int = 0) -> str:
    """One nbformat output (stream, display data, error) as HTML; widget views recurse."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"<pre>{html.escape(_text(output.get('text', '')))}</pre>"
    if kind == "error":
        return f"<pre>{html.escape(output.get('ename', ''))}: {html.escape(output.get('evalue', ''))}</pre>"
    data = output.get("data", {})
    if VIEW_MIME in data:
        return render_widget(data[VIEW_MIME]["model_id"], states, _depth + 1)
    for mime in _PRIORITY:
        if mime not in data:
            continue
        value = _text(data[mime])
        if mime in ("image/png", "image/jpeg"):
            alt = html.escape(_text(data.get("text/plain", "figure")))
            return (
                f"<img class='scrapl-static-figure' alt='{alt}' "
                f"src='data:{mime};base64,{value.strip()}'>"
            )
        if mime in ("image/svg+xml", "text/html"):
            return value
        if mime == "text/markdown":
            from markdown_it import MarkdownIt  # deferred: only frozen markdown outputs need it

            return MarkdownIt("commonmark").enable("table").render(value)
        return f"<pre>{html.escape(value)}</pre>"
    return ""


def _label(state: dict[str, Any]) -> str:
    desc = state.get("description") or ""
    return f"<label>{html.escape(desc)}</label> " if desc else ""


def render_widget(model_id: str, states: dict[str, Any], _depth: int = 0) -> str:
    """HTML for the widget ``model_id`` and its children, from the saved ``states``
    (model id -> ``{"model_name", "state", ...}``)."""
    if _depth > 50:
        raise ValueError("widget nesting deeper than 50: is a box its own child?")
    model = states.get(model_id)
    if model is None:
        return "<div class='scrapl-static-note'>(a widget whose state was not saved)</div>"
    name = model.get("model_name", "")
    st = model.get("state", {})
    classes = " ".join(html.escape(c) for c in st.get("_dom_classes", []))
    if name in ("VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel"):
        layout = "scrapl-static-row" if name == "HBoxModel" else "scrapl-static-col"
        kids = "".join(
            render_widget(str(child).removeprefix("IPY_MODEL_"), states, _depth + 1)
            for child in st.get("children", [])
        )
        return f"<div class='{layout} {classes}'>{kids}</div>"
    if name == "OutputModel":
        inner = "".join(output_html(o, states, _depth) for o in st.get("outputs", []))
        return f"<div class='scrapl-static-output {classes}'>{inner}</div>"
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div class='{classes}'>{_label(st)}{st.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<span class='{classes}'>{html.escape(str(st.get('value', '')))}</span>"
    if name in ("CheckboxModel", "ToggleButtonModel"):
        checked = " checked" if st.get("value") else ""
        return (
            f"<label class='{classes}'><input type='checkbox' disabled{checked}> "
            f"{html.escape(st.get('description', ''))}</label>"
        )
    if name == "ButtonModel":
        return (
            f"<button class='{classes}' disabled>{html.escape(st.get('description', ''))}</button>"
        )
    if name in ("DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel"):
        labels = st.get("_options_labels", [])
        index = st.get("index")
        shown = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else ""
        return (
            f"<span class='{classes}'>{_label(st)}<select disabled>"
            f"<option selected>{html.escape(str(shown))}</option></select></span>"
        )
    if name in ("IntProgressModel", "FloatProgressModel"):
        return (
            f"<span class='{classes}'>{_label(st)}<progress value='{st.get('value', 0)}' "
            f"max='{st.get('max', 100)}'></progress></span>"
        )
    if "value" in st:  # sliders, text boxes, numbers: their value, read-only
        return (
            f"<span class='{classes}'>{_label(st)}<input disabled "
            f"value='{html.escape(str(st.get('value')))}'></span>"
        )
    if name.endswith("LayoutModel") or name.endswith("StyleModel"):
        return ""
    return f"<div class='scrapl-static-note'>({html.escape(name)})</div>"


def freeze_widgets(nb: Any) -> FrozenReport:
    """Replace every widget view output of an executed notebook by static HTML, in place.

    The saved widget state is removed from the metadata afterwards (a page then loads no
    widget JavaScript). Returns how many views were frozen and the ids of views whose model
    was not saved (drawn as a note; a build should treat them as an error).
    """
    meta = nb.get("metadata", {})
    states = meta.get("widgets", {}).get(STATE_MIME, {}).get("state", {})
    frozen, missing = 0, []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if VIEW_MIME not in data:
                continue
            model_id = data[VIEW_MIME]["model_id"]
            if model_id not in states:
                missing.append(model_id)
            body = render_widget(model_id, states)
            output["data"] = {
                "text/html": f"{_CSS}<div class='scrapl-static'>{body}"
                "<div class='scrapl-static-note'>A frozen copy of the widget after its default "
                "action; run the notebook to use it.</div></div>",
                "text/plain": _text(data.get("text/plain", "widget")),
            }
            frozen += 1
    if "widgets" in meta:
        del meta["widgets"]
    return FrozenReport(frozen=frozen, missing=missing)
