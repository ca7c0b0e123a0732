"""DeepCluster's last step: does another clusterer of the same learned features do better than k-means?

    python benchmarks/final_clusterer.py --datasets mnist-imbalanced digits --seeds 0 1 2

Fits ``DeepClusterEstimator`` at its defaults (one torch thread), keeps the
final features after the fitted ``PCAWhitenL2`` (the space the final
k-means runs in) and clusters them again with ``n_clusters`` = the number of
classes by: Ward agglomeration, Gaussian mixtures (full and diagonal
covariances, 3 inits), k-means with 100 centres merged by Ward, and
spectral clustering on a 10-nearest-neighbour graph. Every clusterer sees
the same features, so the rows of one fit compare clusterers only. Labels
only score. Writes ``results/final_clusterer.{json,md}``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from _common import environment, environment_markdown, write_results
from sklearn.cluster import AgglomerativeClustering, SpectralClustering
from sklearn.mixture import GaussianMixture
from suite import DATASETS

from deepclust_sklearn import (
    DeepClusterEstimator,
    FaissKMeans,
    clustering_accuracy,
    normalized_mutual_info_score,
)

WARD_MAX_SAMPLES = 12_000  # Ward keeps an n x n distance matrix


class _KeepFeatures(DeepClusterEstimator):
    """DeepCluster that also keeps the training data's final features (before the final k-means)."""

    def _finish_fit(self, dataset):
        scores = super()._finish_fit(dataset)
        self.final_features_ = self.preprocessor_.transform(self.net_.embed(dataset, float64=True))
        return scores


def _overcluster_then_ward(Z: np.ndarray, k: int, seed: int, n_centres: int = 100) -> np.ndarray:
    """k-means with ``n_centres`` centres, then Ward agglomeration of the centres down to ``k``."""
    kmeans = FaissKMeans(min(n_centres, len(Z)), n_init=1, max_iter=50, random_state=seed).fit(Z)
    used = np.unique(kmeans.labels_)
    merged = AgglomerativeClustering(k, linkage="ward").fit_predict(kmeans.cluster_centers_[used])
    lookup = np.zeros(kmeans.cluster_centers_.shape[0], dtype=np.int64)
    lookup[used] = merged
    return lookup[kmeans.labels_]


def clusterers(k: int, seed: int = 0) -> dict:
    """The alternatives, each seeded with ``seed`` (the same for every fit, so a fit's seed moves only the fit)."""
    return {
        "ward": lambda Z: (
            AgglomerativeClustering(k, linkage="ward").fit_predict(Z) if len(Z) <= WARD_MAX_SAMPLES else None
        ),
        "gmm_full": lambda Z: GaussianMixture(k, covariance_type="full", n_init=3, random_state=seed).fit(Z).predict(Z),
        "gmm_diag": lambda Z: GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed).fit(Z).predict(Z),
        "kmeans100_ward": lambda Z: _overcluster_then_ward(Z, k, seed),
        "spectral": lambda Z: SpectralClustering(
            k, affinity="nearest_neighbors", n_neighbors=10, random_state=seed, assign_labels="cluster_qr"
        ).fit_predict(Z),
    }


def run(dataset: str, seed: int) -> dict:
    X, y = DATASETS[dataset][1]()
    k = len(np.unique(y))
    start = time.perf_counter()
    est = _KeepFeatures(n_clusters=k, random_state=seed).fit(X)
    row = {"dataset": dataset, "seed": seed, "fit_s": round(time.perf_counter() - start, 1), "scores": {}}
    candidates = {"kmeans (default)": lambda Z: est.labels_, **clusterers(k)}
    for name, cluster in candidates.items():
        labels = cluster(est.final_features_)
        if labels is not None:
            row["scores"][name] = {
                "acc": round(float(clustering_accuracy(y, labels)), 4),
                "nmi": round(float(normalized_mutual_info_score(y, labels)), 4),
            }
    print(dataset, seed, row["scores"], flush=True)
    return row


def markdown(rows: list[dict], env: dict) -> str:
    names = list(rows[0]["scores"])
    lines = [
        "# DeepCluster: the final clusterer on the same learned features",
        "",
        environment_markdown(env),
        "ACC / NMI per fit (defaults); every column clusters the same features. "
        "`python benchmarks/final_clusterer.py --help`.",
        "",
        "| dataset | seed | " + " | ".join(names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for row in rows:
        cells = [
            f"{row['scores'][n]['acc']:.3f} / {row['scores'][n]['nmi']:.3f}" if n in row["scores"] else "-"
            for n in names
        ]
        lines.append(f"| {row['dataset']} | {row['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist-imbalanced", "digits"], choices=sorted(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    rows = [run(dataset, seed) for dataset in args.datasets for seed in args.seeds]
    env = environment()
    write_results("final_clusterer", {"environment": env, "rows": rows}, markdown(rows, env))


if __name__ == "__main__":
    main()
