"""One supervised P-loss run on the classroom preset with a given front end (seed from argv).

Prints one JSON line (test theta L1 per parameter, in per mille). The commands that made
data/results/lab/v2/frontend_probe/ploss.jsonl (data/results/lab/commands.sh, (10)), from the
repository root, two runs at a time::

    for fe in cqt4_32 stft64_32 cqt6_32 stft64_16; do for s in 0 1 2 3 4; do echo "$fe $s"; done; done |
      xargs -P 2 -n 2 sh -c 'OMP_NUM_THREADS=1 .venv/bin/python -m experiments.lab.v2.frontend_probe.ploss_run $0 $1 |
        tail -1 >> data/results/lab/v2/frontend_probe/ploss.jsonl'
"""

from __future__ import annotations

import json
import sys
import time

import torch

from scrapl_edu.lab import make_config, run

FRONTENDS = {
    "stft128_64": {"kind": "stft", "n_fft": 128, "hop_length": 64},
    "stft64_32": {"kind": "stft", "n_fft": 64, "hop_length": 32},
    "stft64_16": {"kind": "stft", "n_fft": 64, "hop_length": 16},
    "cqt6_32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 6, "hop_length": 32},
    "cqt4_32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 4, "hop_length": 32},
    "cqt12_32": {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 12, "hop_length": 32},
}


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    name, seed = argv[0], int(argv[1])
    t = time.time()
    cfg = make_config("classroom", loss="p_loss", seed=seed, frontend=FRONTENDS[name])
    res = run(cfg, progress=False)
    out = {"frontend": name, "spec": FRONTENDS[name], "seed": seed, "wall_s": time.time() - t}
    for k in ("test_theta_l1_permille", "test_theta_l1_permille_per_param", "ms_per_step"):
        out[k] = getattr(res, k)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
