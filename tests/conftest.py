"""Test-wide settings."""

import torch

# Two CPU cores, two xdist workers: one thread each avoids oversubscription (a 3 ms
# synth call took 450 ms with torch's default threads under load).
torch.set_num_threads(1)
