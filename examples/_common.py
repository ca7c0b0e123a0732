"""Helpers shared by the example scripts (not part of the library).

The examples run on scikit-learn's 8x8 digits by default. With ``--mnist``
they use the MNIST test set when a local copy exists in
``../shared/data/mnist-test`` (relative to the repository root); nothing is
ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepclust_sklearn import clustering_scores, load_digits_images, load_idx_folder, load_mnist

REPO_ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO_ROOT.parent / "shared" / "data" / "mnist-test"
CIFAR_DIR = REPO_ROOT.parent / "shared" / "data" / "cifar10-test"


def load_cifar10_test() -> tuple[np.ndarray, np.ndarray] | None:
    """CIFAR-10-test ``(10000, 3, 32, 32)`` float32 in [0, 1] and its labels, from IDX files; ``None`` if absent."""
    if not CIFAR_DIR.is_dir():
        return None
    return load_idx_folder(CIFAR_DIR)


def load_images(mnist: bool = False) -> tuple[str, np.ndarray, np.ndarray]:
    """``(name, X, y)``: digits ``(1797, 1, 8, 8)`` or MNIST-test ``(10000, 1, 28, 28)``.

    ``mnist=True`` falls back to digits, with a note, when no local copy of
    MNIST-test is found.
    """
    if mnist:
        if MNIST_DIR.is_dir():
            X, y = load_mnist(MNIST_DIR, subset="test")
            return "mnist-test", X, y
        print(f"note: --mnist given but no MNIST-test copy in {MNIST_DIR}; using digits instead.")
    X, y = load_digits_images()
    return "digits", X, y


def scores_row(name: str, y_true, y_pred, seconds: float) -> dict:
    """One result row: method name, ACC, NMI, ARI and wall time."""
    return {"method": name, **clustering_scores(y_true, y_pred), "seconds": seconds}


def print_table(rows: list[dict], extra: tuple[str, ...] = ()) -> None:
    """Print result rows as a Markdown table (ACC/NMI/ARI to 3 decimals)."""
    columns = ["method", *extra, "acc", "nmi", "ari", "seconds"]
    header = ["method", *extra, "ACC", "NMI", "ARI", "wall (s)"]
    cells = []
    for row in rows:
        line = []
        for col in columns:
            value = row[col]
            if col == "seconds":
                line.append(f"{value:.1f}")
            elif isinstance(value, float):
                line.append(f"{value:.3f}")
            else:
                line.append(str(value))
        cells.append(line)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for line in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")
