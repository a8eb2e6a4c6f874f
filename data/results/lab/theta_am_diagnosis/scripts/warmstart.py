"""Experiment: start a lab run from another run's encoder weights (e.g. the full JTFS at step 200,
where theta_FM is learned and theta_AM is about to be).  Decides whether SCRAPL fails to *reach*
the state from which theta_AM is learnable, or cannot do the AM phase at all.
usage: warmstart.py TAG CKPT key=value ...  (as run_one.py; theta-IS, if on, runs at the loaded weights)"""
import sys
import torch
from scrapl_edu import lab
ckpt = sys.argv.pop(2)
_orig = lab._build_encoder


def _build(config, n_params, x_fit):
    enc = _orig(config, n_params, x_fit)
    enc.load_state_dict(torch.load(ckpt, weights_only=False)["encoder"])
    return enc


lab._build_encoder = _build
sys.argv[0] = "run_one.py"
exec(open(__file__.rsplit("/", 1)[0] + "/run_one.py").read())
