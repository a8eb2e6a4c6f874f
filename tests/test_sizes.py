"""No function in scrapl_edu/ is over 100 lines unless its docstring says why (issue 17).

Every function and method (nested ones included) is measured with :mod:`ast` from its
``def`` line to its last line, docstring and comments included (decorators are not counted).
One over :data:`MAX_LINES` passes only if a line of its docstring starts with
:data:`MARKER`, followed by the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scrapl_edu

MAX_LINES = 100
#: a docstring line starting with this (after indentation) explains a long function
MARKER = "Long because:"
PACKAGE = Path(scrapl_edu.__file__).resolve().parent

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, Function]]:
    """Every function in ``tree`` with its qualified name (``Class.method``, ``f.inner``)."""
    found = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, Function):
            found.append((prefix + node.name, node))
        if isinstance(node, Function | ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
        elif not isinstance(node, ast.expr):  # if/try/with blocks at any level
            found += _functions(node, prefix)
    return found


def _lines(node: Function) -> int:
    return node.end_lineno - node.lineno + 1


def _says_why(node: Function) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(line.strip().startswith(MARKER) for line in doc.splitlines())


def _measure(source: str, file: str) -> dict[str, tuple[int, bool]]:
    """``"file::qualname" -> (lines, docstring says why)`` for every function of ``source``."""
    return {
        f"{file}::{name}": (_lines(node), _says_why(node))
        for name, node in _functions(ast.parse(source))
    }


def _package_functions() -> dict[str, tuple[int, bool]]:
    sizes: dict[str, tuple[int, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        sizes.update(
            _measure(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix())
        )
    return sizes


@pytest.fixture(scope="module")
def sizes() -> dict[str, tuple[int, bool]]:
    return _package_functions()


def test_no_function_over_the_limit_without_a_reason(sizes) -> None:
    long = {name: n for name, (n, why) in sizes.items() if n > MAX_LINES and not why}
    assert not long, (
        f"functions over {MAX_LINES} lines (split them into named steps, or start a line of "
        f"the docstring with {MARKER!r} and the reason): {long}"
    )


def test_reasons_are_only_on_long_functions(sizes) -> None:
    marked = {name: n for name, (n, why) in sizes.items() if why and n <= MAX_LINES}
    assert not marked, f"{MARKER!r} on functions within {MAX_LINES} lines: drop it: {marked}"


def test_the_measure_itself() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(98))
    source = (
        "class A:\n"
        "    def f(self):\n" + "\n".join("    " + line for line in body.splitlines()) + "\n"
        "        def inner():\n"
        "            pass\n"
        "if True:\n"
        "    def g():\n"
        '        """Short.\n\n        Long because: a table.\n        """\n'
    )
    sizes = _measure(source, "m.py")
    assert sizes["m.py::A.f"] == (101, False)  # def line + 98 + inner's 2 lines
    assert sizes["m.py::A.f.inner"] == (2, False)
    assert sizes["m.py::g"] == (5, True)
