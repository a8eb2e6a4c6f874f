"""One classroom lab run with make_config overrides; prints one JSON line (appended to
experiments/out/runs.jsonl).  usage: run_one.py TAG key=value ...  (preset=... selects the preset)"""
import json, sys, time
import torch
torch.set_num_threads(1)
from scrapl_edu import lab
tag = sys.argv[1]
over = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in sys.argv[2:])}
preset = over.pop("preset", "classroom")
cfg = lab.make_config(preset, **over)
t = time.time()
d = lab.run(cfg, out=None, progress=False).to_dict()
rec = {"tag": tag, "preset": preset, "over": over, "theta": round(d["test_theta_l1_permille"], 1),
       "per_param": {k: round(v, 1) for k, v in d["test_theta_l1_permille_per_param"].items()},
       "val_am_fm_every_100": [[round(v) for v in pp] for pp in d["val_theta_l1_permille_per_param"]][:: max(1, 100 // cfg.val_every)],
       "ms_per_step": round(d["ms_per_step"], 1), "theta_is_s": round(d["theta_is_s"], 1),
       "wall_s": round(time.time() - t, 1)}
print(json.dumps(rec), flush=True)
with open("experiments/out/runs.jsonl", "a") as f:
    f.write(json.dumps(rec) + "\n")
