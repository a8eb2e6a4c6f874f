"""The typed ``summary.json`` (:class:`scrapl_edu.lab.summary.Summary`).

Every committed summary loads and gives back its own JSON (byte for byte where it was
written by ``aggregate``; value for value for the two refreshed before titles were kept,
whose top-level key order is the documented normalisation); a key the format does not
define, at any level, is refused with its name and the file's.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scrapl_edu.lab.summary import CI, PairedRows, Summary, SummaryEntry

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "data" / "results").rglob("summary.json"))
#: summaries whose ``title`` and ``paired`` were appended after ``entries`` by an older
#: ``refresh_summary``: the only ones ``to_dict`` writes in another key order
TITLE_AFTER_ENTRIES = {"lab/ablation", "lab/theta_is"}


def _name(f: Path) -> str:
    return f.parent.relative_to(ROOT / "data" / "results").as_posix()


def test_the_committed_summaries_are_found():
    names = {_name(f) for f in COMMITTED}
    assert len(COMMITTED) >= 17
    assert {"lab/v2/ablation", "lab/drums", "lab/losses", "lab/paper_regime/chirplet"} <= names


@pytest.mark.parametrize("f", COMMITTED, ids=_name)
def test_every_committed_summary_round_trips(f: Path):
    text = f.read_text(encoding="utf-8")
    summary = Summary.load(f)
    # value for value (NaN included: compared as JSON text, keys sorted)
    got = json.dumps(summary.to_dict(), sort_keys=True)
    assert got == json.dumps(json.loads(text), sort_keys=True)
    if _name(f) in TITLE_AFTER_ENTRIES:
        assert list(json.loads(text)) == ["presets", "rows", "seeds", "entries", "title", "paired"]
        assert list(summary.to_dict()) == ["presets", "rows", "seeds", "title", "entries", "paired"]
    else:  # byte for byte, key order included
        assert summary.to_json() == text
    # typed all the way down
    assert summary.entries and all(isinstance(e, SummaryEntry) for e in summary.entries)
    for e in summary.entries:
        assert isinstance(e.theta_l1, CI) and set(e.param_l1) == set(e.param_names)
        if e.per_seed is not None:
            assert len(e.per_seed.metrics["theta_l1"]) == len(e.per_seed.seeds)
    assert all(isinstance(p, PairedRows) for p in summary.paired or [])


def test_save_writes_what_load_reads(tmp_path):
    f = next(f for f in COMMITTED if _name(f) == "lab/drums")
    summary = Summary.load(f.parent)
    assert summary.save(tmp_path) == tmp_path / "summary.json"
    assert (tmp_path / "summary.json").read_bytes() == f.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left
    e = summary.entries[0]
    assert e.drum is not None and e.drum["mss"].mean == e.drum["mss"][0]
    assert math.isnan(e.conv_steps.half)  # no run converged: (NaN, NaN), as written


def _committed_dict() -> dict:
    f = next(f for f in COMMITTED if _name(f) == "lab/v2/ablation")
    return json.loads(f.read_text())


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.update(note="x"), r"^src\.json is not a comparison summary: unknown keys \['note'\]"),
        (lambda d: d["entries"][1].update(colour="red"), r"^src\.json: entries\[1\] has unknown keys \['colour'\]"),
        (lambda d: d["entries"][0].update(density_l1=[1, 2]), r"entries\[0\] has unknown keys \['density_l1'\]"),
        (lambda d: d["entries"][0]["per_seed"].pop("seeds"), r"entries\[0\]\.per_seed has no 'seeds'"),
        (lambda d: d["entries"][0]["applied_diag"].update(x=1), r"entries\[0\]\.applied_diag has unknown keys \['x'\]"),
        (lambda d: d["paired"][0]["theta_l1"].update(z=0), r"paired\[0\]\.theta_l1 has unknown keys \['z'\]"),
        (lambda d: d["paired"][0]["theta_l1"].pop("p_t"), r"paired\[0\]\.theta_l1 has no 'p_t'"),
        (lambda d: d["entries"][0].pop("am_hz_l1"), r"entries\[0\] has no 'am_hz_l1'"),
        (lambda d: d["entries"][0].update(n_seeds="10"), r"entries\[0\]\.n_seeds should be int"),
        (lambda d: d["entries"][0].update(theta_l1=[1.0]), r"entries\[0\]\.theta_l1 should be \[mean, 95% half-width\]"),
        (lambda d: d["entries"][0]["per_seed"]["theta_l1"].pop(), r"entries\[0\]\.per_seed\.theta_l1 holds 9 values for 10 seeds"),
        (lambda d: d["paired"][0]["theta_l1"].update(p_wilcoxon="n/a"), r"paired\[0\]\.theta_l1\.p_wilcoxon should be"),
        (lambda d: d.update(title=3), r"title should be str"),
    ],
)  # fmt: skip
def test_an_unknown_key_or_a_wrong_value_is_refused_by_name(edit, match):
    d = _committed_dict()
    edit(d)
    with pytest.raises(ValueError, match=match):
        Summary.from_dict(d, source="src.json")


def test_load_names_a_missing_file_and_a_file_that_is_not_a_summary(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"summary\.json does not exist"):
        Summary.load(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"summary\.json is not a comparison summary \(a JSON"):
        Summary.load(tmp_path)


def test_entry_finds_a_row_on_a_preset():
    summary = Summary.from_dict(_committed_dict())
    e = summary.entry("scrapl", "classroom")
    assert e is not None and e.row == "scrapl" and e.p_saga is True
    assert summary.entry("scrapl", "nowhere") is None
    assert summary.paired is not None
    assert summary.paired[0].theta_l1 is summary.paired[0].metrics["theta_l1"]
