"""``predict`` time against ``inference_batch_size`` for each deep estimator.

    python benchmarks/inference_batch.py --n-samples 200000 --sizes 256 4096

Each estimator is fitted for one epoch on the first 5,000 of N x 64 float32
vectors (10 Gaussian blobs; a one-layer 128-unit MLP, training batch 256),
then ``predict`` on all N rows is timed with ``inference_batch_size`` set to
each size on the same fitted estimator; the labels must not change.

Writes ``benchmarks/results/inference_batch.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import environment, environment_markdown, write_results

N_FEATURES = 64
N_CLUSTERS = 10


def blobs(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(N_CLUSTERS, N_FEATURES)).astype(np.float32)
    return (centres[rng.integers(N_CLUSTERS, size=n)] + rng.normal(size=(n, N_FEATURES))).astype(np.float32)


def main() -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from deepclust_sklearn import DACEstimator, DeepClusterEstimator, IICEstimator

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 4096])
    args = parser.parse_args()

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X = blobs(args.n_samples)
    rows = []
    for cls in (DeepClusterEstimator, IICEstimator, DACEstimator):
        est = cls(
            n_clusters=N_CLUSTERS, max_epochs=1, batch_size=256, module_kwargs={"hidden": (128,)}, random_state=0
        ).fit(X[:5000])
        reference = None
        for size in args.sizes:
            est.set_params(inference_batch_size=size)
            start = time.perf_counter()
            labels = est.predict(X)
            seconds = time.perf_counter() - start
            reference = labels if reference is None else reference
            row = {
                "method": cls.__name__,
                "inference_batch_size": size,
                "predict_s": seconds,
                "labels_equal_first_size": bool(np.array_equal(labels, reference)),
            }
            rows.append(row)
            print(row)

    env = environment()
    table = (
        "| estimator | inference_batch_size | predict (s) | labels as at the first size |\n| --- | --- | --- | --- |\n"
    )
    table += "".join(
        f"| {r['method']} | {r['inference_batch_size']:,} | {r['predict_s']:.2f} | {r['labels_equal_first_size']} |\n"
        for r in rows
    )
    markdown = (
        f"# predict time against inference_batch_size, {args.n_samples:,} x {N_FEATURES} float32\n\n"
        f"`python benchmarks/inference_batch.py --n-samples {args.n_samples} --sizes "
        + " ".join(map(str, args.sizes))
        + "`\n\n"
        + table
        + "\n"
        + environment_markdown(env)
    )
    write_results("inference_batch", {"environment": env, "settings": vars(args), "rows": rows}, markdown)


if __name__ == "__main__":
    main()
