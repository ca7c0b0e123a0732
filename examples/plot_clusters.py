"""Plot what DeepCluster finds on the 8x8 digits: samples, confusion matrix, curves.

Fits :class:`~deepclust_sklearn.DeepClusterEstimator` with its default
settings (seed 0) on scikit-learn's 1,797 digits, prints ACC/NMI/ARI (the
labels are used only to score and to draw the confusion matrix) and saves
three figures to ``examples/images/``:

* ``digits_cluster_samples.png`` -- ten members of every cluster;
* ``digits_confusion_matrix.png`` -- classes against Hungarian-matched clusters;
* ``digits_training_curves.png`` -- loss, k-means objective, empty clusters
  and the NMI between consecutive re-clusterings, per epoch.

About 30 s on a 2-core laptop CPU::

    python examples/plot_clusters.py            # digits
    python examples/plot_clusters.py --mnist    # MNIST-test, if a local copy exists (minutes)
    python examples/plot_clusters.py --cifar    # CIFAR-10-test colour images, if present (~10 min)

Needs matplotlib: ``pip install "deepclust_sklearn[plot]"``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, never open windows
import matplotlib.pyplot as plt  # noqa: E402
from _common import load_cifar10_test, load_images  # noqa: E402

from deepclust_sklearn import DeepClusterEstimator, clustering_scores  # noqa: E402
from deepclust_sklearn.plotting import (  # noqa: E402
    ClusterConfusionMatrixDisplay,
    ClusterSamplesDisplay,
    TrainingCurvesDisplay,
)

IMAGES = Path(__file__).resolve().parent / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", action="store_true", help="use ../shared/data/mnist-test when present")
    parser.add_argument("--cifar", action="store_true", help="use ../shared/data/cifar10-test when present")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    args = parser.parse_args()

    cifar = load_cifar10_test() if args.cifar else None
    if args.cifar and cifar is None:
        print("note: --cifar given but no CIFAR-10-test copy beside the repository; using digits instead.")
    name, X, y = ("cifar10-test", *cifar) if cifar is not None else load_images(args.mnist)
    print(f"{name}: {X.shape[0]} images of shape {X.shape[1:]} (labels used only to score)")

    start = time.perf_counter()
    est = DeepClusterEstimator(n_clusters=10, random_state=0, device=args.device).fit(X)
    seconds = time.perf_counter() - start
    scores = clustering_scores(y, est.labels_)
    print(
        f"DeepClusterEstimator: ACC {scores['acc']:.3f}  NMI {scores['nmi']:.3f}  "
        f"ARI {scores['ari']:.3f}  ({seconds:.1f} s, {len(est.history_)} epochs)"
    )

    IMAGES.mkdir(exist_ok=True)
    # Order the rows like the confusion matrix's columns: cluster matched to 0, to 1, ...
    confusion = ClusterConfusionMatrixDisplay.from_predictions(y, est.labels_)
    _save(confusion.figure_, f"{name}_confusion_matrix.png")

    samples = ClusterSamplesDisplay.from_predictions(
        X,
        est.labels_,
        n_samples=10,
        clusters=confusion.cluster_labels,
        random_state=0,
        title=f"DeepCluster on {name}: 10 members of each cluster",
    )
    _save(samples.figure_, f"{name}_cluster_samples.png")

    curves = TrainingCurvesDisplay.from_estimator(est, n_cols=2)
    _save(curves.figure_, f"{name}_training_curves.png")


def _save(fig, filename: str) -> None:
    path = IMAGES / filename
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path.relative_to(IMAGES.parent.parent)} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
