"""Cost of the input pipeline (batching, transfer, augmentation) within an IIC epoch.

    python benchmarks/input_pipeline.py --dataset mnist-test --epochs 3

Two measurements in one process, interleaved so machine drift hits both:

1. *Pipeline share*: time of a pass that only batches, transfers, standardises
   and augments (no network) divided by the time of a full training epoch
   with the default augmentations.
2. *Augmentation ratio*: median epoch time with the default augmentations over
   the median epoch time with identity transforms, same network and seed.

Writes ``benchmarks/results/input_pipeline_<dataset>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import environment, environment_markdown, load_dataset, write_results


def epoch_times(X, augment: str, epochs: int) -> list[float]:
    from deepclust_sklearn import IICEstimator

    est = IICEstimator(n_clusters=10, augment=augment, max_epochs=epochs, random_state=0).fit(X)
    return [row["dur"] for row in est.history_], est


def pipeline_pass(est, X) -> float:
    """One epoch of the training iterator + standardise + augment, no network."""
    from deepclust_sklearn._data import ArrayDataset

    net = est.net_
    dataset = ArrayDataset(X.reshape(len(X), -1), est.input_shape_)
    start = time.perf_counter()
    with torch.no_grad():
        for x, _ in net.get_iterator(dataset, training=True):
            x = net.module_.standardize(x.to(net.device))
            net.augmenter_(x.repeat(net.repeats, *([1] * (x.dim() - 1))))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist-test", choices=["digits", "mnist-test"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--flush-denormal", action="store_true", help="torch.set_flush_denormal(True) for the whole run (an ablation)"
    )
    parser.add_argument("--name", default=None, help="result file stem (default input_pipeline_<dataset>)")
    args = parser.parse_args()
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    X, _ = load_dataset(args.dataset)
    aug_epochs, id_epochs, pipeline, _full = [], [], [], []
    for _ in range(args.rounds):
        times, est = epoch_times(X, "auto", args.epochs)
        aug_epochs += times[1:]  # the first epoch includes warm-up
        pipeline += [pipeline_pass(est, X) for _ in range(2)]
        id_epochs += epoch_times(X, "none", args.epochs)[0][1:]
    median_aug, median_id, median_pipe = (statistics.median(v) for v in (aug_epochs, id_epochs, pipeline))
    payload = {
        "dataset": args.dataset,
        "n_samples": len(X),
        "epochs_per_fit": args.epochs,
        "rounds": args.rounds,
        "epoch_s_default_augment": aug_epochs,
        "epoch_s_identity": id_epochs,
        "pipeline_pass_s": pipeline,
        "median_epoch_s_default_augment": median_aug,
        "median_epoch_s_identity": median_id,
        "median_pipeline_pass_s": median_pipe,
        "flush_denormal": args.flush_denormal,
        "pipeline_share_of_epoch": median_pipe / median_aug,
        "augment_over_identity_epoch_ratio": median_aug / median_id,
        "environment": environment(),
    }
    md = (
        f"# Input pipeline cost, IIC on {args.dataset}"
        f"{' (flush denormals)' if args.flush_denormal else ''}\n\n{environment_markdown(payload['environment'])}\n"
        "| measurement | median (s) | runs |\n| --- | --- | --- |\n"
        f"| training epoch, default augmentations | {median_aug:.2f} | {len(aug_epochs)} |\n"
        f"| training epoch, identity transforms | {median_id:.2f} | {len(id_epochs)} |\n"
        f"| input pipeline only (batch, transfer, standardise, augment) | {median_pipe:.2f} | {len(pipeline)} |\n\n"
        f"Pipeline share of an epoch: **{payload['pipeline_share_of_epoch']:.1%}** (target <= 15%).  \n"
        f"Epoch with default augmentations / with identity: **{payload['augment_over_identity_epoch_ratio']:.3f}**.\n"
    )
    write_results(args.name or f"input_pipeline_{args.dataset}", payload, md)


if __name__ == "__main__":
    main()
