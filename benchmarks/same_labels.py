"""Do two checkouts fit the same models? Labels of each method on digits, seed 0, one torch thread.

    python benchmarks/same_labels.py /path/to/old/checkout old.json
    python benchmarks/same_labels.py . new.json

Imports ``deepclust_sklearn`` from the checkout given (first on ``sys.path``),
fits every method at its defaults (and DeepCluster also at
``pca_components=256``) and writes ACC, a hash of ``labels_`` and the last
training loss. Equal hashes mean bit-identical labels: a refactor that
claims "behaviour unchanged" shows it this way (run it from outside the
repository, e.g. ``cd /tmp``, so the editable install does not shadow the
checkout).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import warnings

import numpy as np
import torch


def main() -> None:
    checkout, out = sys.argv[1], sys.argv[2]
    sys.path.insert(0, checkout)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    import deepclust_sklearn
    from deepclust_sklearn import (
        DACEstimator,
        DeepClusterEstimator,
        IICEstimator,
        clustering_accuracy,
        load_digits_images,
    )

    print("using", deepclust_sklearn.__file__)
    X, y = load_digits_images()
    runs = {
        "IICEstimator": (IICEstimator, {}),
        "DACEstimator": (DACEstimator, {}),
        "DeepClusterEstimator": (DeepClusterEstimator, {}),
        "DeepClusterEstimator(pca_components=256)": (DeepClusterEstimator, {"pca_components": 256}),
    }
    result = {"checkout": checkout, "module": deepclust_sklearn.__file__, "runs": {}}
    for name, (cls, params) in runs.items():
        start = time.perf_counter()
        est = cls(n_clusters=10, random_state=0, **params).fit(X)
        result["runs"][name] = {
            "acc": float(clustering_accuracy(y, est.labels_)),
            "labels_sha1": hashlib.sha1(est.labels_.astype(np.int64).tobytes()).hexdigest()[:12],
            "last_train_loss": float(est.history_[-1, "train_loss"]),
            "wall_s": round(time.perf_counter() - start, 1),
        }
        print(name, result["runs"][name], flush=True)
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
