"""What larger colour inputs cost: one training epoch and predict at 32, 64 and 96 pixels a side.

    python benchmarks/image_size.py --sizes 32 64 96 --n-samples 2000

CIFAR-10-test's first ``--n-samples`` images (``../shared/data``), resized
bilinearly to each size (64x64 and 96x96 stand in for STL-10-like inputs).
Each method at its defaults except ``max_epochs=1``, in a fresh child process
(so the peaks are its own): the default trunk (``default_backbone``: the input
is average-pooled by ``max(2, round(side / 16))``, so the trunk itself costs
the same at every size), the wall time of a one-epoch ``fit`` (training, the
method's per-epoch steps and the final labelling) and of ``predict``, and the
peak anonymous memory above the process's level before ``fit`` (the input
itself is allocated before). Accuracy is not measured here (one epoch).

``epoch`` is the epoch's own duration (skorch's ``dur``: the method's
per-epoch steps and training), ``fit`` adds set-up and the final labelling.
``est. full fit`` scales the epoch to 10,000 images and the method's default
epochs (IIC 30, DAC about 46 when its schedule ends, DeepCluster 60); its
32-px row can be checked against the measured full fits in
``results/suite_colour.md``. Writes ``results/image_size.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import warnings

import numpy as np
from _common import environment, environment_markdown, write_results

METHODS = ("iic", "dac", "deepcluster")
DEFAULT_EPOCHS = {"iic": 30, "dac": 46, "deepcluster": 60}  # DAC: where its threshold schedule ends


def cifar_at(size: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_samples`` CIFAR-10-test images at ``size`` x ``size``, float32 in [0, 1]."""
    from suite import _idx_set, _resized

    X, y = _idx_set("cifar10-test")
    X, y = X[:n_samples], y[:n_samples]
    return (X if size == X.shape[-1] else _resized(X, size)), y


def measure(method: str, size: int, n_samples: int, queue) -> None:
    """Child process: build the data, fit one epoch and predict, under the peak sampler."""
    import torch
    from memory_scale import PeakSampler

    from deepclust_sklearn import DACEstimator, DeepClusterEstimator, IICEstimator
    from deepclust_sklearn.networks import default_backbone

    X, _ = cifar_at(size, n_samples)
    cls = {"iic": IICEstimator, "dac": DACEstimator, "deepcluster": DeepClusterEstimator}[method]
    est = cls(n_clusters=10, max_epochs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        with PeakSampler() as sampler:
            est.fit(X)
        fit_s = time.perf_counter() - start
        epoch_s = float(est.history_[-1, "dur"])
        start = time.perf_counter()
        est.predict(X)
        predict_s = time.perf_counter() - start
    _, trunk = default_backbone(X.shape[1:])
    queue.put(
        {
            "method": method,
            "size": size,
            "n_samples": n_samples,
            "input_pool": trunk.get("input_pool", 1),
            "trunk_side": size // trunk.get("input_pool", 1),
            "input_mib": X.nbytes / 2**20,
            "epoch_s": round(epoch_s, 2),
            "fit_1_epoch_s": round(fit_s, 2),
            "predict_s": round(predict_s, 2),
            "est_full_fit_s": round(epoch_s * 10_000 / n_samples * DEFAULT_EPOCHS[method]),
            "fit_anon_above_start_mib": round(sampler.peak_anon - sampler.anon_before),
            "peak_rss_mib": round(sampler.peak_rss),
            "torch_threads": torch.get_num_threads(),
            "load_1min": round(os.getloadavg()[0], 2),
        }
    )


def markdown(rows: list[dict], env: dict) -> str:
    header = (
        "| method | side (px) | input pool -> trunk side | N | input (MiB) | epoch (s) | fit, 1 epoch (s) | predict (s) | "
        "est. full fit on 10k (s) | fit peak anon above start (MiB) | peak RSS (MiB) | load |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    body = "".join(
        f"| {r['method']} | {r['size']} | {r['input_pool']} -> {r['trunk_side']} | {r['n_samples']:,} | "
        f"{r['input_mib']:.0f} | {r['epoch_s']:.1f} | {r['fit_1_epoch_s']:.1f} | {r['predict_s']:.1f} | {r['est_full_fit_s']:,} | "
        f"{r['fit_anon_above_start_mib']:,} | {r['peak_rss_mib']:,} | {r['load_1min']} |\n"
        for r in rows
    )
    return (
        "# Larger colour inputs: what one epoch costs at 32, 64 and 96 px\n\n"
        f"`python benchmarks/image_size.py {' '.join(sys.argv[1:])}`\n\n"
        + __doc__.split("\n\n", 2)[2].split("Writes")[0].strip()
        + "\n\n"
        + header
        + body
        + "\n"
        + environment_markdown(env)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 96])
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()

    rows = []
    context = mp.get_context("spawn")
    for size in args.sizes:
        for method in args.methods:
            queue = context.Queue()
            child = context.Process(target=measure, args=(method, size, args.n_samples, queue))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"{method} at {size} px failed in its child process (exit {child.exitcode}).")
            rows.append(queue.get())
            print(json.dumps(rows[-1]), flush=True)
    env = environment()
    write_results("image_size", {"environment": env, "rows": rows}, markdown(rows, env))


if __name__ == "__main__":
    main()
