"""Cost of one SCRAPL step (encoder fwd/bwd + synth + one JTFS path on x and x_hat) vs batch size:
is the path cost proportional to B?  Relative numbers (machine shared)."""
import sys, time, torch
torch.set_num_threads(1)
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import setup
from scrapl_edu import lab
from scrapl_edu.losses import path_distance
cfg = lab.make_config("classroom", seed=0); ns = setup(cfg)
gen = torch.Generator().manual_seed(0)
for B in (1, 2, 4, 8, 16):
    x = ns.data["x_train"][:B]
    ts = []
    for rep in range(12):
        p = rep * 5 % 63
        t = time.perf_counter()
        th = ns.enc(x); xh = ns.synth(th, generator=gen)
        loss = path_distance(ns.jtfs, xh, x, p) * 1e8
        ns.enc.zero_grad(); loss.backward()
        ts.append(time.perf_counter() - t)
    ts.sort()
    print(B, "median ms", round(1000 * ts[len(ts) // 2], 1), "min", round(1000 * ts[0], 1), flush=True)
