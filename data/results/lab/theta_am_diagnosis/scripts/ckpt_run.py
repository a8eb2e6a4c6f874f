"""Train one lab config and keep copies of its full checkpoint (encoder + optimizer + sampler)
at given steps, via stop_after/resume (bit-identical to an uninterrupted run).
usage: ckpt_run.py OUTDIR STEP1,STEP2,... key=value ...   (key=value are make_config overrides)"""
import json, shutil, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from scrapl_edu import lab

out = Path(sys.argv[1]); stops = [int(s) for s in sys.argv[2].split(",")]
over = {}
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    over[k] = json.loads(v)
cfg = lab.make_config("classroom", **over)
t = time.time()
first = True
for s in stops:
    if s >= cfg.steps:
        continue
    lab.run(cfg, out=out / "run", overwrite=first, resume=not first, progress=False, stop_after=s)
    first = False
    shutil.copy(out / "run" / lab.CHECKPOINT, out / f"ckpt_{s}.pt")
    print("saved", s, round(time.time() - t, 1), flush=True)
res = lab.run(cfg, out=out / "run", overwrite=first, resume=not first, progress=False)
d = res.to_dict()
print(json.dumps({"over": over, "theta": round(d["test_theta_l1_permille"]),
                  "per_param": {k: round(v) for k, v in d["test_theta_l1_permille_per_param"].items()},
                  "val_pp": d["val_theta_l1_permille_per_param"][::4],
                  "wall": round(time.time() - t, 1)}))
