"""Figure of the JTFS benchmark results: one-path time per j2, ours vs scrapl-loss.

    .venv/bin/python benchmarks/plot_bench.py data/results/bench_jtfs_cpu.json \
        data/results/bench_jtfs_h100.json --out docs/bench_jtfs.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("results", nargs="+", help="JSON files written by bench_jtfs.py --out")
    ap.add_argument("--out", default="docs/bench_jtfs.png")
    args = ap.parse_args(argv)
    fig, axes = plt.subplots(1, len(args.results), figsize=(5.5 * len(args.results), 4))
    axes = [axes] if len(args.results) == 1 else list(axes)
    for ax, path in zip(axes, args.results):
        r = json.loads(Path(path).read_text())
        rows = r["one_path"]
        j2 = [row["j2"] + 0.1 * (k % 2) for k, row in enumerate(rows)]
        ax.semilogy(j2, [row["ours_s"] * 1e3 for row in rows], "o", label="scrapl-edu")
        if rows[0].get("ref_s"):
            ax.semilogy(j2, [row["ref_s"] * 1e3 for row in rows], "s", label="scrapl-loss 0.1.0")
        if "mss_ms" in r:
            ax.axhline(r["mss_ms"], color="gray", ls="--", label="auraloss MSS")
        title = f"{r['device']}, batch {r['batch']}, {r['threads']} thread(s)"
        if "one_path_median_speedup" in r:
            title += f"\nmedian x{r['one_path_median_speedup']:.1f}"
        if "full_speedup" in r:
            title += f"; all 315 paths x{r['full_speedup']:.1f} vs kymatio-dev"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("j2 of the path (second-order scale)")
        ax.set_ylabel("one path, forward + backward (ms)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
