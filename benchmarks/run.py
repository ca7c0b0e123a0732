"""Run a clustering method on a benchmark dataset over a list of seeds.

    python benchmarks/run.py --method iic --dataset mnist-test --seeds 0 1 2
    python benchmarks/run.py --method iic --dataset digits --seeds 0 1 2 --set max_epochs=20
    python benchmarks/run.py --method dac --dataset mnist-test --seeds 0 1 2
    python benchmarks/run.py --method deepcluster --dataset mnist-test --seeds 0 1 2

Writes ``benchmarks/results/<method>_<dataset>.json`` and ``.md`` with ACC,
NMI, ARI, wall time and epochs per seed, their mean/min, the machine, the
versions and the seeds, plus k-means on the same input as a baseline row.
Labels are used only to score.
"""

from __future__ import annotations

import argparse
import ast
import re
import time

import numpy as np
from _common import environment, environment_markdown, load_dataset, write_results
from sklearn.cluster import KMeans


def make_estimator(method: str, seed: int, overrides: dict):
    from deepclust_sklearn import DACEstimator, DeepClusterEstimator, IICEstimator

    classes = {"iic": IICEstimator, "dac": DACEstimator, "deepcluster": DeepClusterEstimator}
    factories = {
        name: (lambda cls=cls: cls(n_clusters=10, random_state=seed, **overrides)) for name, cls in classes.items()
    }
    if method not in factories:
        raise SystemExit(f"unknown method {method!r}; choose from {sorted(factories)}.")
    return factories[method]()


def run_one(method: str, X: np.ndarray, y: np.ndarray, seed: int, overrides: dict) -> dict:
    from deepclust_sklearn import clustering_scores

    start = time.perf_counter()
    if method == "kmeans":
        labels = KMeans(n_clusters=10, n_init=10, random_state=seed).fit_predict(X.reshape(len(X), -1))
        epochs = None
    else:
        est = make_estimator(method, seed, overrides).fit(X)
        labels, epochs = est.labels_, len(est.history_)
    wall = time.perf_counter() - start
    return {
        "seed": seed,
        **clustering_scores(y, labels),
        "wall_s": round(wall, 2),
        "epochs": epochs,
        "n_clusters_found": int(len(np.unique(labels))),
    }


def summarise(rows: list[dict]) -> dict:
    out = {}
    for key in ("acc", "nmi", "ari", "wall_s"):
        vals = np.array([r[key] for r in rows], dtype=float)
        out[key] = {
            "mean": float(vals.mean()),
            "std": float(vals.std()),
            "min": float(vals.min()),
            "max": float(vals.max()),
        }
    return out


def markdown(method: str, dataset: str, overrides: dict, runs: dict, env: dict) -> str:
    lines = [
        f"# {method} on {dataset}\n",
        environment_markdown(env),
        f"Settings: defaults{(' + ' + str(overrides)) if overrides else ''}.\n",
        "| method | seed | ACC | NMI | ARI | wall (s) | epochs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, rows in runs.items():
        for r in rows:
            lines.append(
                f"| {name} | {r['seed']} | {r['acc']:.4f} | {r['nmi']:.4f} | {r['ari']:.4f} | "
                f"{r['wall_s']:.1f} | {r['epochs'] if r['epochs'] is not None else '-'} |"
            )
        s = summarise(rows)
        lines.append(
            f"| **{name} mean** | | **{s['acc']['mean']:.4f}** (min {s['acc']['min']:.4f}) | "
            f"{s['nmi']['mean']:.4f} | {s['ari']['mean']:.4f} | {s['wall_s']['mean']:.1f} "
            f"(max {s['wall_s']['max']:.1f}) | |"
        )
    return "\n".join(lines) + "\n"


def _augmenter(value: str):
    """``VectorAugmenter(neighbour=0.5)`` and the like: a class of ``deepclust_sklearn.augment`` with literal
    keyword arguments, built; ``None`` for any other string."""
    from deepclust_sklearn import augment

    match = re.fullmatch(r"(\w+)\((.*)\)", value)
    if not match or match.group(1) not in augment.__all__:
        return None
    call = ast.parse(f"f({match.group(2)})", mode="eval").body
    if call.args:
        raise SystemExit(f"--set {value}: give the augmenter's arguments by keyword.")
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    return getattr(augment, match.group(1))(**kwargs)


def parse_overrides(pairs: list[str]) -> dict:
    """``PARAM=VALUE`` pairs: Python literals, ``torch.optim.<Name>``, or an augmenter call such as
    ``augment=VectorAugmenter(noise=0.2, mask=0.0, neighbour=0.5)``; anything else stays a string."""
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        augmenter = _augmenter(value)
        if augmenter is not None:
            overrides[key] = augmenter
            continue
        if value.startswith("torch.optim."):  # an optimiser class by name, e.g. optimizer=torch.optim.RMSprop
            import torch

            overrides[key] = getattr(torch.optim, value.rsplit(".", 1)[1])
            continue
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", required=True, choices=["iic", "dac", "deepcluster"])
    parser.add_argument("--dataset", required=True, choices=["digits", "mnist-test"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="PARAM=VALUE",
        help="estimator parameters to override (recorded in the results)",
    )
    parser.add_argument("--name", default=None, help="result file stem (default <method>_<dataset>)")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    X, y = load_dataset(args.dataset)
    env = environment()
    runs: dict[str, list[dict]] = {"kmeans (pixels)": [], args.method: []}
    for seed in args.seeds:
        for name, method in (("kmeans (pixels)", "kmeans"), (args.method, args.method)):
            row = run_one(method, X, y, seed, overrides if method != "kmeans" else {})
            runs[name].append(row)
            print(
                f"{name:16s} seed {seed}: ACC {row['acc']:.4f} NMI {row['nmi']:.4f} ARI {row['ari']:.4f} "
                f"{row['wall_s']:.1f}s",
                flush=True,
            )
    payload = {
        "method": args.method,
        "dataset": args.dataset,
        "n_samples": int(len(X)),
        "seeds": args.seeds,
        "overrides": overrides,
        "environment": env,
        "runs": runs,
        "summary": {name: summarise(rows) for name, rows in runs.items()},
    }
    write_results(
        args.name or f"{args.method}_{args.dataset}", payload, markdown(args.method, args.dataset, overrides, runs, env)
    )


if __name__ == "__main__":
    main()
