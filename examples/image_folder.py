"""Cluster a folder of image files: write PNGs, load them, cluster, look at each cluster, assign new ones.

A folder of photos is read the same way; here the folder is made from
scikit-learn's 8x8 digits so that the clusters can be scored. The script

1. writes 1,697 digits as 16x16 PNGs into ``<folder>/train/<digit>/`` and
   100 held-out ones into ``<folder>/new/<digit>/``;
2. loads ``train/`` with :func:`~deepclust_sklearn.load_image_folder`,
   shrinking the images back to 8x8 and writing them to a memory-mapped
   ``.npy`` file, as one would for a folder larger than memory;
3. fits :class:`~deepclust_sklearn.DeepClusterEstimator` on it and scores
   the clusters against the sub-folder names (used only to score);
4. saves one contact sheet per cluster to ``<folder>/contact_sheets/``;
5. loads ``new/`` and assigns its images to the clusters with ``predict``.

DeepCluster trains its default 60 epochs, as in ``plot_clusters.py``;
``--quick`` trains 3 (ACC about 0.91 instead of 0.93), which the tests use::

    python examples/image_folder.py                    # in a new temporary folder, kept
    python examples/image_folder.py --folder my_pngs   # a new or empty folder of your choice
    python examples/image_folder.py --quick            # 3 epochs instead of 60

Needs Pillow and matplotlib: ``pip install "deepclust_sklearn[images,plot]"``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, never open windows
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from deepclust_sklearn import (  # noqa: E402
    DeepClusterEstimator,
    clustering_scores,
    load_digits_images,
    load_image_folder,
)
from deepclust_sklearn.plotting import ClusterSamplesDisplay  # noqa: E402

N_NEW = 100  # held-out digits written to new/ and assigned with predict


def write_digit_pngs(folder: Path) -> None:
    """Digits as 16x16 grey PNGs in ``train/<digit>/`` and ``new/<digit>/`` (sklearn's digits, nothing downloaded)."""
    X, y = load_digits_images()
    new = set(np.random.default_rng(0).choice(len(X), size=N_NEW, replace=False).tolist())
    for i, (image, digit) in enumerate(zip(X, y)):
        subset = "new" if i in new else "train"
        target = folder / subset / str(digit) / f"{i:04d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        pixels = np.rint(image[0] * 255).astype(np.uint8)
        Image.fromarray(pixels).resize((16, 16), Image.Resampling.NEAREST).save(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a new or empty folder to work in (default: a new temporary one)")
    parser.add_argument("--quick", action="store_true", help="train 3 epochs instead of 60")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    args = parser.parse_args()

    folder = args.folder or Path(tempfile.mkdtemp(prefix="deepclust_image_folder_"))
    if folder.exists() and any(folder.iterdir()):
        parser.error(f"--folder {folder} is not empty; pass a new or empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    write_digit_pngs(folder)
    n_files = sum(1 for _ in folder.rglob("*.png"))
    print(f"wrote {n_files} PNGs of 16x16 pixels to {folder}/train/<digit>/ and {folder}/new/<digit>/")

    # Load: resize to 8x8, grey, straight into a float32 .npy memmap on disk.
    X, paths, folder_names = load_image_folder(
        folder / "train", image_size=8, color_mode="grey", return_labels=True, out=folder / "train_8x8.npy"
    )
    print(f"loaded {type(X).__name__} {X.shape} {X.dtype} from {len(paths)} files (labels used only to score)")

    start = time.perf_counter()
    est = DeepClusterEstimator(n_clusters=10, random_state=0, device=args.device)
    if args.quick:
        est.set_params(max_epochs=3)
    est.fit(X)  # trains from the memmap without copying it
    seconds = time.perf_counter() - start
    scores = clustering_scores(folder_names, est.labels_)
    print(
        f"DeepClusterEstimator: ACC {scores['acc']:.3f}  NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}  "
        f"({seconds:.1f} s, {est.max_epochs} epochs)"
    )

    sheets = folder / "contact_sheets"
    sheets.mkdir()
    for k in range(est.n_clusters):
        members = np.flatnonzero(est.labels_ == k)
        if not len(members):
            continue
        name, count = Counter(folder_names[members].tolist()).most_common(1)[0]
        summary = f"cluster {k}: {len(members)} images, {count / len(members):.0%} from folder '{name}'"
        display = ClusterSamplesDisplay.from_predictions(
            X[members], est.labels_[members], n_samples=12, random_state=0, title=summary
        )
        display.figure_.savefig(sheets / f"cluster_{k}.png", dpi=80)
        plt.close(display.figure_)
        print(summary)
    print(f"saved {len(list(sheets.glob('*.png')))} contact sheets to {sheets}/")

    # New images: same loading parameters, then predict.
    X_new, new_paths, new_names = load_image_folder(folder / "new", image_size=8, return_labels=True)
    assigned = est.predict(X_new)
    for path, cluster in list(zip(new_paths, assigned))[:5]:
        print(f"  {Path(path).relative_to(folder)} -> cluster {cluster}")
    new_scores = clustering_scores(new_names, assigned)
    print(f"new images: {len(assigned)} assigned with predict, ACC {new_scores['acc']:.3f} against their folders")


if __name__ == "__main__":
    main()
