"""Peak memory of fit, predict and transform on a float32 ``numpy.memmap`` of N x 64 vectors.

    python benchmarks/memory_scale.py --sizes 100000 1000000

Each measurement runs in a fresh child process. A thread samples
``/proc/self/status`` every 5 ms and keeps the peaks of

- ``RssAnon``: anonymous memory (heap, torch tensors, numpy results) — what a
  copy of the input or an N-sized intermediate would show up in;
- ``VmRSS``: all resident memory, including the memmap's file pages, which the
  kernel counts while they are cached and can drop at will.

Reported per operation: the peak anonymous memory above the process's level
just before the operation, next to the size of the operation's output
(``predict``: N int64; ``transform``: N x 10 float32) and of the input
(N x 64 float32). ``predict``/``transform`` use an estimator fitted on the
first 5,000 rows; ``fit`` trains one epoch on all N rows. The backbone is a
one-layer MLP (128 units): memory, not accuracy, is measured here.

Writes ``benchmarks/results/memory_scale.json`` and ``.md`` (``--name`` picks
another stem, e.g. for ``--methods dac`` alone).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import environment, environment_markdown, write_results

N_FEATURES = 64
N_CLUSTERS = 10
METHODS = ("iic", "dac", "deepcluster")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class PeakSampler:
    """Samples RssAnon and VmRSS in a background thread; ``peaks`` are in MiB."""

    def __enter__(self):
        self._stop = threading.Event()
        self.anon_before = _status_kib("RssAnon") / 1024
        self.rss_before = _status_kib("VmRSS") / 1024
        self.peak_anon, self.peak_rss = self.anon_before, self.rss_before
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        self.peak_anon = max(self.peak_anon, _status_kib("RssAnon") / 1024)
        self.peak_rss = max(self.peak_rss, _status_kib("VmRSS") / 1024)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def make_estimator(method: str):
    from deepclust_sklearn import DACEstimator, DeepClusterEstimator, IICEstimator

    # a small MLP: memory, not accuracy, is measured; the data path is the defaults'
    common = dict(n_clusters=N_CLUSTERS, max_epochs=1, batch_size=256, module_kwargs={"hidden": (128,)}, random_state=0)
    if method == "iic":  # one head, one sub-head, one copy per image: the data path is the same, 10x faster
        return IICEstimator(overcluster=None, n_subheads=1, repeats=1, **common)
    if method == "dac":
        return DACEstimator(**common)
    return DeepClusterEstimator(n_pseudo_clusters=100, **common)


def measure(method: str, operation: str, path: str, n: int, queue) -> None:
    """Child process: open the memmap, prepare, measure one operation, report."""
    import warnings

    import torch

    torch.manual_seed(0)
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, N_FEATURES))
    est = make_estimator(method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if operation != "fit":
            est.fit(np.asarray(X[:5000]))
        start = time.perf_counter()
        with PeakSampler() as sampler:
            out = getattr(est, operation)(X)
        seconds = time.perf_counter() - start
    output_mib = 0.0 if operation == "fit" else out.nbytes / 2**20
    queue.put(
        {
            "method": method,
            "operation": operation,
            "n_samples": n,
            "input_mib": n * N_FEATURES * 4 / 2**20,
            "output_mib": output_mib,
            "anon_above_start_mib": sampler.peak_anon - sampler.anon_before,
            "peak_anon_mib": sampler.peak_anon,
            "peak_rss_mib": sampler.peak_rss,
            "seconds": seconds,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--operations", nargs="+", default=["predict", "transform", "fit"], choices=["predict", "transform", "fit"]
    )
    parser.add_argument(
        "--name", default="memory_scale", help="results file stem under benchmarks/results/ (for a partial re-run)"
    )
    args = parser.parse_args()

    rows = []
    context = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = str(Path(tmp) / f"X_{n}.f32")
            rng = np.random.default_rng(0)
            X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, N_FEATURES))
            centres = rng.normal(scale=4.0, size=(N_CLUSTERS, N_FEATURES)).astype(np.float32)
            for start in range(0, n, 100_000):  # written in chunks: the parent never holds X either
                stop = min(n, start + 100_000)
                X[start:stop] = centres[rng.integers(N_CLUSTERS, size=stop - start)] + rng.normal(
                    size=(stop - start, N_FEATURES)
                ).astype(np.float32)
            X.flush()
            del X
            for method in args.methods:
                for operation in args.operations:
                    queue = context.Queue()
                    child = context.Process(target=measure, args=(method, operation, path, n, queue))
                    child.start()
                    child.join()
                    if child.exitcode != 0:
                        raise SystemExit(
                            f"{method} {operation} N={n} failed in its child process (exit {child.exitcode})."
                        )
                    row = queue.get()
                    rows.append(row)
                    print(json.dumps(row))

    env = environment()
    header = (
        "| method | operation | N | input (MiB) | output (MiB) | peak anon above start (MiB) | "
        "peak RSS incl. memmap pages (MiB) | seconds |\n|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['method']} | {r['operation']} | {r['n_samples']:,} | {r['input_mib']:.0f} | {r['output_mib']:.1f} | "
        f"{r['anon_above_start_mib']:.0f} | {r['peak_rss_mib']:.0f} | {r['seconds']:.1f} |\n"
        for r in rows
    )
    markdown = (
        "# Peak memory on a float32 memmap (N x 64)\n\n"
        "`python benchmarks/memory_scale.py "
        + " ".join(sys.argv[1:])
        + "`\n\n"
        + header
        + body
        + "\n"
        + environment_markdown(env)
    )
    write_results(args.name, {"environment": env, "rows": rows}, markdown)


if __name__ == "__main__":
    main()
