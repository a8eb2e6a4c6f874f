"""A comparison's ``summary.json``, typed: :class:`Summary` and the records it holds.

:func:`scrapl_edu.lab.comparison.aggregate` writes it (Tables 1-3 in small: mean ± 95% CI
over seeds, and the paired differences of Table 6), :func:`~scrapl_edu.lab.comparison.
refresh_summary` rewrites it, and everything that reads one goes through :meth:`Summary.load`.
The file, in its key order (``to_dict`` writes this order)::

    {"presets": [...], "rows": [...], "seeds": [...],
     "title": "...",                       # absent in summaries made before it existed
     "entries": [SummaryEntry, ...],       # one per (preset, row) with a finished run
     "paired": [PairedRows, ...]}          # absent until the paired statistics existed

Like :class:`~scrapl_edu.lab.results.Results`, every record's ``from_dict`` refuses a key it
does not know, a key it needs and lacks, and a value of the wrong type, with a ValueError
naming the file and where in it (``entries[3].per_seed``). ``to_dict`` gives back the JSON
the record was read from, value for value and in the same key order, so that
``Summary.load(f).save(f)`` leaves a summary written by ``aggregate`` byte for byte as it
was. The one normalisation is the top-level key order of summaries made before
``aggregate`` wrote a title: ``refresh_summary`` appended ``title`` and ``paired`` after
``entries`` (``data/results/lab/{ablation,theta_is}``), and ``to_dict`` writes ``title``
before ``entries``, as ``aggregate`` does; the values are the same.

Where the names of a mapping are open, the mapping stays a dict with typed values: an
entry's per-parameter errors (``"<param>_l1"``, named by its ``param_names``), the metrics
of ``per_seed`` and of a paired item (θ L1, each parameter's, the total and excess
variation, the drum metrics of Tables 4, 8-9) and ``drum``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

from scrapl_edu.lab.config import ROWS
from scrapl_edu.lab.files import atomic_write_text, read_json
from scrapl_edu.lab.results import fits_type, type_name

__all__ = [
    "CI",
    "SUMMARY_JSON",
    "AppliedDiagnostic",
    "PairedDifference",
    "PairedRows",
    "PerSeed",
    "Summary",
    "SummaryEntry",
]

#: file name of a comparison's summary inside its folder
SUMMARY_JSON = "summary.json"


class CI(NamedTuple):
    """A mean over seeds and the half-width of its 95% interval (Student t; NaN below 2
    seeds), as in Tables 1-3. JSON holds it as ``[mean, half]``; it unpacks as a pair."""

    mean: float
    half: float


# ------------------------------------------------------------------------ reading
def _refusal(src: str, path: str, what: str) -> ValueError:
    """The object at ``path`` (``""``: the summary itself) of file ``src`` has ``what``."""
    if not path:
        return ValueError(f"{src} is not a comparison summary: {what}")
    return ValueError(f"{src}: {path} has {what}")


def _wrong(src: str, path: str, want: str, value: Any) -> ValueError:
    return ValueError(
        f"{src} is not a valid comparison summary: {path} should be {want}, got {value!r:.80}"
    )


def _value(value: Any, tp: Any, src: str, path: str) -> Any:
    """``value`` (as JSON holds it) checked against the type ``tp`` and made into it."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _value(value, inner[0], src, path)
    if tp is CI:
        if not (isinstance(value, list) and len(value) == 2 and fits_type(value, list[float])):
            raise _wrong(src, path, "[mean, 95% half-width]", value)
        return CI(*value)
    if isinstance(tp, type) and issubclass(tp, _Record):
        return tp.parse(value, src, path)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise _wrong(src, path, f"a list of {type_name(item)}", value)
        return [_value(v, item, src, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        _, item = typing.get_args(tp)
        return {k: _value(v, item, src, f"{path}.{k}") for k, v in value.items()}
    if not fits_type(value, tp):
        raise _wrong(src, path, type_name(tp), value)
    return value


def _plain(value: Any) -> Any:
    """The JSON form of a field's value (records as dicts, a :class:`CI` as a list)."""
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, CI):
        return list(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _spread(f: dataclasses.Field) -> str | None:
    """The key pattern of a field whose dict is spread into its record's keys, e.g. ``"{}_l1"``."""
    return f.metadata.get("spread")


class _Record:
    """A dataclass read from and written to a JSON object, strictly (see the module doc).

    A field with ``metadata={"spread": "{}_l1"}`` is a dict whose items are keys of the
    object itself (``{"am_hz": ci}`` <-> ``"am_hz_l1": [m, h]``), at the field's place. A
    field that defaults to None is left out of the JSON when it is None (an optional key).
    """

    #: the object's name in messages when it is read on its own
    WHAT: ClassVar[str] = "record"

    @classmethod
    def spread_names(cls, d: dict[str, Any]) -> dict[str, str]:
        """JSON key -> name in the spread field, for the keys of ``d`` that are spread."""
        return {}

    @classmethod
    def from_dict(cls, d: Any, source: str | Path | None = None) -> Self:
        """The record of the JSON object ``d``; ``source`` (the file) names it in errors."""
        return cls.parse(d, str(source) if source is not None else f"{cls.WHAT} dict", "")

    @classmethod
    def parse(cls, d: Any, src: str, path: str) -> Self:
        """:meth:`from_dict` of the object at ``path`` in the file ``src``."""
        if not isinstance(d, dict):
            if not path:
                raise ValueError(f"{src} is not a comparison summary (a JSON object)")
            raise _wrong(src, path, "an object", d)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        spread = cls.spread_names(d)
        plain = {f.name for f in fields if _spread(f) is None}
        unknown = [k for k in d if k not in plain and k not in spread]
        if unknown:
            raise _refusal(src, path, f"unknown keys {unknown}")
        need = [
            f.name
            for f in fields
            if _spread(f) is None
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in need if k not in d]
        if missing:
            raise _refusal(src, path, "no " + ", ".join(repr(k) for k in missing))
        hints = typing.get_type_hints(cls)
        sub = f"{path}." if path else ""
        kwargs: dict[str, Any] = {}
        for f in fields:
            if _spread(f) is not None:
                (_, item) = typing.get_args(hints[f.name])
                kwargs[f.name] = {
                    name: _value(d[key], item, src, sub + key) for key, name in spread.items()
                }
            elif f.name in d:
                kwargs[f.name] = _value(d[f.name], hints[f.name], src, sub + f.name)
        record = cls(**kwargs)
        record.check(src, path)
        return record

    def check(self, src: str, path: str) -> None:
        """What types alone do not say (lengths that must agree); raises a ValueError."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the record, in its key order (the inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            pattern = _spread(f)
            if pattern is not None:
                out.update({pattern.format(k): _plain(v) for k, v in value.items()})
            elif not (value is None and f.default is None):
                out[f.name] = _plain(value)
        return out


def _same_length(src: str, path: str, seeds: list[int], lists: dict[str, list]) -> None:
    for key, values in lists.items():
        if len(values) != len(seeds):
            raise ValueError(
                f"{src} is not a valid comparison summary: {path}.{key} holds {len(values)} "
                f"values for {len(seeds)} seeds"
            )


# ------------------------------------------------------------------------ records
@dataclass
class PerSeed(_Record):
    """Every metric of one (preset, row), one value per finished seed (paired statistics).

    Attributes:
        seeds: the seeds that finished, in the order of the values.
        metrics: metric -> one value per seed: ``theta_l1``, ``<param>_l1``, ``total_var``,
            ``excess_var`` and, on the drum presets, ``drum_<metric>`` (Tables 4, 8-9) and
            ``pi_decay_mass`` / ``uniform_decay_mass``. In the JSON, keys beside ``seeds``.
    """

    WHAT: ClassVar[str] = "per_seed"
    seeds: list[int]
    metrics: dict[str, list[float]] = field(metadata={"spread": "{}"})

    @classmethod
    def spread_names(cls, d: dict[str, Any]) -> dict[str, str]:
        return {k: k for k in d if k != "seeds"}

    def check(self, src: str, path: str) -> None:
        _same_length(src, path, self.seeds, self.metrics)


@dataclass
class AppliedDiagnostic(_Record):
    """SCRAPL's applied-step diagnostic of one (preset, row), per seed.

    Attributes:
        seeds: the seeds, in the order of ``per_seed``.
        per_seed: each seed's ``Results.applied_diag``: one dict per measured validation
            (:func:`scrapl_edu.lab.applied.applied_step_stats`: ``step``, ``var``, ...).
    """

    WHAT: ClassVar[str] = "applied_diag"
    seeds: list[int]
    per_seed: list[list[dict[str, float]]]

    def check(self, src: str, path: str) -> None:
        _same_length(src, path, self.seeds, {"per_seed": self.per_seed})

    def by_seed(self) -> dict[int, list[dict[str, float]]]:
        """Seed -> its diagnostic, for the seeds that measured one."""
        return {int(s): d for s, d in zip(self.seeds, self.per_seed, strict=True) if d}


@dataclass(kw_only=True)
class SummaryEntry(_Record):
    """One (preset, row) of a comparison: Tables 1-3's columns, mean ± 95% CI over seeds.

    Attributes:
        preset, row, label: where it comes from; ``label`` is the row's display name.
        n_seeds: how many seeds finished.
        loss, p_adam, p_saga, theta_is, adaptive_pi: the row's definition
            (:data:`scrapl_edu.lab.config.ROWS`; the switches only on SCRAPL rows,
            ``adaptive_pi`` only where set).
        theta_l1: test θ L1 in ‰ of the parameter range; ``param_l1``: the same per
            parameter (JSON keys ``"<param>_l1"``, in the order of ``param_names``).
        total_var: the validation curve's total variation (Table 2); ``excess_var``: the
            total variation minus the net change (absent in older summaries).
        conv_rate: share of seeds below 100 ‰; ``conv_steps``: their steps to get there.
        ms_per_step, wall_s, steps: cost; ``param_names``: the synth's parameters.
        per_seed_theta_l1: test θ L1 per finished seed (the only per-seed numbers of older
            summaries, in the order of the summary's ``seeds``).
        per_seed: every metric per seed (:class:`PerSeed`; absent in older summaries).
        applied_diag: SCRAPL's applied-step diagnostic (:class:`AppliedDiagnostic`), or None.
        drum: drum presets: metric -> mean ± CI (Tables 4, 8-9), else None.
    """

    WHAT: ClassVar[str] = "entry"
    preset: str
    row: str
    label: str
    n_seeds: int
    loss: str
    p_adam: bool | None = None
    p_saga: bool | None = None
    theta_is: bool | None = None
    adaptive_pi: bool | None = None
    theta_l1: CI
    param_l1: dict[str, CI] = field(metadata={"spread": "{}_l1"})
    total_var: CI
    excess_var: CI | None = None
    conv_rate: float
    conv_steps: CI
    ms_per_step: CI
    wall_s: CI
    steps: CI
    param_names: list[str]
    per_seed_theta_l1: list[float]
    per_seed: PerSeed | None = None
    applied_diag: AppliedDiagnostic | None = None
    drum: dict[str, CI] | None = None

    @classmethod
    def spread_names(cls, d: dict[str, Any]) -> dict[str, str]:
        names = d.get("param_names")
        if not isinstance(names, list):
            return {}
        return {f"{n}_l1": n for n in names if isinstance(n, str) and f"{n}_l1" in d}

    def check(self, src: str, path: str) -> None:
        if self.row not in ROWS:
            raise _refusal(src, path, f"an unknown row {self.row!r}")
        lacking = [f"{n}_l1" for n in self.param_names if n not in self.param_l1]
        if lacking:
            raise _refusal(src, path, "no " + ", ".join(repr(k) for k in lacking))


@dataclass
class PairedDifference(_Record):
    """Per-seed differences ``b - a`` of one metric and their paired statistics (Table 6).

    The output of :func:`scrapl_edu.lab.paired.paired_difference`.

    Attributes:
        n: seeds paired; ``diff``: ``b_s - a_s`` per seed.
        mean, ci: their mean and the half-width of its 95% interval (NaN below 2 seeds).
        t, p_t: the paired t-test; ``p_wilcoxon``: the signed-rank test (None below 6 seeds).
        improved: seeds with ``b_s < a_s`` (lower error is better).
    """

    WHAT: ClassVar[str] = "paired difference"
    n: int
    diff: list[float]
    mean: float
    ci: float
    t: float
    p_t: float
    p_wilcoxon: float | None
    improved: int

    def check(self, src: str, path: str) -> None:
        if len(self.diff) != self.n:
            raise ValueError(
                f"{src} is not a valid comparison summary: {path}.diff holds {len(self.diff)} "
                f"values for n = {self.n}"
            )


@dataclass
class PairedRows(_Record):
    """Two rows of a comparison read seed by seed: ``b - a`` of every metric both hold.

    Attributes:
        preset: the preset; ``a``, ``b``: the rows (``b`` is the treatment).
        label: ``"+ P-SAGA"`` for a one-switch pair, else ``"<b> vs <a>"``.
        seeds: the seeds both rows finished.
        metrics: metric (``theta_l1``, ``<param>_l1``, ...) -> :class:`PairedDifference`;
            in the JSON, keys beside ``seeds``.
    """

    WHAT: ClassVar[str] = "paired item"
    preset: str
    a: str
    b: str
    label: str
    seeds: list[int]
    metrics: dict[str, PairedDifference] = field(metadata={"spread": "{}"})

    @classmethod
    def spread_names(cls, d: dict[str, Any]) -> dict[str, str]:
        fixed = {"preset", "a", "b", "label", "seeds"}
        return {k: k for k in d if k not in fixed}

    def check(self, src: str, path: str) -> None:
        if "theta_l1" not in self.metrics:
            raise _refusal(src, path, "no 'theta_l1'")

    @property
    def theta_l1(self) -> PairedDifference:
        """The paired difference of test θ L1 (every item has it)."""
        return self.metrics["theta_l1"]


@dataclass(kw_only=True)
class Summary(_Record):
    """A comparison (``summary.json``): its rows x presets x seeds, entries and pairs.

    Attributes:
        presets, rows, seeds: what the comparison was asked to run.
        title: the table's heading (None: a summary made before titles were kept).
        entries: one :class:`SummaryEntry` per (preset, row) with a finished run.
        paired: :class:`PairedRows` of the rows compared seed by seed (None: not computed;
            :func:`scrapl_edu.lab.paired.paired_stats` computes them).
    """

    WHAT: ClassVar[str] = "summary"
    presets: list[str]
    rows: list[str]
    seeds: list[int]
    title: str | None = None
    entries: list[SummaryEntry]
    paired: list[PairedRows] | None = None

    def entry(self, row: str, preset: str) -> SummaryEntry | None:
        """The entry of ``row`` on ``preset``, or None when the comparison has none."""
        for e in self.entries:
            if e.row == row and e.preset == preset:
                return e
        return None

    def to_json(self) -> str:
        """The text of ``summary.json`` (indented by one, as every summary is written)."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def load(cls, folder_or_file: str | Path) -> Summary:
        """Read ``folder/summary.json`` (or the file itself); errors name the file."""
        f = Path(folder_or_file)
        if f.is_dir():
            f = f / SUMMARY_JSON
        if not f.exists():
            raise FileNotFoundError(f"{f} does not exist: give a folder written by compare")
        return cls.from_dict(read_json(f), source=f)

    def save(self, folder_or_file: str | Path) -> Path:
        """Write ``folder/summary.json`` (or the ``.json`` file named) atomically; returns it."""
        f = Path(folder_or_file)
        if f.suffix != ".json":
            f = f / SUMMARY_JSON
        atomic_write_text(f, self.to_json())
        return f
