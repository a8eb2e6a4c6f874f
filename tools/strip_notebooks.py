"""Strip outputs and execution counts from the paired notebooks (run after ``jupytext --sync``).

.venv/bin/jupytext --sync notebooks/*.py && .venv/bin/python tools/strip_notebooks.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def strip(path: Path) -> bool:
    """Remove outputs / execution counts in place; True if the file changed."""
    text = path.read_text()
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        path.write_text(new)
        return True
    return False


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1] / "notebooks"
    paths = [Path(p) for p in sys.argv[1:]] or sorted(root.glob("*.ipynb"))
    changed = [p.name for p in paths if strip(p)]
    print("stripped:", ", ".join(changed) if changed else "nothing to do")
