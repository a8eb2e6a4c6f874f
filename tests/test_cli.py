"""The ``scrapl-edu`` command (course, lab, docs) and the student edition without nbgrader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scrapl_edu import cli
from scrapl_edu.curriculum import notebook_sources, read_notebook, student_version
from scrapl_edu.edition import CODE_STUB, student_cells, student_notebook

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("src", notebook_sources(), ids=lambda p: p.stem)
def test_edition_equals_nbgrader_student_version(src: Path) -> None:
    """The dependency-free student edition gives nbgrader's cells, notebook by notebook."""
    nb = json.loads(src.with_suffix(".ipynb").read_text())
    ours = [c["source"] for c in student_notebook(nb)["cells"]]
    theirs = [c.source for c in student_version(read_notebook(src)).cells]
    assert ours == theirs


def test_edition_replaces_regions_and_refuses_a_leak() -> None:
    cells = [
        {
            "cell_type": "code",
            "metadata": {"nbgrader": {"solution": True}},
            "outputs": [1],
            "execution_count": 3,
            "source": "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
        },
        {
            "cell_type": "code",
            "metadata": {"nbgrader": {"solution": True}},
            "outputs": [],
            "execution_count": None,
            "source": "y = 42",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS",
        },
    ]
    out = student_cells(cells)
    assert out[0]["source"] == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert out[0]["outputs"] == [] and out[0]["execution_count"] is None
    assert out[1]["source"] == CODE_STUB
    assert out[2]["source"] == "assert f(1) == 2"
    assert cells[0]["outputs"] == [1], "the input is not modified"
    leak = [
        {"cell_type": "code", "metadata": {}, "source": "### BEGIN SOLUTION\nx\n### END SOLUTION"}
    ]
    with pytest.raises(ValueError, match="leak"):
        student_cells(leak)
    with pytest.raises(ValueError, match="END SOLUTION"):
        student_cells([{**cells[0], "source": "### BEGIN SOLUTION\nx = 1"}])


def test_course_writes_the_student_edition_and_keeps_a_students_work(tmp_path: Path) -> None:
    assert cli.main(["course", str(tmp_path)]) == 0
    written = sorted((tmp_path / "notebooks").glob("*.ipynb"))
    expected = sorted((ROOT / "notebooks").glob(cli.NOTEBOOK_GLOB))
    assert [p.stem for p in written] == [p.stem for p in expected]
    assert {p.stem for p in notebook_sources()} <= {p.stem for p in written}
    text = "".join(p.read_text() for p in written)
    assert "### BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    assert (tmp_path / "data" / "results").is_dir(), "the notebooks read ../data"
    written[0].write_text("my work")
    assert cli.main(["course", str(tmp_path)]) == 2, "refuses to overwrite"
    assert written[0].read_text() == "my work"
    assert cli.main(["course", str(tmp_path), "--force", "--solutions"]) == 0
    assert "### BEGIN SOLUTION" in "".join(p.read_text() for p in written)


def test_lab_delegates_to_the_lab_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["lab", "run", "--help"])
    assert exit_.value.code == 0
    assert "--preset" in capsys.readouterr().out


def test_lab_commands_work_without_lab_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["compare", "--help"])
    assert exit_.value.code == 0
    assert "--seeds" in capsys.readouterr().out


def test_python_m_scrapl_edu_lab_still_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "scrapl_edu.lab", "run", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0 and "--preset" in out.stdout, out.stderr


def test_docs_finds_the_built_site_or_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "CHECKOUT", tmp_path)
    monkeypatch.delenv("SCRAPL_EDU_SITE", raising=False)
    assert cli.main(["docs", "--print"]) == 1
    assert "make docs" in capsys.readouterr().err
    site = tmp_path / "docs" / "_build" / "student"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<html></html>")
    assert cli.main(["docs", "--print"]) == 0
    assert capsys.readouterr().out.strip() == str(site / "index.html")
