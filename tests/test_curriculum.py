"""The course's format contract (scrapl_edu.curriculum) on the real notebooks, and the
student edition written by ``make exercises``.

* every notebook ``notebooks/NN_*.py``: a header (title, objectives, prerequisites, study
  time, paper sections), an assert of its own outside the exercises, a recap with
  previous/next links to the neighbouring notebooks and the paper's references;
* exercises: nbgrader cells that round-trip through jupytext, well formed, 30 at least;
* the glossary (notebook 00) defines the required terms and every term a notebook sets in
  bold, and its terms are the notebooks' words;
* the student edition holds no solution text, each answer cell raises NotImplementedError,
  and executed (fast mode) its graded cells fail, while the solutions pass them.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from scrapl_edu import curriculum as cur

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
SOURCES = cur.notebook_sources(NB)
NUMBERS = [p.name[:2] for p in SOURCES]
MIN_EXERCISES = 30  # issue 20: at least 30, 8 of them build-it (tests/test_grading.py)

#: terms every course about SCRAPL must define (issue 11's list, then the rest of the core)
REQUIRED_TERMS = [
    "path",
    "rate",
    "scale",
    "spin",
    "cycles/octave",
    "velocity",
    "‰",
    "P-loss",
    "θ box",
    "wavelet",
    "scalogram",
    "Littlewood–Paley sum",
    "JTFS",
    "scattering transform",
    "chirplet",
    "AM",
    "FM",
    "MSS",
    "SCRAPL",
    "P-Adam",
    "P-SAGA",
    "θ-IS",
    "importance sampling",
    "Hessian-vector product",
    "power iteration",
    "unbiased",
    "encoder",
    "synth",
    "θ L1",
    "fast mode",
]


@pytest.fixture(scope="module")
def notebooks() -> dict[str, object]:
    return {p.name[:2]: cur.read_notebook(p) for p in SOURCES}


@pytest.fixture(scope="module")
def glossary(notebooks) -> dict[str, list[str]]:
    assert "00" in notebooks, "notebooks/00_start_here.py holds the glossary"
    entries = cur.glossary(notebooks["00"])
    assert len(entries) >= 40, f"the glossary is too short: {len(entries)} entries"
    return entries


def ids(p: Path) -> str:
    return p.stem


# ----------------------------------------------------------------------------- scaffolding
@pytest.mark.parametrize("py", SOURCES, ids=ids)
def test_header(py: Path, notebooks) -> None:
    header = cur.parse_header(notebooks[py.name[:2]], py)
    assert header.number == py.name[:2], f"title number {header.number} vs file {py.name}"
    assert len(header.objectives) >= 2, header.objectives
    assert 5 <= header.study_minutes <= 180, header.study_minutes
    assert re.search(r"Section|Appendix|Algorithm|Eq", header.paper), header.paper
    later = [n for n in header.prerequisite_numbers if n >= header.number]
    assert not later, f"prerequisites must come earlier in the course: {later}"


@pytest.mark.parametrize("py", SOURCES, ids=ids)
def test_recap_links_point_to_the_neighbours(py: Path, notebooks) -> None:
    recap = cur.parse_recap(notebooks[py.name[:2]])
    assert len(recap.bullets) >= 2, recap.bullets
    assert re.search(r"Section|Appendix|Algorithm|Eq", recap.references), recap.references
    i = SOURCES.index(py)
    want_prev = SOURCES[i - 1].with_suffix(".ipynb").name if i > 0 else None
    want_next = SOURCES[i + 1].with_suffix(".ipynb").name if i + 1 < len(SOURCES) else None
    assert recap.previous == want_prev, f"**Previous** links {recap.previous}, not {want_prev}"
    assert recap.next == want_next, f"**Next** links {recap.next}, not {want_next}"
    for target in (recap.previous, recap.next):
        if target:
            assert (NB / target).is_file(), f"link to a missing file: {target}"


@pytest.mark.parametrize("py", SOURCES, ids=ids)
def test_an_assert_outside_the_exercises(py: Path, notebooks) -> None:
    assert cur.asserts_outside_exercises(notebooks[py.name[:2]]) >= 1


def test_header_parser_reports_what_is_missing() -> None:
    nb = jupytext.reads("# %% [markdown]\n# # 3 · Old style\n#\n# **Idea.** x\n", fmt="py:percent")
    problems = cur.header_problems(nb)
    assert any("# NN · Title" in p for p in problems)
    assert any("Objectives" in p for p in problems) and any("Study time" in p for p in problems)
    with pytest.raises(ValueError, match="Objectives"):
        cur.parse_header(nb)
    with pytest.raises(ValueError, match="Recap"):
        cur.parse_recap(nb)


#: notebooks that must let the student hear what they show (issue 11: synth examples, a
#: chirplet before and after a shift, the lab's target against each reconstruction)
AUDIO_NOTEBOOKS = ("00", "01", "03", "08")


@pytest.mark.parametrize("number", AUDIO_NOTEBOOKS)
def test_sound_players(number: str, notebooks) -> None:
    if number not in notebooks:
        pytest.fail(f"notebook {number} is missing")
    code = cur.notebook_text(notebooks[number], kinds=("code",))
    assert re.search(r"\b(audio|players)\(", code) and "scrapl_edu.sound" in code, (
        f"notebook {number} plays no sound: use scrapl_edu.sound.audio / players"
    )


# ----------------------------------------------------------------------------- exercises
@pytest.mark.parametrize("py", SOURCES, ids=ids)
def test_exercises_are_well_formed_and_round_trip(py: Path, notebooks) -> None:
    nb = notebooks[py.name[:2]]
    found = cur.exercises(nb, py.name[:2])
    for ex in found:
        assert not ex.problems, f"{ex.grade_id}: {ex.problems}"
    text = py.read_text()
    if "nbgrader=" in text:
        # jupytext keeps the nbgrader metadata only if the filter lists it
        head = text.split("# ---", 2)[1]
        assert re.search(r"cell_metadata_filter:.*\bnbgrader\b", head), (
            f"{py.name}: add nbgrader to cell_metadata_filter, or the .ipynb loses the answers' "
            "metadata"
        )
        paired = jupytext.read(py.with_suffix(".ipynb"))
        meta = [c.metadata.get("nbgrader") for c in nb.cells]
        assert [c.metadata.get("nbgrader") for c in paired.cells] == meta
    assert "BEGIN SOLUTION" not in text or found, f"{py.name}: solution markers without metadata"


def test_at_least_30_exercises(notebooks) -> None:
    counts = {n: len(cur.exercises(nb)) for n, nb in notebooks.items()}
    assert sum(counts.values()) >= MIN_EXERCISES, f"exercises per notebook: {counts}"


def test_exercise_checker_catches_mistakes() -> None:
    src = (
        "# %% nbgrader={'grade': false, 'grade_id': 'ex_03_1', 'solution': true}\n"
        "x = 1\n"
        "# %% nbgrader={'grade': true, 'grade_id': 'ex_03_1_test', 'locked': false, 'points': 0}\n"
        "print(x)\n"
    ).replace("'", '"')
    nb = jupytext.reads(src, fmt="py:percent")
    (ex,) = cur.exercises(nb, "03")
    text = " ".join(ex.problems)
    assert "BEGIN SOLUTION" in text and "locked" in text and "no points" in text
    assert "no assert" in text
    (ex,) = cur.exercises(nb, "04")
    assert any("ex_04_k" in p for p in ex.problems)


# ----------------------------------------------------------------------------- glossary
def test_glossary_defines_the_required_terms(glossary) -> None:
    missing = [t for t in REQUIRED_TERMS if not cur.defines(glossary, t)]
    assert not missing, f"terms missing from the glossary of 00_start_here: {missing}"


@pytest.mark.parametrize("py", [p for p in SOURCES if p.name[:2] != "00"], ids=ids)
def test_bold_terms_are_in_the_glossary(py: Path, notebooks, glossary) -> None:
    undefined = sorted(
        t for t in cur.bold_terms(notebooks[py.name[:2]]) if not cur.defines(glossary, t)
    )
    assert not undefined, (
        f"{py.name} sets {undefined} in bold, which marks a glossary term: define them in "
        "00_start_here's glossary (or use *italics* for emphasis)"
    )


def test_glossary_terms_are_the_courses_words(notebooks, glossary) -> None:
    """Each glossary term occurs in a notebook other than 00, the README or the library's
    sources (where a student meets it): a term found nowhere is a typo or a stale entry."""
    text = "\n".join(cur.notebook_text(nb) for n, nb in notebooks.items() if n != "00")
    text += "\n" + (ROOT / "README.md").read_text()
    for src in sorted((ROOT / "scrapl_edu").rglob("*.py")):
        if src.name != "curriculum.py":
            text += "\n" + src.read_text()
    unused = [
        t
        for t, names in glossary.items()
        if not any(cur.term_pattern(n).search(text) for n in names)
    ]
    assert not unused, f"glossary terms the course never uses (a typo, or a stale entry): {unused}"


def test_term_matching() -> None:
    entries = {"path": ["path"], "cycles/octave": ["cycles/octave", "c/o"], "‰": ["‰", "per mille"]}
    assert cur.defines(entries, "paths") and cur.defines(entries, "The path")
    assert cur.defines(entries, "Cycles/Octave") and cur.defines(entries, "per mille")
    assert not cur.defines(entries, "pathway") and not cur.defines(entries, "octave")
    assert cur.term_pattern("θ-IS").search("with θ–IS on") and cur.term_pattern("‰").search("12 ‰")
    nb = jupytext.reads(
        "# %% [markdown]\n# a **scalogram**, **Objectives**, **not** `**x**`\n", fmt="py:percent"
    )
    assert cur.bold_terms(nb) == {"scalogram", "not"}


# ----------------------------------------------------------------------------- student edition
@pytest.fixture(scope="module")
def student(tmp_path_factory) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT / "tools"))
    import make_exercises

    out = tmp_path_factory.mktemp("exercises")
    written = make_exercises.build(out)
    return {p.name[:2]: p for p in written}


def test_student_edition_has_no_solutions(student, notebooks) -> None:
    assert sorted(student) == NUMBERS
    for number, path in student.items():
        solution_nb = notebooks[number]
        nb = nbformat.read(path, as_version=4)
        assert len(nb.cells) == len(solution_nb.cells)
        assert "jupytext" not in nb.metadata
        for cell, orig in zip(nb.cells, solution_nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            if meta.get("solution"):
                for block in cur.SOLUTION.findall(orig.source):
                    for line in (ln.strip() for ln in block.splitlines()):
                        if re.search(r"\w", line):  # no line of the answer survives (")" alone can)
                            assert line not in cell.source, f"{path.name}: {line!r} left"
                stub = (
                    "raise NotImplementedError()"
                    if cell.cell_type == "code"
                    else "YOUR ANSWER HERE"
                )
                assert stub in cell.source
            else:
                assert cell.source == orig.source, f"{path.name}: a non-answer cell changed"


def _executed(path: Path, upto: int | None = None):
    """Run a notebook (fast mode, one thread) in notebooks/, errors kept in the outputs."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4) if isinstance(path, Path) else path
    if upto is not None:
        nb.cells = nb.cells[: upto + 1]
    env = dict(os.environ, SCRAPL_EDU_FAST="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    client = NotebookClient(
        nb,
        timeout=300,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(NB)}},
    )
    client.execute(env=env)
    return nb


def _graded_errors(nb) -> dict[str, str | None]:
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            errs = [o for o in cell.outputs if o.output_type == "error"]
            out[meta["grade_id"]] = errs[0].ename if errs else None
    return out


def _student_targets(student, notebooks) -> list[str]:
    """00, and the first other notebook with exercises (``SCRAPL_EDU_STUDENT_NOTEBOOKS``
    can name others, comma-separated)."""
    env = os.environ.get("SCRAPL_EDU_STUDENT_NOTEBOOKS", "").strip()
    if env:
        return [n.strip() for n in env.split(",")]
    others = [n for n in NUMBERS if n != "00" and cur.exercises(notebooks[n])]
    return ["00"] + others[:1]


@pytest.mark.slow
def test_student_graded_cells_fail_until_answered(student, notebooks) -> None:
    for number in _student_targets(student, notebooks):
        nb = nbformat.read(student[number], as_version=4)
        graded = [
            i
            for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
        ]
        assert graded, f"{number} has no graded cell"
        result = _graded_errors(_executed(nb, upto=max(graded)))
        passing = [gid for gid, err in result.items() if err is None]
        assert not passing, f"{number}: graded cells pass without an answer: {passing}"


@pytest.mark.slow
def test_solutions_pass_their_graded_cells(notebooks) -> None:
    """The control: the same cells with the answers in (notebook 00; nbmake runs them all)."""
    nb = jupytext.read(NB / "00_start_here.py")
    result = _graded_errors(_executed(nb))
    assert result and all(err is None for err in result.values()), result


def test_nbgrader_course_source(tmp_path) -> None:
    """``tools/make_course.py source`` writes one nbgrader assignment per notebook, with the
    cell metadata nbgrader needs (the full grading run is ``make grade-check``)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import make_course

    written = make_course.write_source(tmp_path)
    assert [p.parent.name for p in written] == [p.stem for p in SOURCES]
    for path in written:
        assert (
            path.parent.parent == tmp_path / "source" and path.name == f"{path.parent.name}.ipynb"
        )
        nb = nbformat.read(path, as_version=4)
        assert "jupytext" not in nb.metadata
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, f"{path.name}: no graded cell"
        assert all(c.metadata["nbgrader"]["schema_version"] == 3 for c in graded)
    assert (ROOT / "nbgrader_config.py").is_file()
