"""nbgrader configuration of the scrapl-edu course (offline: no exchange, no JupyterHub).

The course directory ``course/`` is build output (git-ignored): ``tools/make_course.py``
writes ``course/source/<assignment>/`` from the jupytext sources ``notebooks/NN_*.py``, one
assignment per notebook (named like the notebook, e.g. ``04_random_paths``). Then the
ordinary nbgrader commands work from the repository root::

    .venv/bin/python tools/make_course.py source            # course/source/ from notebooks/
    .venv/bin/nbgrader generate_assignment 04_random_paths  # course/release/04_random_paths/
    .venv/bin/nbgrader autograde 04_random_paths --create   # grades course/submitted/*/
    .venv/bin/nbgrader formgrader                           # hand-grade the capstone (08)

``make grade-check`` does all of it on the solution edition and on the blank student
edition (see docs/instructor_guide.md).
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = str(Path(__file__).resolve().parent / "course")
c.CourseDirectory.course_id = "scrapl-edu"
# the stubs of the student edition (the same as `make exercises`, scrapl_edu.curriculum)
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# notebooks train small models (08, 10): a cell may take minutes in classroom mode
c.Execute.timeout = 900
c.Execute.interrupt_on_timeout = True
