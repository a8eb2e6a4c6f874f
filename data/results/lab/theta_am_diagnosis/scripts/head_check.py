"""Does theta_hat_AM read the FM feature?  corr(theta_hat_AM, theta_FM) on the validation set and the
cosine between the two rows of the encoder's last linear layer, at checkpoints."""
import sys, torch
torch.set_num_threads(1)
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import setup, predict
from scrapl_edu import lab
cfg = lab.make_config("classroom", seed=0); ns = setup(cfg)
x = ns.data["x_val"]; th = ns.data["theta_val"]
for ck in sys.argv[1:]:
    ns.enc.load_state_dict(torch.load(ck, weights_only=False)["encoder"])
    t = predict(ns.enc, x)
    c = lambda a, b: float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    W = ns.enc.head[-1].weight.detach()
    print(f"{ck}: corr(am_hat, am) {c(t[:,0], th[:,0]):+.2f} corr(am_hat, fm) {c(t[:,0], th[:,1]):+.2f} "
          f"corr(am_hat, fm_hat) {c(t[:,0], t[:,1]):+.2f} corr(fm_hat, fm) {c(t[:,1], th[:,1]):+.2f} "
          f"cos(head_am, head_fm) {float(torch.nn.functional.cosine_similarity(W[0], W[1], dim=0)):+.2f} std am_hat {float(t[:,0].std()):.3f}")
