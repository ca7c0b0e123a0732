"""Quick start: cluster scikit-learn's 8x8 digits with IIC, DeepCluster and DAC.

Runs on a laptop CPU in about 70 seconds; labels are used only to score.

    python examples/quickstart.py
"""

import time

from sklearn.cluster import KMeans

from deepclust_sklearn import (
    DACEstimator,
    DeepClusterEstimator,
    IICEstimator,
    clustering_scores,
    load_digits_images,
)


def main() -> None:
    X, y = load_digits_images()  # (1797, 1, 8, 8) images in [0, 1]
    print(f"digits: {X.shape[0]} images of shape {X.shape[1:]}, 10 classes (labels used only to score)")

    start = time.perf_counter()
    baseline = KMeans(n_clusters=10, n_init=10, random_state=0).fit_predict(X.reshape(len(X), -1))
    _report("k-means on pixels", clustering_scores(y, baseline), time.perf_counter() - start)

    for est in (
        IICEstimator(n_clusters=10, random_state=0),
        DeepClusterEstimator(n_clusters=10, random_state=0),
        DACEstimator(n_clusters=10, random_state=0),
    ):
        start = time.perf_counter()
        est.fit(X)
        _report(type(est).__name__, clustering_scores(y, est.labels_), time.perf_counter() - start)


def _report(name: str, scores: dict, seconds: float) -> None:
    print(f"{name:20s} ACC {scores['acc']:.3f}  NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}  ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
