"""Tune IIC with GridSearchCV inside a Pipeline, scoring ACC, NMI and ARI.

The data are scikit-learn's raw digits: flattened 8x8 images with values 0-16.
A ``FunctionTransformer`` scales them to [0, 1] and ``IICEstimator`` reads the
flattened rows as images through ``image_shape=(1, 8, 8)``, so the usual
``Pipeline`` / ``GridSearchCV`` machinery works unchanged. The grid covers
IIC's over-clustering head and learning rate (4 settings, 5 fits with the
refit, each IIC's default 30 epochs).

Protocol: deep clustering benchmarks train and evaluate on the same images
(clustering is transductive), so ``cv`` here is a single split whose
training and test sets are both the whole data. Held-out folds work as
well (``cv=KFold(2, shuffle=True)``), but each fit then sees half the
images, and IIC, which needs a few hundred steps before its clusters line
up with the digits, scores far lower on 900 images in the same time.

About labels: clustering is unsupervised and, on an unlabelled problem, model
selection has to be label-free too (for IIC, e.g. the training loss in
``history_``). On benchmarks, though, people compare settings by how well the
clusters match known classes, and that is what this script does: the labels
go only to the scorers, never to ``fit``.

    python examples/gridsearch_iic.py      # ~4 min on 2 CPU cores
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from deepclust_sklearn import IICEstimator, clustering_accuracy_scorer, clustering_scores


def scale_pixels(X):
    """Digits' pixel values 0-16 to float32 in [0, 1]."""
    return np.asarray(X, dtype=np.float32) / np.float32(16.0)


def main() -> None:
    X, y = load_digits(return_X_y=True)  # (1797, 64) flattened images
    print(f"digits: X {X.shape}, labels used only by the scorers\n")

    pipe = Pipeline(
        [
            ("scale", FunctionTransformer(scale_pixels)),
            ("iic", IICEstimator(n_clusters=10, image_shape=(1, 8, 8), random_state=0)),
        ]
    )
    grid = {"iic__overcluster": [None, 50], "iic__lr": [1e-3, 3e-3]}
    everything = np.arange(len(X))
    search = GridSearchCV(
        pipe,
        grid,
        scoring={
            "acc": clustering_accuracy_scorer,
            "nmi": "normalized_mutual_info_score",
            "ari": "adjusted_rand_score",
        },
        refit="nmi",
        cv=[(everything, everything)],  # fit and score on all images (see the docstring)
    )
    start = time.perf_counter()
    search.fit(X, y)  # y reaches the scorers only; IICEstimator.fit ignores it
    seconds = time.perf_counter() - start

    results = pd.DataFrame(search.cv_results_)
    table = pd.DataFrame(
        {
            "overcluster": [str(p["iic__overcluster"]) for p in results["params"]],
            "lr": [p["iic__lr"] for p in results["params"]],
            "ACC": results["mean_test_acc"],
            "NMI": results["mean_test_nmi"],
            "ARI": results["mean_test_ari"],
            "rank (NMI)": results["rank_test_nmi"],
            "fit (s)": [f"{v:.1f}" for v in results["mean_fit_time"]],
        }
    ).sort_values("rank (NMI)")
    print("scores of each setting (fit and scored on all 1,797 digits):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nbest by NMI: {search.best_params_}  (search took {seconds:.0f} s, {len(table) + 1} fits)")

    # best_estimator_ is the best pipeline refitted on all the data: use it like any clusterer.
    labels = search.best_estimator_.predict(X)
    scores = clustering_scores(y, labels)
    print(f"best_estimator_: ACC {scores['acc']:.3f}  NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}")


if __name__ == "__main__":
    main()
