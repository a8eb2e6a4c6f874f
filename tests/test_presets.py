"""The one preset registry (scrapl_edu.presets): paper set-ups, classroom scale, fast mode."""

from __future__ import annotations

import dataclasses

import pytest

from scrapl_edu import presets
from scrapl_edu.demo import demo_jtfs_kwargs
from scrapl_edu.filters import filterbank_params
from scrapl_edu.lab import make_config
from scrapl_edu.presets import (
    PAPER_JTFS,
    PRESETS,
    SYNTH_PRESETS,
    chirplet_tags,
    get_preset,
    shrink,
)
from scrapl_edu.synths import ChirpletConfig, GranularConfig

#: every preset name the lab's command line has accepted
CLI_NAMES = [
    "classroom",
    "classroom_aligned",
    *[f"{scale}_{tag}" for tag in chirplet_tags() for scale in ("classroom", "chirplet")],
    "granular",
    "classroom_granular",
    # the classroom tasks in the paper's training regime (issue 18)
    *[f"{name}_paper" for name in ("classroom", "classroom_am1-2_fm0.5-1", "classroom_granular")],
    # Section 4.4: the drum kit, classroom and paper scale (issue 12)
    *[f"drums{scale}_{setting}" for scale in ("", "_paper") for setting in ("micro", "meso")],
]


def test_every_command_line_name_resolves_to_one_preset():
    assert sorted(presets.preset_names()) == sorted(CLI_NAMES)
    for name in CLI_NAMES:
        p = get_preset(name)
        assert p.name == name and p.synth.name == name  # one name, one meaning
        assert SYNTH_PRESETS[name] is p.synth
        assert make_config(name).preset == name
    with pytest.raises(ValueError, match="unknown preset 'nope'") as err:
        get_preset("nope")
    assert isinstance(err.value, KeyError) and "classroom" in str(err.value)


def test_the_four_chirplet_configurations_of_table_3():
    assert chirplet_tags() == [
        "am1-2_fm0.5-1",
        "am1-2_fm2-4",
        "am2.8-8.4_fm2-4",
        "am2.8-8.4_fm4-12",
    ]
    for tag in chirplet_tags():
        am, fm = tag.split("_")
        am_lo, am_hi = (float(v) for v in am[2:].split("-"))
        fm_lo, fm_hi = (float(v) for v in fm[2:].split("-"))
        for scale in ("classroom", "chirplet"):
            synth = SYNTH_PRESETS[f"{scale}_{tag}"]
            assert synth.am_hz == (am_lo, am_hi) and synth.fm_oct_per_s == (fm_lo, fm_hi)
    assert SYNTH_PRESETS["classroom"].am_hz == SYNTH_PRESETS["classroom_am2.8-8.4_fm2-4"].am_hz
    assert SYNTH_PRESETS["classroom_aligned"].max_shift == 0 < SYNTH_PRESETS["classroom"].max_shift


def test_paper_presets_follow_tables_10_and_11():
    """Table 11 (chirplets): 50 epochs, lr 1e-4, N_IS 32; Table 10 (granular): 200, 1e-5, 320."""
    assert PAPER_JTFS == {"J": 12, "Q1": 8, "Q2": 2, "J_fr": 3, "Q_fr": 2, "T": 4096, "F": 8}
    for name, epochs, lr, n_is in [
        *[(f"chirplet_{t}", 50, 1e-4, 32) for t in chirplet_tags()],
        ("granular", 200, 1e-5, 320),
    ]:
        p = get_preset(name)
        assert (p.synth.sr, p.synth.n_samples) == (8192, 32768)
        assert p.jtfs == PAPER_JTFS and p.jtfs_kwargs()["shape"] == 32768
        t = p.train
        steps_per_epoch = round(0.6 * t.n_examples) // t.batch_size  # 3072 / 32 = 96
        assert t.steps == epochs * steps_per_epoch and t.batch_size == 32
        assert t.lr == lr and t.theta_is_examples == n_is and t.theta_is_iters == 20
    assert presets.paper_jtfs_kwargs() == {"shape": 32768, "sr": 8192.0, **PAPER_JTFS}
    assert demo_jtfs_kwargs() == presets.paper_jtfs_kwargs()  # the demo reads the same one


@pytest.mark.parametrize("tag", chirplet_tags())
def test_classroom_scale_keeps_the_paper_seconds_and_rates(tag):
    """1024 Hz instead of 8192 Hz, every duration in seconds and the JTFS's slowest rate kept."""
    paper, room = get_preset(f"chirplet_{tag}"), get_preset(f"classroom_{tag}")
    ps, rs = paper.synth, room.synth
    assert (rs.sr, rs.n_samples, rs.carrier_hz, rs.max_shift) == (1024, 4096, 128, 256)
    assert rs.duration_s == ps.duration_s == 4.0
    assert rs.max_shift / rs.sr == ps.max_shift / ps.sr  # +-0.25 s
    assert rs.carrier_hz * 2 ** (rs.bandwidth_oct / 2) < rs.sr / 2  # the sweep below Nyquist
    # the largest second-order wavelet lasts as long in seconds: the same slowest AM rate (Hz)
    assert 2 ** room.jtfs["J"] / rs.sr == 2 ** paper.jtfs["J"] / ps.sr
    slowest = {
        name: min((f.xi - f.sigma) * p.synth.sr for f in filterbank_params(p.jtfs["J"], 1))
        for name, p in (("paper", paper), ("room", room))
    }
    assert slowest["room"] == pytest.approx(slowest["paper"])
    assert slowest["room"] < rs.am_hz[0]  # reaches the slowest AM of the box


def test_classroom_granular_keeps_table_10_fractions():
    paper, room = SYNTH_PRESETS["granular"], SYNTH_PRESETS["classroom_granular"]
    assert isinstance(room, GranularConfig) and room.duration_s == paper.duration_s
    assert room.grain_n_samples / room.sr == 0.5 == paper.grain_n_samples / paper.sr
    assert [f / room.sr for f in room.pitch_hz] == [f / paper.sr for f in paper.pitch_hz]


def test_shrink_is_pure_idempotent_and_keeps_what_matters():
    for name, p in PRESETS.items():
        before = dataclasses.replace(p)
        small = shrink(p)
        assert p == before and not p.fast  # the registry is untouched
        assert small.fast and shrink(small) is small and shrink(name) == small
        # drums keep 1 s (4096 samples at 4096 Hz): the metrics' decay window is 0.80 s
        n_fast = 4096 if getattr(p.synth, "kind", "") == "drums" else 1024
        assert small.synth.n_samples == n_fast and small.train.steps < p.train.steps
        assert small.train.lr == p.train.lr  # the learning rate is the preset's
        if getattr(p.synth, "kind", "") == "drums":
            assert (small.synth.max_shift == 0) == (p.synth.max_shift == 0)
            assert small.synth.shift_max_s == p.synth.shift_max_s  # the shift in seconds
        if isinstance(p.synth, ChirpletConfig):
            assert small.synth.am_hz == p.synth.am_hz
            assert small.synth.fm_oct_per_s == p.synth.fm_oct_per_s
            assert (small.synth.max_shift == 0) == (p.synth.max_shift == 0)  # aligned stays so


def test_make_config_reads_no_environment(monkeypatch):
    """Fast mode is an argument; SCRAPL_EDU_FAST is read by the entry points only."""
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    full = make_config("classroom")
    assert not full.fast and full.steps == get_preset("classroom").train.steps == 400
    fast = make_config("classroom", fast=True)
    small = shrink("classroom")
    assert fast.fast and fast.steps == small.train.steps and fast.jtfs == small.jtfs
    assert fast.synth_config() == small.synth and fast.channels == small.train.channels
    over = make_config("classroom", fast=True, synth={"am_hz": (3.0, 4.0)}, steps=2)
    assert over.synth_config().am_hz == (3.0, 4.0) and over.steps == 2
    assert over.synth_config().n_samples == 1024


def test_every_preset_reads_the_jtfs_config():
    """A preset's JTFS settings are JTFSConfig's: checked when the preset is made."""
    from scrapl_edu.jtfs_plan import JTFSConfig

    for p in [*PRESETS.values(), *(shrink(p) for p in PRESETS.values())]:
        cfg = p.jtfs_config()
        assert isinstance(cfg, JTFSConfig) and cfg == JTFSConfig(**p.jtfs_kwargs())
        assert (cfg.shape, cfg.sr) == (p.synth.n_samples, float(p.synth.sr))
    with pytest.raises(TypeError, match=r"unknown JTFS setting 'Jfr' \(did you mean 'J_fr'"):
        dataclasses.replace(get_preset("classroom"), jtfs={**presets.CLASSROOM_JTFS, "Jfr": 3})
    with pytest.raises(ValueError, match="T=8192 is longer than the signal"):
        dataclasses.replace(get_preset("classroom"), jtfs={**presets.CLASSROOM_JTFS, "T": 8192})
