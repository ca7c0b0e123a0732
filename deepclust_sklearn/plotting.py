"""Scikit-learn style displays for clustering results.

Three display objects follow the pattern of
:class:`sklearn.metrics.ConfusionMatrixDisplay`: the constructor only stores
the data to draw, :meth:`plot` draws it with matplotlib and keeps the
figure and its artists as attributes ending in ``_``, and the class methods
``from_estimator`` / ``from_predictions`` compute the data and plot it in
one call.

* :class:`ClusterSamplesDisplay` -- a grid of sample images, one row per
  cluster;
* :class:`ClusterConfusionMatrixDisplay` -- true classes against clusters,
  the clusters reordered by the Hungarian matching, titled with the
  clustering accuracy;
* :class:`TrainingCurvesDisplay` -- per-epoch values of a skorch history
  (loss, DeepCluster's k-means objective, DAC's thresholds, ...).

matplotlib is an optional dependency: it is imported only when something is
drawn, and a missing matplotlib gives an :class:`ImportError` that says how
to install it (``pip install "deepclust_sklearn[plot]"``).
"""

from __future__ import annotations

__all__ = [
    "ClusterConfusionMatrixDisplay",
    "ClusterSamplesDisplay",
    "TrainingCurvesDisplay",
]

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .metrics import _check_clusterings, _contingency_and_matching, _encode_labels

_INSTALL_HINT = 'pip install "deepclust_sklearn[plot]"'

# skorch's own bookkeeping, never plotted unless asked for by name.
_BOOKKEEPING_KEYS = frozenset({"epoch", "dur", "batches", "train_batch_count", "valid_batch_count"})


def _import_pyplot(owner: str):
    """Import ``matplotlib.pyplot`` or explain how to install matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{owner} needs matplotlib to draw, and matplotlib could not be "
            f"imported ({exc}). Install it with `{_INSTALL_HINT}` "
            "(or `pip install matplotlib`)."
        ) from exc
    return plt


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


# --------------------------------------------------------------------- images
def _check_image_shape(image_shape) -> tuple[int, int, int]:
    """``image_shape`` as ``(C, H, W)``; ``(H, W)`` means one channel."""
    msg = f"image_shape must be (H, W) or (C, H, W) with positive integer sizes; got {image_shape!r}."
    try:
        dims = tuple(image_shape)
    except TypeError:
        raise ValueError(msg) from None
    if len(dims) not in (2, 3) or any(
        isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 1 for d in dims
    ):
        raise ValueError(msg)
    dims = tuple(int(d) for d in dims)
    return (1, *dims) if len(dims) == 2 else dims  # type: ignore[return-value]


def _as_image_batch(X, image_shape) -> np.ndarray:
    """View ``X`` as an ``(n, C, H, W)`` array without copying when possible.

    2-D input (flattened images) needs ``image_shape``; 3-D input is
    ``(n, H, W)`` grey-scale; 4-D input is ``(n, C, H, W)``.
    """
    if hasattr(X, "to_numpy"):  # pandas DataFrame
        X = X.to_numpy()
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numeric pixel values; got dtype {X.dtype}.")
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            "X must be 2-D (n_samples, C*H*W) flattened images with image_shape, "
            "3-D (n_samples, H, W) or 4-D (n_samples, C, H, W); got an array of "
            f"shape {X.shape}."
        )
    shape = None if image_shape is None else _check_image_shape(image_shape)
    if X.ndim == 2:
        if shape is None:
            raise ValueError(
                f"X is 2-D with {X.shape[1]} features per sample; pass "
                "image_shape=(H, W) or (C, H, W) to show its rows as images."
            )
        size = int(np.prod(shape))
        if size != X.shape[1]:
            raise ValueError(
                f"image_shape={tuple(image_shape)!r} holds {size} values but X has "
                f"{X.shape[1]} features per sample; flattened images must have "
                "C*H*W features."
            )
        return X.reshape(len(X), *shape)
    own = (1, *X.shape[1:]) if X.ndim == 3 else tuple(X.shape[1:])
    if shape is not None and shape != own:
        raise ValueError(f"X holds images of shape {own} (C, H, W) but image_shape={tuple(image_shape)!r}.")
    return X.reshape(len(X), *own)


def _to_displayable(images: np.ndarray) -> np.ndarray:
    """``(n, C, H, W)`` -> ``(n, H, W)`` grey or ``(n, H, W, 3)`` RGB.

    One channel is grey, three channels are RGB, any other number of
    channels shows the first channel only.
    """
    if images.shape[1] == 3:
        return np.transpose(images, (0, 2, 3, 1))
    return images[:, 0]


class ClusterSamplesDisplay:
    """Sample images of every cluster, one row per cluster.

    Looking at a few members of each cluster is the quickest check of what a
    clustering found. Create the display with :meth:`from_estimator` or
    :meth:`from_predictions`; the constructor only stores images that are
    ready to draw. All images share one colour scale.

    Parameters
    ----------
    images : list of ndarray
        One entry per row: an array of shape ``(n_shown, H, W)`` (grey
        scale) or ``(n_shown, H, W, 3)`` (RGB) of that cluster's images.
        Rows may hold different numbers of images (a small cluster shows
        all of its members); ``n_shown`` may be 0.
    cluster_labels : array-like of shape (n_rows,), default=None
        Label of each row's cluster. ``None`` numbers the rows from 0.
    cluster_sizes : array-like of shape (n_rows,), default=None
        Number of samples in each cluster, shown next to its label.
    sample_indices : list of ndarray, default=None
        Row indices in ``X`` of the images shown (kept for reference).

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        Figure holding the grid.
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_columns)
        One Axes per cell; ``n_columns`` is the largest number of images
        in a row. Cells without an image are switched off.
    images_ : ndarray of object, shape (n_rows, n_columns)
        The :class:`~matplotlib.image.AxesImage` of each cell, or ``None``
        for an empty cell.

    See Also
    --------
    ClusterConfusionMatrixDisplay : True classes against clusters.
    TrainingCurvesDisplay : Per-epoch training values.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from deepclust_sklearn import DeepClusterEstimator, make_image_blobs
    >>> from deepclust_sklearn.plotting import ClusterSamplesDisplay
    >>> X, y = make_image_blobs(n_samples=60, n_clusters=3, random_state=0)
    >>> disp = ClusterSamplesDisplay.from_predictions(X, y, n_samples=4)
    >>> disp.axes_.shape, disp.images_[0, 0].get_array().shape
    ((3, 4), (8, 8))

    Flattened images need their shape; a fitted estimator knows it:

    >>> disp = ClusterSamplesDisplay.from_predictions(
    ...     X.reshape(60, -1), y, image_shape=(1, 8, 8), n_samples=2)
    >>> est = DeepClusterEstimator(n_clusters=3, max_epochs=3, batch_size=32,
    ...                            embedding_dim=16, random_state=0).fit(X)
    >>> disp = ClusterSamplesDisplay.from_estimator(est, X, n_samples=5)
    >>> disp.axes_.shape
    (3, 5)
    >>> plt.close("all")
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        *,
        cluster_labels: ArrayLike | None = None,
        cluster_sizes: ArrayLike | None = None,
        sample_indices: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.images = images
        self.cluster_labels = cluster_labels
        self.cluster_sizes = cluster_sizes
        self.sample_indices = sample_indices

    def plot(
        self,
        ax=None,
        *,
        cmap: Any = "gray",
        vmin: float | None = None,
        vmax: float | None = None,
        title: str | None = None,
    ) -> ClusterSamplesDisplay:
        """Draw the grid.

        Parameters
        ----------
        ax : array-like of matplotlib Axes or None, default=None
            ``n_rows * n_columns`` Axes to draw into, in row-major order
            (e.g. from ``fig.subplots(n_rows, n_columns)``). ``None`` creates
            a new figure of a size that fits the grid.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey-scale images (ignored for RGB images).
        vmin, vmax : float or None, default=None
            Pixel values drawn as black and white. ``None``: the smallest
            and largest value among the images shown, so that all cells
            share one scale. RGB images are rescaled to ``[0, 1]`` with them
            when their values fall outside ``[0, 1]``.
        title : str or None, default=None
            Figure title.

        Returns
        -------
        display : ClusterSamplesDisplay
            This object, with ``figure_``, ``axes_`` and ``images_`` set.
        """
        plt = _import_pyplot(type(self).__name__)
        rows = [np.asarray(imgs) for imgs in self.images]
        if not rows:
            raise ValueError("images is empty; there is no cluster to show.")
        for k, imgs in enumerate(rows):
            if imgs.ndim not in (3, 4) or (imgs.ndim == 4 and imgs.shape[-1] != 3):
                raise ValueError(
                    "Each entry of images must have shape (n_shown, H, W) or "
                    f"(n_shown, H, W, 3); entry {k} has shape {imgs.shape}."
                )
        n_rows = len(rows)
        n_cols = max(1, max(len(imgs) for imgs in rows))
        labels = list(range(n_rows)) if self.cluster_labels is None else list(np.asarray(self.cluster_labels).tolist())
        sizes = None if self.cluster_sizes is None else list(np.asarray(self.cluster_sizes).tolist())
        for name, values in (("cluster_labels", labels), ("cluster_sizes", sizes)):
            if values is not None and len(values) != n_rows:
                raise ValueError(f"{name} has {len(values)} entries but images has {n_rows} rows.")

        shown = [imgs.astype(np.float64, copy=False).ravel() for imgs in rows if imgs.size]
        pixels = np.concatenate(shown) if shown else np.zeros(1)
        finite = pixels[np.isfinite(pixels)]
        lo = float(finite.min()) if vmin is None and finite.size else (0.0 if vmin is None else float(vmin))
        hi = float(finite.max()) if vmax is None and finite.size else (1.0 if vmax is None else float(vmax))
        if hi <= lo:
            hi = lo + 1.0

        if ax is None:
            fig = plt.figure(figsize=(0.8 + 0.9 * n_cols, 0.3 + 0.9 * n_rows), layout="constrained")
            axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False), dtype=object)
        else:
            axes = np.asarray(ax, dtype=object)
            if axes.size != n_rows * n_cols:
                raise ValueError(
                    f"ax must hold n_rows * n_columns = {n_rows} * {n_cols} = {n_rows * n_cols} Axes; got {axes.size}."
                )
            axes = axes.reshape(n_rows, n_cols)
            fig = axes[0, 0].figure

        artists = np.empty((n_rows, n_cols), dtype=object)
        for i, imgs in enumerate(rows):
            for j in range(n_cols):
                cell = axes[i, j]
                cell.set_xticks([])
                cell.set_yticks([])
                if j >= len(imgs):
                    cell.set_axis_off()
                    continue
                for spine in cell.spines.values():
                    spine.set_visible(False)
                img = imgs[j]
                if img.ndim == 3:  # RGB: imshow needs values in [0, 1]
                    if lo < 0.0 or hi > 1.0:
                        img = np.clip((img - lo) / (hi - lo), 0.0, 1.0)
                    artists[i, j] = cell.imshow(img, interpolation="nearest")
                else:
                    artists[i, j] = cell.imshow(img, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
            text = f"cluster {labels[i]}" + ("" if sizes is None else f"\n(n={sizes[i]})")
            axes[i, 0].set_ylabel(text, rotation=0, ha="right", va="center", labelpad=4)
        if title is not None:
            fig.suptitle(title)
        self.figure_ = fig
        self.axes_ = axes
        self.images_ = artists
        return self

    @classmethod
    def from_predictions(
        cls,
        X: ArrayLike,
        labels: ArrayLike,
        *,
        image_shape: tuple[int, ...] | None = None,
        n_samples: int = 8,
        clusters: ArrayLike | None = None,
        random_state=None,
        ax=None,
        cmap: Any = "gray",
        vmin: float | None = None,
        vmax: float | None = None,
        title: str | None = None,
    ) -> ClusterSamplesDisplay:
        """Show sample images of each cluster given the cluster labels.

        Parameters
        ----------
        X : array-like of shape (n_samples_total, C*H*W), (n_samples_total, H, W) \
                or (n_samples_total, C, H, W)
            Images: one channel is drawn in grey, three as RGB, any other
            number of channels as its first channel. Flattened rows need
            ``image_shape``.
        labels : array-like of shape (n_samples_total,)
            Cluster label of every image.
        image_shape : tuple of int or None, default=None
            ``(C, H, W)`` or ``(H, W)`` of flattened rows of ``X``; when
            ``X`` is 3-D or 4-D it must match the images' shape.
        n_samples : int, default=8
            Images shown per cluster (all members of a smaller cluster).
        clusters : array-like or None, default=None
            The clusters to show, in this order. ``None``: every cluster, in
            sorted order for arrays (in order of first appearance for lists
            of non-numeric labels, as the metrics encode them).
        random_state : int, RandomState instance or None, default=None
            ``None`` shows the first ``n_samples`` members of each cluster in
            the order of ``X``; otherwise a random draw (without
            replacement), shown in the order of ``X``.
        ax, cmap, vmin, vmax, title
            Passed to :meth:`plot`.

        Returns
        -------
        display : ClusterSamplesDisplay
            The drawn display.

        Raises
        ------
        ValueError
            If ``X`` and ``labels`` have different lengths, ``X`` is 2-D
            without a matching ``image_shape``, or a requested cluster does
            not occur in ``labels``.
        """
        images = _as_image_batch(X, image_shape)
        n_shown = _check_positive_int(n_samples, "n_samples")
        codes, uniques = _encode_labels(labels, "labels")
        if len(codes) != len(images):
            raise ValueError(
                f"X and labels must have the same length; got {len(images)} images and {len(codes)} labels."
            )
        if clusters is None:
            wanted = list(range(len(uniques)))
        else:
            requested = np.asarray(clusters, dtype=object).reshape(-1).tolist()
            index = {label: k for k, label in enumerate(uniques)}
            wanted = []
            for c in requested:
                if c not in index:
                    raise ValueError(f"Cluster {c!r} in clusters does not occur in labels; labels present: {uniques}.")
                wanted.append(index[c])
            if not wanted:
                raise ValueError("clusters is empty; pass at least one cluster label.")
        rng = None if random_state is None else check_random_state(random_state)
        shown_images, indices, sizes = [], [], []
        for code in wanted:
            members = np.flatnonzero(codes == code)
            if rng is None or len(members) <= n_shown:
                chosen = members[:n_shown]
            else:
                chosen = np.sort(rng.choice(members, size=n_shown, replace=False))
            indices.append(chosen)
            sizes.append(len(members))
            shown_images.append(_to_displayable(images[chosen]))
        display = cls(
            shown_images,
            cluster_labels=np.asarray([uniques[c] for c in wanted], dtype=object),
            cluster_sizes=np.asarray(sizes),
            sample_indices=indices,
        )
        return display.plot(ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, title=title)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X: ArrayLike,
        *,
        image_shape: tuple[int, ...] | None = None,
        n_samples: int = 8,
        clusters: ArrayLike | None = None,
        random_state=None,
        ax=None,
        cmap: Any = "gray",
        vmin: float | None = None,
        vmax: float | None = None,
        title: str | None = None,
    ) -> ClusterSamplesDisplay:
        """Show sample images of each cluster that a fitted estimator predicts.

        Parameters
        ----------
        estimator : estimator object
            Fitted clusterer with a ``predict`` method.
        X : array-like
            Images passed to ``estimator.predict`` and drawn, as in
            :meth:`from_predictions`.
        image_shape : tuple of int or None, default=None
            Shape of flattened rows. ``None`` uses the estimator's
            ``input_shape_`` when it is an image shape ``(C, H, W)``.
        n_samples, clusters, random_state, ax, cmap, vmin, vmax, title
            As in :meth:`from_predictions`.

        Returns
        -------
        display : ClusterSamplesDisplay
            The drawn display.
        """
        check_is_fitted(estimator)
        if image_shape is None and np.ndim(X) == 2:
            fitted_shape = getattr(estimator, "input_shape_", None)
            if fitted_shape is None or len(fitted_shape) != 3:
                raise ValueError(
                    f"{type(estimator).__name__} was not fitted on images "
                    f"(input_shape_={fitted_shape!r}) and X is 2-D; pass "
                    "image_shape=(H, W) or (C, H, W) to show its rows as images."
                )
            image_shape = tuple(fitted_shape)
        _as_image_batch(X, image_shape)  # check the images before predicting
        labels = estimator.predict(X)
        return cls.from_predictions(
            X,
            labels,
            image_shape=image_shape,
            n_samples=n_samples,
            clusters=clusters,
            random_state=random_state,
            ax=ax,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            title=title,
        )


# ---------------------------------------------------------- confusion matrix
def _matched_confusion(y_true: ArrayLike, y_pred: ArrayLike):
    """Counts with columns in matched order, the matched cells and the ACC."""
    true_codes, pred_codes, classes, clusters = _check_clusterings(y_true, y_pred)
    n_classes, n_clusters = len(classes), len(clusters)
    counts, class_idx, cluster_idx = _contingency_and_matching(true_codes, pred_codes, n_classes, n_clusters)
    matched = dict(zip(class_idx.tolist(), cluster_idx.tolist()))  # class code -> cluster code
    columns = [matched[i] for i in range(n_classes) if i in matched]
    matching = [(i, columns.index(matched[i])) for i in range(n_classes) if i in matched]
    # unmatched clusters: grouped by their majority class, larger ones first
    rest = [j for j in range(n_clusters) if j not in set(columns)]
    rest.sort(key=lambda j: (int(counts[:, j].argmax()), -int(counts[:, j].sum()), j))
    columns += rest
    n_correct = int(sum(counts[i, matched[i]] for i in matched))
    accuracy = n_correct / len(true_codes)
    return counts[:, columns], classes, [clusters[j] for j in columns], matching, accuracy


class ClusterConfusionMatrixDisplay:
    """Confusion matrix of true classes against clusters, Hungarian-ordered.

    Rows are the true classes in sorted order (in order of first appearance
    for lists of non-numeric labels, as the metrics encode them). Columns are the clusters:
    first the cluster matched to each class by the Hungarian method
    (:func:`~deepclust_sklearn.metrics.hungarian_match`), in the order of
    their classes, so that a good clustering shows a strong diagonal; then
    the clusters left unmatched (when there are more clusters than
    classes), grouped by their majority class. Matched cells are outlined
    and the title gives the clustering accuracy (ACC), the share of samples
    in matched cells. More or fewer clusters than classes give a
    rectangular matrix.

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_classes, n_clusters)
        The values to draw, columns already in display order.
    class_labels : array-like of shape (n_classes,), default=None
        Row tick labels. ``None`` numbers the rows from 0.
    cluster_labels : array-like of shape (n_clusters,), default=None
        Column tick labels. ``None`` numbers the columns from 0.
    matching : list of (int, int), default=None
        ``(row, column)`` of the matched cells, outlined when drawn.
    accuracy : float or None, default=None
        Clustering accuracy shown in the title.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        Figure holding the matrix.
    ax_ : matplotlib.axes.Axes
        Axes with the matrix.
    im_ : matplotlib.image.AxesImage
        The drawn matrix.
    text_ : ndarray of shape (n_classes, n_clusters), dtype object, or None
        The value annotations, ``None`` when ``include_values`` is False.
    colorbar_ : matplotlib.colorbar.Colorbar or None
        The colour bar, ``None`` when ``colorbar`` is False.
    match_patches_ : list of matplotlib.patches.Rectangle
        Outlines of the matched cells.

    See Also
    --------
    deepclust_sklearn.metrics.hungarian_match : The matching used here.
    deepclust_sklearn.metrics.clustering_accuracy : The ACC in the title.
    sklearn.metrics.ConfusionMatrixDisplay : The classifier counterpart.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from deepclust_sklearn.plotting import ClusterConfusionMatrixDisplay
    >>> y_true = [0, 0, 0, 1, 1, 1, 2, 2]
    >>> y_pred = [5, 5, 3, 3, 3, 3, 7, 9]
    >>> disp = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred)
    >>> disp.confusion_matrix
    array([[2, 1, 0, 0],
           [0, 3, 0, 0],
           [0, 0, 1, 1]])
    >>> disp.cluster_labels
    [5, 3, 7, 9]
    >>> disp.ax_.get_title()
    'ACC = 0.750'

    With a fitted estimator:

    >>> from deepclust_sklearn import DeepClusterEstimator, make_image_blobs
    >>> X, y = make_image_blobs(n_samples=60, n_clusters=3, random_state=0)
    >>> est = DeepClusterEstimator(n_clusters=3, max_epochs=3, batch_size=32,
    ...                            embedding_dim=16, random_state=0).fit(X)
    >>> disp = ClusterConfusionMatrixDisplay.from_estimator(est, X, y)
    >>> disp.confusion_matrix.shape, int(disp.confusion_matrix.sum())
    ((3, 3), 60)
    >>> plt.close("all")
    """

    def __init__(
        self,
        confusion_matrix: np.ndarray,
        *,
        class_labels: ArrayLike | None = None,
        cluster_labels: ArrayLike | None = None,
        matching: Sequence[tuple[int, int]] | None = None,
        accuracy: float | None = None,
    ) -> None:
        self.confusion_matrix = confusion_matrix
        self.class_labels = class_labels
        self.cluster_labels = cluster_labels
        self.matching = matching
        self.accuracy = accuracy

    def plot(
        self,
        ax=None,
        *,
        include_values: bool = True,
        cmap: Any = "Blues",
        values_format: str | None = None,
        colorbar: bool = True,
        highlight_matches: bool = True,
        xticks_rotation: str | float = "horizontal",
    ) -> ClusterConfusionMatrixDisplay:
        """Draw the matrix.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw into; ``None`` creates a figure sized to the matrix.
        include_values : bool, default=True
            Write the value of every cell.
        cmap : str or matplotlib Colormap, default="Blues"
            Colour map of the cells.
        values_format : str or None, default=None
            Format spec of the values; ``None``: ``"d"`` for counts,
            ``".2f"`` otherwise.
        colorbar : bool, default=True
            Add a colour bar.
        highlight_matches : bool, default=True
            Outline the matched cells.
        xticks_rotation : {"vertical", "horizontal"} or float, default="horizontal"
            Rotation of the cluster tick labels.

        Returns
        -------
        display : ClusterConfusionMatrixDisplay
            This object, with ``figure_``, ``ax_``, ``im_``, ``text_``,
            ``colorbar_`` and ``match_patches_`` set.
        """
        plt = _import_pyplot(type(self).__name__)
        from matplotlib.patches import Rectangle

        cm = np.asarray(self.confusion_matrix)
        if cm.ndim != 2 or cm.size == 0:
            raise ValueError(
                f"confusion_matrix must be a non-empty 2-D array (n_classes, n_clusters); got shape {cm.shape}."
            )
        n_rows, n_cols = cm.shape
        row_labels = list(range(n_rows)) if self.class_labels is None else list(self.class_labels)
        col_labels = list(range(n_cols)) if self.cluster_labels is None else list(self.cluster_labels)
        if len(row_labels) != n_rows or len(col_labels) != n_cols:
            raise ValueError(
                f"class_labels and cluster_labels must have {n_rows} and {n_cols} entries "
                f"for a confusion matrix of shape {cm.shape}; got {len(row_labels)} and "
                f"{len(col_labels)}."
            )

        if ax is None:
            fig, ax = plt.subplots(
                figsize=(min(16.0, 2.5 + 0.5 * n_cols), min(12.0, 1.5 + 0.45 * n_rows)),
                layout="constrained",
            )
        else:
            fig = ax.figure
        im = ax.imshow(cm, interpolation="nearest", cmap=cmap, aspect="auto")

        text = None
        if include_values:
            if values_format is None:
                integral = np.issubdtype(cm.dtype, np.integer) or np.all(np.mod(cm, 1) == 0)
                values_format = "d" if integral else ".2f"
            low_colour, high_colour = im.cmap(0.0), im.cmap(1.0)
            threshold = (float(cm.max()) + float(cm.min())) / 2.0
            text = np.empty(cm.shape, dtype=object)
            for i in range(n_rows):
                for j in range(n_cols):
                    value = cm[i, j]
                    if values_format.endswith("d"):
                        value = int(value)
                    # the colour from the other end of the map stays readable
                    text[i, j] = ax.text(
                        j,
                        i,
                        format(value, values_format),
                        ha="center",
                        va="center",
                        color=low_colour if cm[i, j] > threshold else high_colour,
                        fontsize="small" if n_cols > 15 else None,
                    )

        patches = []
        if highlight_matches and self.matching is not None:
            for i, j in self.matching:
                patch = Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="tab:orange", linewidth=2)
                ax.add_patch(patch)
                patches.append(patch)

        cbar = fig.colorbar(im, ax=ax) if colorbar else None
        ax.set_xticks(np.arange(n_cols), labels=[str(c) for c in col_labels])
        ax.set_yticks(np.arange(n_rows), labels=[str(c) for c in row_labels])
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -0.5)
        plt.setp(ax.get_xticklabels(), rotation=xticks_rotation)
        ax.set_xlabel("Cluster (Hungarian-matched order)")
        ax.set_ylabel("True class")
        if self.accuracy is not None:
            ax.set_title(f"ACC = {self.accuracy:.3f}")

        self.figure_ = fig
        self.ax_ = ax
        self.im_ = im
        self.text_ = text
        self.colorbar_ = cbar
        self.match_patches_ = patches
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: ArrayLike,
        y_pred: ArrayLike,
        *,
        normalize: str | None = None,
        ax=None,
        include_values: bool = True,
        cmap: Any = "Blues",
        values_format: str | None = None,
        colorbar: bool = True,
        highlight_matches: bool = True,
        xticks_rotation: str | float = "horizontal",
    ) -> ClusterConfusionMatrixDisplay:
        """Draw the matched confusion matrix of true classes and cluster labels.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True class labels (used only to evaluate).
        y_pred : array-like of shape (n_samples,)
            Cluster labels.
        normalize : {"true", "pred", "all"} or None, default=None
            Divide the counts by the row sums (``"true"``), the column sums
            (``"pred"``) or the total (``"all"``). The ACC in the title is
            always computed from the counts.
        ax, include_values, cmap, values_format, colorbar, highlight_matches, \
xticks_rotation
            Passed to :meth:`plot`.

        Returns
        -------
        display : ClusterConfusionMatrixDisplay
            The drawn display.

        Raises
        ------
        ValueError
            If the labelings have different lengths, are empty or contain
            NaN or None, or ``normalize`` is not one of the allowed values.
        """
        if normalize not in (None, "true", "pred", "all"):
            raise ValueError(f"normalize must be one of 'true', 'pred', 'all' or None; got {normalize!r}.")
        counts, classes, clusters, matching, accuracy = _matched_confusion(y_true, y_pred)
        matrix: np.ndarray = counts
        if normalize == "true":
            matrix = counts / counts.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            matrix = counts / counts.sum(axis=0, keepdims=True)
        elif normalize == "all":
            matrix = counts / counts.sum()
        display = cls(
            matrix,
            class_labels=classes,
            cluster_labels=clusters,
            matching=matching,
            accuracy=accuracy,
        )
        return display.plot(
            ax=ax,
            include_values=include_values,
            cmap=cmap,
            values_format=values_format,
            colorbar=colorbar,
            highlight_matches=highlight_matches,
            xticks_rotation=xticks_rotation,
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X: ArrayLike,
        y: ArrayLike,
        *,
        normalize: str | None = None,
        ax=None,
        include_values: bool = True,
        cmap: Any = "Blues",
        values_format: str | None = None,
        colorbar: bool = True,
        highlight_matches: bool = True,
        xticks_rotation: str | float = "horizontal",
    ) -> ClusterConfusionMatrixDisplay:
        """Draw the matched confusion matrix of a fitted clusterer on ``X``.

        Parameters
        ----------
        estimator : estimator object
            Fitted clusterer with a ``predict`` method.
        X : array-like
            Samples passed to ``estimator.predict``.
        y : array-like of shape (n_samples,)
            True class labels of ``X`` (used only to evaluate).
        normalize, ax, include_values, cmap, values_format, colorbar, \
highlight_matches, xticks_rotation
            As in :meth:`from_predictions`.

        Returns
        -------
        display : ClusterConfusionMatrixDisplay
            The drawn display.
        """
        check_is_fitted(estimator)
        return cls.from_predictions(
            y,
            estimator.predict(X),
            normalize=normalize,
            ax=ax,
            include_values=include_values,
            cmap=cmap,
            values_format=values_format,
            colorbar=colorbar,
            highlight_matches=highlight_matches,
            xticks_rotation=xticks_rotation,
        )


# ------------------------------------------------------------ training curves
def _is_number(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            return False
        value = value.item()
    return isinstance(value, numbers.Real) and math.isfinite(float(value))


def _history_rows(history) -> list[Mapping]:
    try:
        rows = list(history)
    except TypeError:
        raise ValueError(
            f"history must be a sequence of per-epoch dicts (a skorch History); got {type(history).__name__}."
        ) from None
    if not rows:
        raise ValueError("history is empty; train for at least one epoch first.")
    for row in rows:
        if not isinstance(row, Mapping):
            raise ValueError(
                "history must be a sequence of per-epoch dicts (a skorch History); "
                f"found an entry of type {type(row).__name__}."
            )
    return rows


def _numeric_keys(rows: Sequence[Mapping]) -> list[Hashable]:
    """Keys with at least one finite number, in order of first appearance."""
    keys: dict[Hashable, None] = {}
    for row in rows:
        for key, value in row.items():
            if key not in keys and _is_number(value):
                keys[key] = None
    return list(keys)


class TrainingCurvesDisplay:
    """Per-epoch training values from a skorch history, one subplot per key.

    The fitted estimators of this package keep skorch's ``history_``: a list
    of per-epoch dicts with ``train_loss`` and the method's own values
    (DeepCluster's ``kmeans_objective``, ``empty_clusters`` and
    ``nmi_previous`` on re-clustering epochs; DAC's ``lamb``, ``upper``,
    ``lower``, ``positive_pairs`` and ``selected_pairs``; IIC's
    ``best_subhead_loss``). Epochs where a key is missing, ``None`` or not a
    finite number are skipped, so values recorded only every few epochs are
    drawn at the epochs they were recorded.

    Parameters
    ----------
    curves : dict
        ``{key: (epochs, values)}`` with two 1-D arrays of the same length
        per key, drawn in the order of the dict.
    estimator_name : str or None, default=None
        Shown as the figure title.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        Figure holding the curves.
    axes_ : ndarray of matplotlib Axes
        One Axes per key in the order of ``curves``, or a single Axes
        holding every curve when :meth:`plot` was given one.
    lines_ : dict
        ``{key: matplotlib.lines.Line2D}``.

    See Also
    --------
    ClusterSamplesDisplay : Sample images per cluster.
    ClusterConfusionMatrixDisplay : True classes against clusters.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from deepclust_sklearn import DeepClusterEstimator, make_image_blobs
    >>> from deepclust_sklearn.plotting import TrainingCurvesDisplay
    >>> X, _ = make_image_blobs(n_samples=60, n_clusters=3, random_state=0)
    >>> est = DeepClusterEstimator(n_clusters=3, max_epochs=4, reassign=2, batch_size=32,
    ...                            embedding_dim=16, random_state=0).fit(X)
    >>> disp = TrainingCurvesDisplay.from_estimator(est)
    >>> list(disp.curves)
    ['train_loss', 'kmeans_objective', 'empty_clusters', 'nmi_previous']
    >>> disp.lines_["kmeans_objective"].get_xdata()
    array([1, 3])
    >>> len(disp.axes_)
    4

    Any list of per-epoch dicts works, e.g. to compare runs on one Axes:

    >>> history = [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": None},
    ...            {"epoch": 3, "loss": 1.0}]
    >>> fig, ax = plt.subplots()
    >>> disp = TrainingCurvesDisplay.from_history(history, ax=ax)
    >>> disp.lines_["loss"].get_ydata()
    array([2., 1.])
    >>> plt.close("all")
    """

    def __init__(
        self, curves: Mapping[Hashable, tuple[ArrayLike, ArrayLike]], *, estimator_name: str | None = None
    ) -> None:
        self.curves = curves
        self.estimator_name = estimator_name

    def plot(
        self,
        ax=None,
        *,
        n_cols: int | None = None,
        marker: str | None = "auto",
        line_kwargs: dict | None = None,
    ) -> TrainingCurvesDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, array-like of Axes, or None, default=None
            ``None`` creates a figure with one subplot per key; a single
            Axes draws every curve on it with a legend; an array-like of
            Axes (one per key) draws one curve into each.
        n_cols : int or None, default=None
            Columns of the subplot grid when ``ax`` is None; ``None`` uses
            ``min(3, n_keys)``.
        marker : str or None, default="auto"
            Marker of the points; ``"auto"`` marks the points of curves that
            skip epochs or have a single point, and draws the others as
            plain lines.
        line_kwargs : dict or None, default=None
            Extra keyword arguments for :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : TrainingCurvesDisplay
            This object, with ``figure_``, ``axes_`` and ``lines_`` set.
        """
        plt = _import_pyplot(type(self).__name__)
        keys = list(self.curves)
        if not keys:
            raise ValueError("curves is empty; there is nothing to plot.")
        data = {}
        for key in keys:
            epochs, values = (np.asarray(a) for a in self.curves[key])
            if epochs.ndim != 1 or epochs.shape != values.shape:
                raise ValueError(
                    f"curves[{key!r}] must be a pair of 1-D arrays of the same length; "
                    f"got shapes {epochs.shape} and {values.shape}."
                )
            data[key] = (epochs, values)

        shared = False
        if ax is None:
            cols = min(3, len(keys)) if n_cols is None else _check_positive_int(n_cols, "n_cols")
            cols = min(cols, len(keys))
            n_rows = -(-len(keys) // cols)
            fig = plt.figure(figsize=(3.6 * cols, 2.6 * n_rows), layout="constrained")
            grid = np.asarray(fig.subplots(n_rows, cols, squeeze=False), dtype=object).ravel()
            for extra in grid[len(keys) :]:
                fig.delaxes(extra)
            axes = grid[: len(keys)]
            targets = list(axes)
        elif hasattr(ax, "plot") and hasattr(ax, "figure"):
            shared = True
            fig = ax.figure
            axes = np.asarray([ax], dtype=object)
            targets = [ax] * len(keys)
        else:
            axes = np.asarray(ax, dtype=object).ravel()
            if axes.size != len(keys):
                raise ValueError(
                    f"ax must be one Axes or hold one Axes per key ({len(keys)} keys: {keys}); got {axes.size} Axes."
                )
            fig = axes[0].figure
            targets = list(axes)

        lines = {}
        for key, target in zip(keys, targets):
            epochs, values = data[key]
            kwargs = dict(line_kwargs or {})
            if marker == "auto":
                sparse = len(epochs) < 2 or (np.issubdtype(epochs.dtype, np.number) and np.any(np.diff(epochs) != 1))
                if sparse:
                    kwargs.setdefault("marker", "o")
                    kwargs.setdefault("markersize", 4)
            elif marker is not None:
                kwargs.setdefault("marker", marker)
            (line,) = target.plot(epochs, values, label=str(key), **kwargs)
            lines[key] = line
            target.set_xlabel("epoch")
            if not shared:
                target.set_title(str(key))
            target.grid(True, alpha=0.3)
        if shared:
            axes[0].legend()
        if self.estimator_name is not None:
            fig.suptitle(self.estimator_name)
        self.figure_ = fig
        self.axes_ = axes
        self.lines_ = lines
        return self

    @classmethod
    def from_history(
        cls,
        history,
        *,
        keys: Hashable | Sequence[Hashable] | None = None,
        estimator_name: str | None = None,
        ax=None,
        n_cols: int | None = None,
        marker: str | None = "auto",
        line_kwargs: dict | None = None,
    ) -> TrainingCurvesDisplay:
        """Draw the curves of a history (a list of per-epoch dicts).

        Parameters
        ----------
        history : skorch History or sequence of dict
            One dict per epoch. The epoch of a row is its ``"epoch"`` entry,
            or its position counted from 1.
        keys : str, sequence of str, or None, default=None
            The values to draw. ``None``: ``train_loss`` (when present)
            followed by every other key holding numbers, in order of first
            appearance, leaving out skorch's bookkeeping (``epoch``,
            ``dur``, ``train_batch_count``, ``valid_batch_count``,
            ``batches``) and its ``*_best`` flags.
        estimator_name : str or None, default=None
            Figure title.
        ax, n_cols, marker, line_kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingCurvesDisplay
            The drawn display.

        Raises
        ------
        ValueError
            If the history is empty or not a sequence of dicts, or a
            requested key holds no finite number in any epoch.
        """
        rows = _history_rows(history)
        available = _numeric_keys(rows)
        if keys is None:
            chosen = [
                k for k in available if k not in _BOOKKEEPING_KEYS and not (isinstance(k, str) and k.endswith("_best"))
            ]
            if "train_loss" in chosen:
                chosen.remove("train_loss")
                chosen.insert(0, "train_loss")
            if not chosen:
                raise ValueError(
                    "The history holds no per-epoch numbers to plot besides skorch's "
                    f"bookkeeping; numeric keys found: {available}. Pass keys=... to plot them."
                )
        else:
            requested = [keys] if isinstance(keys, str) or not isinstance(keys, Sequence) else list(keys)
            if not requested:
                raise ValueError("keys is empty; pass at least one key or None.")
            chosen = []
            for key in requested:
                if key not in available:
                    raise ValueError(
                        f"No finite number is recorded under key {key!r} in the history; "
                        f"keys with numbers: {available}."
                    )
                if key not in chosen:
                    chosen.append(key)
        curves = {}
        for key in chosen:
            epochs, values = [], []
            for position, row in enumerate(rows, start=1):
                value = row.get(key)
                if _is_number(value):
                    epoch = row.get("epoch", position)
                    epochs.append(epoch if _is_number(epoch) else position)
                    values.append(float(value))
            curves[key] = (np.asarray(epochs), np.asarray(values, dtype=np.float64))
        display = cls(curves, estimator_name=estimator_name)
        return display.plot(ax=ax, n_cols=n_cols, marker=marker, line_kwargs=line_kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        keys: Hashable | Sequence[Hashable] | None = None,
        ax=None,
        n_cols: int | None = None,
        marker: str | None = "auto",
        line_kwargs: dict | None = None,
    ) -> TrainingCurvesDisplay:
        """Draw the training curves of a fitted estimator's ``history_``.

        Parameters
        ----------
        estimator : estimator object
            Fitted estimator with a ``history_`` attribute (IICEstimator,
            DACEstimator, DeepClusterEstimator, or any skorch net's
            ``history``).
        keys, ax, n_cols, marker, line_kwargs
            As in :meth:`from_history`.

        Returns
        -------
        display : TrainingCurvesDisplay
            The drawn display, titled with the estimator's class name.

        Raises
        ------
        ValueError
            If the estimator has no training history.
        """
        history = getattr(estimator, "history_", None)
        if history is None:
            history = getattr(estimator, "history", None)  # a bare skorch net
        if history is None or isinstance(history, (str, bytes)):
            check_is_fitted(estimator)
            raise ValueError(
                f"{type(estimator).__name__} has no training history (history_); "
                "TrainingCurvesDisplay needs an estimator trained by epochs, such as "
                "IICEstimator, DACEstimator or DeepClusterEstimator."
            )
        return cls.from_history(
            history,
            keys=keys,
            estimator_name=type(estimator).__name__,
            ax=ax,
            n_cols=n_cols,
            marker=marker,
            line_kwargs=line_kwargs,
        )
