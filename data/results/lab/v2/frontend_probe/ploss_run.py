"""One supervised P-loss run on the classroom preset with a given front end (seed from argv).

Usage: ploss_run.py FRONTEND SEED; prints one JSON line (test theta L1 per parameter, in per mille).
"""

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

if __name__ == "__main__":
    torch.set_num_threads(1)
    name, seed = sys.argv[1], int(sys.argv[2])
    t = time.time()
    cfg = make_config("classroom", loss="p_loss", seed=seed, frontend=FRONTENDS[name])
    res = run(cfg, progress=False)
    out = {"frontend": name, "spec": FRONTENDS[name], "seed": seed, "wall_s": time.time() - t}
    for k in ("test_theta_l1_permille", "test_theta_l1_permille_per_param", "ms_per_step"):
        out[k] = getattr(res, k)
    print(json.dumps(out, default=str))
