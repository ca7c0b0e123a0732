"""Choosing without labels: GridSearchCV on ``score`` and the number of clusters, on the dev sets.

    python benchmarks/label_free.py search --datasets digits --methods iic dac deepcluster
    python benchmarks/label_free.py n-clusters --datasets digits --methods dac --ks 5 6 7 8 9 10 11 12

``search``: what ``GridSearchCV(estimator, grid, cv=[(all, all)]).fit(X)``
computes, with no ``y`` and no ``scoring`` (tests/test_score.py checks that
GridSearchCV ranks by ``score``): per setting, fit on X and the label-free
``score(X)`` (the mutual information between the clusters of X and of
transformed copies); train = test = all of X, since clustering is
transductive: the question is which setting clusters *this* X best. One
cell per setting, so the run resumes. Labels only judge the result: the
ACC of the setting with the highest score against the grid's best ACC.

``n-clusters``: one fit per candidate ``n_clusters``; per fit the label-free
quantities from ``score``'s two labellings (sample, transformed copy): the
mutual information ``I``, the entropy ``H`` of the labels, and the
adjusted mutual information ``AMI`` (corrected for chance, so it does not
grow with k by itself); the table reports which k each rule picks.

Both write one cell per fit under ``benchmarks/results/label_free/`` (a
rerun skips the cells present, so a long run continues across sessions)
and the summaries ``results/label_free_search.{json,md}`` and
``results/n_clusters.{json,md}``.
"""

from __future__ import annotations

import argparse
import ast
import json
import time

import numpy as np
import torch
from _common import RESULTS, environment, environment_markdown, write_results
from suite import DATASETS

CELLS = RESULTS / "label_free"

# Per method: settings a user would plausibly try (the default first).
GRIDS = {
    "iic": {"lr": [3e-3, 1e-3], "entropy_weight": [1.5, 1.0]},
    "dac": {"lr": [1e-3, 3e-4], "batch_size": [64, 128]},
    "deepcluster": {"lr": [0.05, 0.01], "reassign": [3, 1]},
}


def _estimator(method: str, **params):
    from deepclust_sklearn import DACEstimator, DeepClusterEstimator, IICEstimator

    cls = {"iic": IICEstimator, "dac": DACEstimator, "deepcluster": DeepClusterEstimator}[method]
    return cls(**params)


def _grid_points(grid: dict) -> list[dict]:
    from sklearn.model_selection import ParameterGrid

    return list(ParameterGrid(grid))


def _cell(kind: str, dataset: str, method: str, name: str):
    return CELLS / f"{kind}__{dataset}__{method}__{name}.json"


def run_search_cell(dataset: str, method: str, params: dict, X, y, seed: int) -> dict:
    """One grid point: fit on X, label-free score on X, ACC/NMI from y."""
    from deepclust_sklearn import clustering_scores

    n_clusters = int(len(np.unique(y)))
    start = time.perf_counter()
    est = _estimator(method, n_clusters=n_clusters, random_state=seed, **params).fit(X)
    wall = time.perf_counter() - start
    from sklearn.metrics import adjusted_mutual_info_score, mutual_info_score

    # the pair that score (and adjusted_mutual_info_score, reported beside it) compares
    labels, copies = est._labels_and_copy_labels(X)
    return {
        "params": params,
        "seed": seed,
        "score": float(mutual_info_score(labels, copies)),
        "AMI": float(adjusted_mutual_info_score(labels, copies)),
        **{k: float(v) for k, v in clustering_scores(y, est.labels_).items()},
        "wall_s": round(wall, 1),
    }


def run_k_cell(dataset: str, method: str, k: int, X, y, seed: int) -> dict:
    from sklearn.metrics import adjusted_mutual_info_score, mutual_info_score

    from deepclust_sklearn import clustering_scores

    start = time.perf_counter()
    est = _estimator(method, n_clusters=k, random_state=seed).fit(X)
    wall = time.perf_counter() - start
    labels, copies = est._labels_and_copy_labels(X)  # the pair score compares
    return {
        "k": k,
        "seed": seed,
        "found": int(len(np.unique(labels))),
        "I": float(mutual_info_score(labels, copies)),
        "H": float(mutual_info_score(labels, labels)),
        "AMI": float(adjusted_mutual_info_score(labels, copies)),
        **{key: float(v) for key, v in clustering_scores(y, est.labels_).items()},
        "wall_s": round(wall, 1),
    }


def _load(kind: str) -> dict:
    out: dict = {}
    for path in sorted(CELLS.glob(f"{kind}__*.json")):
        _, dataset, method, _ = path.stem.split("__", 3)
        out.setdefault(dataset, {}).setdefault(method, []).append(json.loads(path.read_text()))
    return out


def summarise_search(kind: str = "search") -> dict:
    summary = {}
    for dataset, by_method in _load(kind).items():
        for method, cells in by_method.items():
            picked = max(cells, key=lambda c: c["score"])
            by_ami = max(cells, key=lambda c: c.get("AMI", float("nan")))
            best = max(cells, key=lambda c: c["acc"])
            summary.setdefault(dataset, {})[method] = {
                "n_settings": len(cells),
                "picked": picked["params"],
                "picked_acc": picked["acc"],
                "picked_by_ami": by_ami["params"],
                "picked_by_ami_acc": by_ami["acc"],
                "best": best["params"],
                "best_acc": best["acc"],
                "gap": best["acc"] - picked["acc"],
                "picked_is_best": picked is best,
                "cells": sorted(cells, key=lambda c: -c["score"]),
            }
    return summary


def pick_k(cells: list[dict]) -> dict:
    """The k each label-free rule picks from one method's per-k fits on one data set."""
    ks = np.array([c["k"] for c in cells])
    info = np.array([c["I"] for c in cells])
    ami = np.array([c["AMI"] for c in cells])
    return {
        "max I / log k (normalized_score_scorer)": int(ks[np.argmax(info / np.log(ks))]),
        "max I": int(ks[np.argmax(info)]),
        "max AMI": int(ks[np.argmax(ami)]),
        "max I x AMI": int(ks[np.argmax(info * ami)]),
    }


def summarise_k() -> dict:
    summary = {}
    for dataset, by_method in _load("nclusters").items():
        n_classes = {"digits": 10, "mnist-test": 10, "fashion-mnist-test": 10}.get(dataset, 10)
        for method, cells in by_method.items():
            cells = sorted(cells, key=lambda c: c["k"])
            picks = pick_k(cells)
            summary.setdefault(dataset, {})[method] = {
                "n_classes": n_classes,
                "ks": [c["k"] for c in cells],
                "picks": picks,
                "off_by": {rule: k - n_classes for rule, k in picks.items()},
                "cells": cells,
            }
    return summary


def markdown_search(summary: dict, env: dict) -> str:
    lines = [
        "# Label-free GridSearchCV: does `score` pick a good setting?",
        "",
        environment_markdown(env),
        "",
        "GridSearchCV(est, grid) with no y and no scoring, train = test = all of X; "
        "ACC (labels) only judges the pick; 'picked by AMI' ranks by adjusted_mutual_info_score of the same pair instead. "
        "Default grids (a tagged run's settings are listed below): "
        + "; ".join(f"{m}: {g}" for m, g in GRIDS.items())
        + ".",
        "",
        "| data | method | settings | picked (score) | its ACC | grid best ACC | gap | picked the best | "
        "picked by AMI | its ACC |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, by_method in summary.items():
        for method, s in by_method.items():
            lines.append(
                f"| {dataset} | {method} | {s['n_settings']} | {s['picked']} | {s['picked_acc']:.3f} | "
                f"{s['best_acc']:.3f} | {s['gap']:.3f} | {'yes' if s['picked_is_best'] else 'no'} | "
                f"{s['picked_by_ami']} | {s['picked_by_ami_acc']:.3f} |"
            )
    lines += ["", "Every setting (sorted by score):", ""]
    lines += [
        "| data | method | setting | score | AMI | ACC | NMI | wall (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, by_method in summary.items():
        for method, s in by_method.items():
            for c in s["cells"]:
                lines.append(
                    f"| {dataset} | {method} | {c['params']} | {c['score']:.4f} | {c.get('AMI', float('nan')):.3f} | "
                    f"{c['acc']:.3f} | "
                    f"{c['nmi']:.3f} | {c['wall_s']:.0f} |"
                )
    return "\n".join(lines) + "\n"


def markdown_k(summary: dict, env: dict) -> str:
    lines = [
        "# Choosing n_clusters without labels",
        "",
        environment_markdown(env),
        "",
        "One fit per candidate k (defaults otherwise, seed 0). Label-free per fit: I = mutual information of "
        "predict on X and on one transformed copy (what `score` returns), H = entropy of the labels, AMI = "
        "adjusted mutual information of the two labellings. ACC/NMI (labels) only judge. Order of discovery, "
        "for honesty: max AMI was the first rule (digits); it picked 6 on MNIST-test, after which max I / log k was "
        "read off the digits rows (DAC, DeepCluster) and the MNIST-test DAC row; its held-out checks are DAC on Fashion-MNIST-test "
        "and DeepCluster on MNIST-test and Fashion-MNIST-test (swept after the rule was fixed). "
        "Each cell records its "
        "own commit and torch threads (the header above is the summarising run's); cells with a `source` note "
        "came from an exploratory run of the same computation: "
        + (
            ", ".join(
                sorted(
                    {
                        f"{d} {m}"
                        for d, by in summary.items()
                        for m, s in by.items()
                        if any("source" in c for c in s["cells"])
                    }
                )
            )
            or "none"
        )
        + ".",
        "",
        "| data | method | ks | " + " | ".join(pick_k([{"k": 2, "I": 0, "AMI": 0}]).keys()) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in pick_k([{"k": 2, "I": 0, "AMI": 0}])) + " |",
    ]
    for dataset, by_method in summary.items():
        for method, s in by_method.items():
            ks = f"{min(s['ks'])}-{max(s['ks'])} ({len(s['ks'])})"
            picks = " | ".join(f"{k} ({s['off_by'][r]:+d})" for r, k in s["picks"].items())
            lines.append(f"| {dataset} | {method} | {ks} | {picks} |")
    lines += ["", "| data | method | k | found | I | H | I / log k | AMI | ACC | NMI | wall (s) |"]
    lines += ["| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for dataset, by_method in summary.items():
        for method, s in by_method.items():
            for c in s["cells"]:
                lines.append(
                    f"| {dataset} | {method} | {c['k']} | {c['found']} | {c['I']:.3f} | {c['H']:.3f} | "
                    f"{c['I'] / np.log(c['k']):.3f} | {c['AMI']:.3f} | {c['acc']:.3f} | {c['nmi']:.3f} | {c['wall_s']:.0f} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["search", "n-clusters"])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=["iic", "dac", "deepcluster"], choices=list(GRIDS))
    parser.add_argument("--ks", type=int, nargs="+", default=list(range(5, 21)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", nargs="*", default=[], metavar="PARAM=V1,V2", help="search: replace the grid")
    parser.add_argument("--tag", default="", help="search: name for a run with its own --grid (cells kept apart)")
    args = parser.parse_args()
    if args.grid and not args.tag:
        raise SystemExit("--grid replaces the default grids: give the run a --tag so its cells stay apart.")
    grid_override = {
        key: [ast.literal_eval(v) for v in values.split(",")]
        for key, _, values in (g.partition("=") for g in args.grid)
    }
    env = environment()
    CELLS.mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets:
        X, y = DATASETS[dataset][1]()
        for method in args.methods:
            if args.mode == "search":
                grid = grid_override or GRIDS[method]
                jobs = [(p, "_".join(f"{k}={v}" for k, v in sorted(p.items()))) for p in _grid_points(grid)]
            else:
                jobs = [(k, f"k{k}") for k in args.ks]
            for job, name in jobs:
                kind = ("search" + (f"-{args.tag}" if args.tag else "")) if args.mode == "search" else "nclusters"
                path = _cell(kind, dataset, method, f"{name}_seed{args.seed}")
                if path.exists():
                    continue
                if args.mode == "search":
                    cell = run_search_cell(dataset, method, job, X, y, args.seed)
                else:
                    cell = run_k_cell(dataset, method, job, X, y, args.seed)
                cell["commit"], cell["torch_threads"] = env["commit"], torch.get_num_threads()
                path.write_text(json.dumps(cell, indent=2) + "\n")
                print(
                    dataset, method, name, {k: cell[k] for k in cell if k in ("score", "I", "AMI", "acc")}, flush=True
                )
                write_summary(args.mode, env, args.tag)
    write_summary(args.mode, env, args.tag)  # also when every cell was already there


def write_summary(mode: str, env: dict, tag: str = "") -> None:
    if mode == "search":
        summary = summarise_search("search" + (f"-{tag}" if tag else ""))
        stem = "label_free_search" + (f"_{tag}" if tag else "")
        write_results(stem, {"environment": env, "summary": summary}, markdown_search(summary, env))
    else:
        summary = summarise_k()
        write_results("n_clusters", {"environment": env, "summary": summary}, markdown_k(summary, env))


if __name__ == "__main__":
    main()
