"""FaissKMeans against scikit-learn's KMeans: fit time and inertia, same data and budget.

    python benchmarks/faiss_kmeans.py --sizes 10000 100000 1000000
    python benchmarks/faiss_kmeans.py --sizes 10000 --threads 1 --out /tmp/fk   # quick check

Data: ``make_blobs``-style float32 vectors, ``--dim`` 256 features, ``--k``
100 centres drawn uniformly in [-10, 10]^d, every point a centre plus
Gaussian noise of standard deviation ``--cluster-std`` (default 20: several
percent of the points lie nearer another centre than their own, so the
clusters overlap as real features do). Generated in chunks, so 1,000,000
points take 1 GiB.

Both estimators get the same budget: ``n_clusters=k``, ``n_init=1``,
``max_iter=20``, random initialisation (k distinct training points) and no
tolerance, i.e. ``KMeans(init="random", tol=0, algorithm="lloyd")``. Each runs
up to 20 Lloyd iterations and stops earlier only at a fixed point (scikit-learn:
labels unchanged; faiss: objective unchanged); ``n_iter_`` is recorded. Both
fits end with labels and inertia for the final centres. ``--kmeans-plus-plus``
adds a row with scikit-learn's default k-means++ initialisation for reference.

The inertia of every fit is recomputed the same way for all of them: the sum,
in float64, of squared distances to the nearest centre. Timings are the wall
time (``time.perf_counter``) of ``fit``, median over ``--repeats``, both
libraries on ``--threads`` threads (default: all cores).

Writes ``benchmarks/results/faiss_kmeans.json`` and ``.md`` (``--out DIR``
writes there instead, e.g. for a quick check that should not be committed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import faiss
import numpy as np
from _common import environment, environment_markdown, write_results
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info, threadpool_limits

TARGET_SIZE, TARGET_SPEEDUP, TARGET_INERTIA = 100_000, 5.0, 0.01
_CHUNK = 65536


def make_data(n_samples: int, dim: int, k: int, cluster_std: float, seed: int) -> tuple[np.ndarray, ...]:
    """Float32 blobs generated chunk by chunk; returns ``X``, the true centres and labels."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10.0, 10.0, size=(k, dim)).astype(np.float32)
    labels = rng.integers(k, size=n_samples)
    X = np.empty((n_samples, dim), dtype=np.float32)
    for start in range(0, n_samples, _CHUNK):
        stop = min(start + _CHUNK, n_samples)
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32)
        noise *= cluster_std
        X[start:stop] = centers[labels[start:stop]] + noise
    return X, centers, labels


def inertia(X: np.ndarray, centers: np.ndarray) -> tuple[float, np.ndarray]:
    """Sum of squared distances to the nearest centre, float64, and the nearest-centre labels."""
    from deepclust_sklearn.clustering import _nearest_centers

    labels, min_sq = _nearest_centers(X, centers)
    return float(min_sq.sum()), labels


def time_fit(make, X: np.ndarray, repeats: int) -> dict:
    times, est = [], None
    for _ in range(repeats):
        est = make()
        start = time.perf_counter()
        est.fit(X)
        times.append(time.perf_counter() - start)
    value, _ = inertia(X, est.cluster_centers_)
    return {
        "fit_s": times,
        "median_fit_s": statistics.median(times),
        "inertia": value,
        "own_inertia": float(est.inertia_),
        "n_iter": int(est.n_iter_),
    }


def run_size(n_samples: int, args) -> dict:
    from deepclust_sklearn import FaissKMeans

    X, centers, labels = make_data(n_samples, args.dim, args.k, args.cluster_std, args.seed)
    true_inertia, nearest_true = inertia(X, centers)
    common = {"n_clusters": args.k, "n_init": 1, "max_iter": args.max_iter, "random_state": args.seed}
    row = {
        "n_samples": n_samples,
        "dim": args.dim,
        "k": args.k,
        "overlap": float(np.mean(nearest_true != labels)),
        "inertia_true_centres": true_inertia,
    }
    row["faiss"] = time_fit(lambda: FaissKMeans(**common), X, args.repeats)
    row["sklearn_random"] = time_fit(
        lambda: KMeans(init="random", tol=0.0, algorithm="lloyd", **common), X, args.repeats
    )
    if args.kmeans_plus_plus:
        row["sklearn_kmeanspp"] = time_fit(
            lambda: KMeans(init="k-means++", tol=0.0, algorithm="lloyd", **common), X, args.repeats
        )
    row["speedup"] = row["sklearn_random"]["median_fit_s"] / row["faiss"]["median_fit_s"]
    row["inertia_rel_diff"] = (row["faiss"]["inertia"] - row["sklearn_random"]["inertia"]) / row["sklearn_random"][
        "inertia"
    ]
    print(
        f"N={n_samples}: faiss {row['faiss']['median_fit_s']:.2f} s, sklearn {row['sklearn_random']['median_fit_s']:.2f} s "
        f"({row['speedup']:.1f}x), inertia difference {row['inertia_rel_diff']:+.3%}",
        flush=True,
    )
    return row


def markdown(payload: dict) -> str:
    s = payload["settings"]
    has_pp = any("sklearn_kmeanspp" in r for r in payload["rows"])
    lines = [
        "# FaissKMeans vs scikit-learn KMeans\n",
        environment_markdown(payload["environment"]),
        f"Threads: faiss {payload['threads']['faiss']}, "
        + ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in payload["threads"]["threadpools"])
        + f". Seed {s['seed']}; total wall time {payload['total_wall_s']:.0f} s.\n",
        f"Data: float32 blobs, {s['k']} centres uniform in [-10, 10]^d, noise std {s['cluster_std']} "
        "(overlap = share of points nearer another true centre than their own).  ",
        f"Both: n_clusters={s['k']}, n_init=1, max_iter={s['max_iter']}, random init (k distinct training points), "
        'no tolerance: `KMeans(init="random", tol=0, algorithm="lloyd")`, so both run up to '
        f"{s['max_iter']} Lloyd iterations and stop earlier only at a fixed point. Inertia recomputed in "
        "float64 for every fit; fit time is the median over "
        f"{s['repeats']} run(s).\n",
        "| N | d | k | overlap | faiss fit (s) | sklearn fit (s) | sklearn / faiss | faiss inertia | sklearn inertia "
        "| rel. diff | iterations faiss / sklearn |"
        + (" sklearn k-means++ fit (s) | k-means++ inertia |" if has_pp else ""),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if has_pp else ""),
    ]
    for r in payload["rows"]:
        f, k = r["faiss"], r["sklearn_random"]
        line = (
            f"| {r['n_samples']:,} | {r['dim']} | {r['k']} | {r['overlap']:.1%} | {f['median_fit_s']:.2f} | "
            f"{k['median_fit_s']:.2f} | {r['speedup']:.1f}x | {f['inertia']:.6g} | {k['inertia']:.6g} | "
            f"{r['inertia_rel_diff']:+.2%} | {f['n_iter']} / {k['n_iter']} |"
        )
        if has_pp:
            pp = r.get("sklearn_kmeanspp")
            line += f" {pp['median_fit_s']:.2f} | {pp['inertia']:.6g} |" if pp else " | |"
        lines.append(line)
    target = [r for r in payload["rows"] if r["n_samples"] == TARGET_SIZE]
    if target:
        r = target[0]
        ok = r["speedup"] >= TARGET_SPEEDUP and abs(r["inertia_rel_diff"]) <= TARGET_INERTIA
        lines.append(
            f"\nTarget at N={TARGET_SIZE:,} (faiss >= {TARGET_SPEEDUP:.0f}x faster, inertia within "
            f"{TARGET_INERTIA:.0%}): **{'met' if ok else 'not met'}** ({r['speedup']:.1f}x, "
            f"{r['inertia_rel_diff']:+.2%})."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--cluster-std", type=float, default=20.0)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="threads for both libraries (default: all cores)")
    parser.add_argument("--kmeans-plus-plus", action="store_true", help="add scikit-learn's default k-means++ init")
    parser.add_argument("--out", type=Path, default=None, help="write the results here instead of benchmarks/results")
    parser.add_argument("--name", default="faiss_kmeans", help="result file stem")
    args = parser.parse_args()

    start = time.perf_counter()
    if args.threads is not None:
        faiss.omp_set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        threads = {
            "faiss": faiss.omp_get_max_threads(),
            "threadpools": [{k: p[k] for k in ("internal_api", "num_threads")} for p in threadpool_info()],
        }
        rows = [run_size(n, args) for n in args.sizes]
    payload = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "name")},
        "threads": threads,
        "rows": rows,
        "total_wall_s": time.perf_counter() - start,
        "environment": environment(),
    }
    md = markdown(payload)
    if args.out is None:
        write_results(args.name, payload, md)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.name}.json").write_text(json.dumps(payload, indent=2) + "\n")
        (args.out / f"{args.name}.md").write_text(md)
        print(f"wrote {args.out / args.name}.json and .md")


if __name__ == "__main__":
    main()
