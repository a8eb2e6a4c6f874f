"""No import circle among scrapl_edu's modules, of any kind (issue 17 item 8).

import-linter's layers contract forbids imports upwards between layers; a circle inside one
layer (two modules of the same package importing each other) passes it. This test reads the
import graph with grimp (the library import-linter is built on), which counts every import:
at module level, inside functions, and those under ``if TYPE_CHECKING:`` (a type-only circle
still ties two modules together: neither can be read, moved or tested without the other).
Break a circle by moving the shared name to the lower module or by a ``Protocol`` there
(``scrapl_edu.synths.common.SynthConfig``, ``scrapl_edu.lab.data.DataSpec``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Set
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")


def import_graph(package: str) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports (every kind of import, see above)."""
    graph = grimp.build_graph(package, cache_dir=None, exclude_type_checking_imports=False)
    return {
        m: {t for t in graph.find_modules_directly_imported_by(m) if t.split(".")[0] == package}
        for m in graph.modules
    }


def circles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import):
    each is one or more import circles (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1 or v in graph[v]:
                        found.append(sorted(component))
    return found


def test_scrapl_edu_has_no_import_circle():
    found = circles(import_graph("scrapl_edu"))
    assert not found, "import circles (type-only imports count): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_the_check_sees_type_only_and_function_level_circles(tmp_path: Path, monkeypatch):
    """The check itself can fail: a circle closed only under TYPE_CHECKING, one closed by an
    import inside a function, and a clean pair."""
    pkg = tmp_path / "circlepkg"
    pkg.mkdir()
    files = {
        "__init__.py": "",
        "low.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from circlepkg.high import High
            def f(h: "High") -> None: ...
        """,
        "high.py": "from circlepkg.low import f\nclass High: ...\n",
        "a.py": "def g():\n    from circlepkg import b\n",
        "b.py": "import circlepkg.a\n",
        "clean_top.py": "from circlepkg.clean_bottom import x\n",
        "clean_bottom.py": "x = 1\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    found = circles(import_graph("circlepkg"))
    assert sorted(found) == [
        ["circlepkg.a", "circlepkg.b"],
        ["circlepkg.high", "circlepkg.low"],
    ]
    assert circles({"x": {"x"}, "y": set()}) == [["x"]]  # a module importing itself
