"""The measured sizes of ``scrapl_edu`` that the README's layout section states (issue 17).

Prints the sizes line: the number of modules, the largest file and the largest function (lines,
blank and comment lines included, as an editor shows them) and the number of import circles
(every import counted, type-only ones too: :mod:`tests.test_import_cycles`)::

    python tools/code_sizes.py            # the line, as the README has it
    python tools/code_sizes.py --check    # exit 1 when the README's line differs

``tests/test_code_sizes.py`` runs the check, so the README's numbers stay true.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scrapl_edu"
README = ROOT / "README.md"
#: the README line this tool writes starts with this
PREFIX = "Measured sizes"


def files() -> list[Path]:
    """The package's modules."""
    return sorted(PACKAGE.rglob("*.py"))


def largest_file() -> tuple[int, str]:
    """(lines, path relative to the repository) of the longest module."""
    return max((len(p.read_text().splitlines()), p.relative_to(ROOT).as_posix()) for p in files())


def functions() -> list[tuple[int, str]]:
    """(lines, ``module:qualified name``) of every function and method, longest first."""
    found: list[tuple[int, str]] = []
    for path in files():
        tree = ast.parse(path.read_text())
        module = path.relative_to(ROOT).as_posix()

        def visit(node: ast.AST, prefix: str, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = f"{prefix}{child.name}"
                    size = (child.end_lineno or child.lineno) - child.lineno + 1
                    found.append((size, f"{module}:{name}"))
                    visit(child, f"{name}.")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

        visit(tree, "")
    return sorted(found, reverse=True)


def circles() -> int:
    """Import circles among the package's modules (strongly connected components)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_import_cycles import circles as find  # noqa: PLC0415
    from test_import_cycles import import_graph  # noqa: PLC0415

    return len(find(import_graph("scrapl_edu")))


def sizes_line() -> str:
    """The README's sizes line, measured now."""
    n_file, biggest = largest_file()
    n_fun, fun = functions()[0]
    return (
        f"{PREFIX}: {len(files())} modules; the largest file is `{biggest}` ({n_file} lines); "
        f"the largest function is `{fun}` ({n_fun} lines); import circles: {circles()}."
    )


def readme_line() -> str | None:
    """The README's sizes line as written (None when it has none); it starts with
    :func:`sizes_line` and may go on with a note."""
    for line in README.read_text().splitlines():
        if line.startswith(PREFIX):
            return line
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the README's line")
    args = ap.parse_args(argv)
    line = sizes_line()
    if not args.check:
        print(line)
        return 0
    written = readme_line()
    if written is None or not written.startswith(line):
        print(f"README says:\n  {written}\nmeasured:\n  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
