"""Shared pieces of the benchmark scripts: data, environment record, result files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist-test"


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``digits`` (sklearn, 1797 8x8 images) or ``mnist-test`` (../shared/data, 10k 28x28)."""
    from deepclust_sklearn import load_digits_images, load_mnist

    if name == "digits":
        return load_digits_images()
    if name == "mnist-test":
        if not MNIST_DIR.is_dir():
            sys.exit(f"MNIST-test not found at {MNIST_DIR}; it is read from ../shared/data beside the repo.")
        return load_mnist(MNIST_DIR, subset="test")
    sys.exit(f"unknown dataset {name!r}; choose 'digits' or 'mnist-test'.")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict:
    """Machine, versions and commit, recorded next to every result."""
    import faiss
    import sklearn
    import skorch
    import torch

    import deepclust_sklearn

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "deepclust_sklearn"], cwd=REPO, capture_output=True, text=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", False
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "versions": {
            "python": platform.python_version(),
            "deepclust_sklearn": deepclust_sklearn.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__,
            "skorch": skorch.__version__,
            "scikit-learn": sklearn.__version__,
            "faiss": getattr(faiss, "__version__", "unknown"),
        },
        "commit": commit + ("+dirty" if dirty else ""),
    }


def write_results(stem: str, payload: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown)
    print(f"wrote {RESULTS / stem}.json and .md")


def environment_markdown(env: dict) -> str:
    m, v = env["machine"], env["versions"]
    return (
        f"Machine: {m['cpu']}, {m['cpu_count']} cores, torch threads {m['torch_threads']}, GPU {m['gpu']}; "
        f"{m['platform']}.  \n"
        f"Versions: "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f".  \nCommit {env['commit']}, {env['date']}.\n"
    )
