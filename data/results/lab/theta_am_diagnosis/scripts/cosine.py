"""Experiment: cosine learning-rate decay for the SCRAPL optimizer, lr_k = lr0 * 0.5 (1 + cos(pi k / K)),
K = the run's steps (read from the steps=... override).  Lets FM settle so that the AM part of the
gradient can dominate late in training.  usage: cosine.py TAG steps=K key=value ..."""
import json, math, sys
import scrapl_edu.optim as O
K = next(int(kv.split("=", 1)[1]) for kv in sys.argv[2:] if kv.startswith("steps="))
_orig = O.SCRAPLOptimizer.step


def step(self, path=None, closure=None):
    for g in self.param_groups:
        g.setdefault("lr0", g["lr"])
        g["lr"] = g["lr0"] * 0.5 * (1 + math.cos(math.pi * self.global_step / K))
    return _orig(self, path, closure)


O.SCRAPLOptimizer.step = step
sys.argv[0] = "run_one.py"
exec(open(__file__.rsplit("/", 1)[0] + "/run_one.py").read())
