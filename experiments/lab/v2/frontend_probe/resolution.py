"""AM resolution (frame rate, window transfer) of candidate front ends on every classroom chirplet.

:func:`scrapl_edu.models.am_resolution` of each candidate at the preset's top AM rate and the
lowest frequency of its band (data/results/lab/v2/frontend_probe/README.md, "1. AM
resolution"). The command that made it (data/results/lab/commands.sh, (10)), from the
repository root::

    OMP_NUM_THREADS=1 .venv/bin/python -m experiments.lab.v2.frontend_probe.resolution
"""

from __future__ import annotations

import torch

from scrapl_edu.models import am_resolution, build_frontend
from scrapl_edu.presets import chirplet_band_hz, get_preset, preset_names
from scrapl_edu.synths import ChirpletConfig

CANDIDATES = {
    "stft128/64": {"n_fft": 128, "hop_length": 64},
    "stft64/32": {"n_fft": 64, "hop_length": 32},
    "stft64/16": {"n_fft": 64, "hop_length": 16},
    "cqt12/32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 12, "hop_length": 32},
    "cqt6/32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 6, "hop_length": 32},
    "cqt4/32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 4, "hop_length": 32},
    "cqt3/32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 3, "hop_length": 32},
}


def main() -> None:
    for n in preset_names():
        p = get_preset(n)
        if not n.startswith("classroom") or not isinstance(p.synth, ChirpletConfig):
            continue
        lo = chirplet_band_hz(p.synth)[0]
        row = []
        for k, s in CANDIDATES.items():
            r = am_resolution(build_frontend(s, p.synth.sr), p.synth.sr, p.synth.am_hz[1], lo)
            row.append(f"{k}: fr {r.frame_rate_hz:.0f} T {r.transfer:.2f} {'OK' if r.ok else 'no'}")
        print(n, p.synth.am_hz, f"lo {lo:.0f}", " | ".join(row))
    for k, s in CANDIDATES.items():
        print(k, tuple(build_frontend(s, 1024.0)(torch.randn(2, 1, 4096)).shape))


if __name__ == "__main__":
    main()
