"""Compare k-means, IIC, DAC and DeepCluster on digits (or MNIST-test), over seeds.

Every method runs with its default settings and ``n_clusters=10``; k-means
(scikit-learn, 10 restarts) clusters the raw pixels as the baseline. The
labels are used only to score. Prints one row per method and seed, then the
mean and standard deviation over seeds when there are several.

    python examples/compare_methods.py                         # digits, seed 0 (~1.5 min on 2 CPU cores)
    python examples/compare_methods.py --seeds 0 1 2
    python examples/compare_methods.py --methods kmeans deepcluster
    python examples/compare_methods.py --mnist --device cuda   # MNIST-test, if a local copy exists

On MNIST-test (10,000 images of 28x28) each deep method takes about five
minutes per seed on a 2-core CPU; ``benchmarks/run.py`` records the same
comparison with machine and version details.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import load_images, print_table, scores_row
from sklearn.cluster import KMeans

from deepclust_sklearn import DACEstimator, DeepClusterEstimator, IICEstimator

METHODS = {
    "kmeans": "k-means (pixels)",
    "iic": "IICEstimator",
    "dac": "DACEstimator",
    "deepcluster": "DeepClusterEstimator",
}


def make_estimator(method: str, seed: int, device: str):
    """The estimator of ``method`` with default settings, 10 clusters and this seed."""
    if method == "kmeans":
        return KMeans(n_clusters=10, n_init=10, random_state=seed)
    cls = {"iic": IICEstimator, "dac": DACEstimator, "deepcluster": DeepClusterEstimator}[method]
    return cls(n_clusters=10, random_state=seed, device=device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", action="store_true", help="use ../shared/data/mnist-test when present")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="random_state of every run")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--device", default="cpu", help="torch device of the deep methods, e.g. cuda")
    args = parser.parse_args()

    name, X, y = load_images(args.mnist)
    flat = X.reshape(len(X), -1)  # k-means sees pixel vectors, the deep methods images
    print(
        f"{name}: {X.shape[0]} images of shape {X.shape[1:]}, {len(np.unique(y))} classes (labels used only to score)\n"
    )

    rows = []
    for method in args.methods:
        for seed in args.seeds:
            est = make_estimator(method, seed, args.device)
            start = time.perf_counter()
            labels = est.fit_predict(flat if method == "kmeans" else X)
            row = scores_row(METHODS[method], y, labels, time.perf_counter() - start)
            row["seed"] = seed
            rows.append(row)
            print(f"  {row['method']:22s} seed {seed}: ACC {row['acc']:.3f} ({row['seconds']:.1f} s)", flush=True)

    print(f"\nResults on {name}:\n")
    print_table(rows, extra=("seed",))
    if len(args.seeds) > 1:
        summary = []
        for method in args.methods:
            runs = [r for r in rows if r["method"] == METHODS[method]]
            summary.append(
                {
                    "method": METHODS[method],
                    "seed": f"mean of {len(runs)}",
                    **{k: float(np.mean([r[k] for r in runs])) for k in ("acc", "nmi", "ari", "seconds")},
                    "acc_std": float(np.std([r["acc"] for r in runs])),
                }
            )
        print(f"\nMean over seeds {args.seeds}:\n")
        print_table(summary, extra=("seed",))
        for row in summary:
            print(f"  {row['method']:22s} ACC {row['acc']:.3f} +/- {row['acc_std']:.3f}")


if __name__ == "__main__":
    main()
