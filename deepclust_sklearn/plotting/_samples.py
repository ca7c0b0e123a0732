"""ClusterSamplesDisplay: a grid of sample images, one row per cluster."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from .._validation import check_image_shape
from ..metrics import _encode_labels
from ._common import _axes_grid


def _as_image_batch(X, image_shape) -> np.ndarray:
    """View ``X`` as an ``(n, C, H, W)`` array without copying when possible.

    2-D input (flattened images) needs ``image_shape``; 3-D input is
    ``(n, H, W)`` grey-scale; 4-D input is ``(n, C, H, W)``.
    """
    X = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)  # a pandas DataFrame too
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numeric pixel values; got dtype {X.dtype}.")
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            "X must be 2-D (n_samples, C*H*W) flattened images with image_shape, "
            "3-D (n_samples, H, W) or 4-D (n_samples, C, H, W); got an array of "
            f"shape {X.shape}."
        )
    if X.ndim == 2:
        if image_shape is None:
            raise ValueError(
                f"X is 2-D with {X.shape[1]} features per sample; pass "
                "image_shape=(H, W) or (C, H, W) to show its rows as images."
            )
        return X.reshape(len(X), *check_image_shape(image_shape, n_features=X.shape[1]))
    own = (1, *X.shape[1:]) if X.ndim == 3 else tuple(X.shape[1:])
    if image_shape is not None:
        check_image_shape(image_shape, sample_shape=own)
    return X.reshape(len(X), *own)


def _to_displayable(images: np.ndarray) -> np.ndarray:
    """``(n, C, H, W)`` -> ``(n, H, W)`` grey or ``(n, H, W, 3)`` RGB.

    One channel is grey, three channels are RGB, any other number of
    channels shows the first channel only.
    """
    if images.shape[1] == 3:
        return np.transpose(images, (0, 2, 3, 1))
    return images[:, 0]


def _shared_scale(rows: list[np.ndarray], vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """``vmin`` and ``vmax``, or the smallest and largest finite pixel shown (0 and 1 when none is)."""
    pixels = np.concatenate([np.zeros(0)] + [imgs.astype(np.float64, copy=False).ravel() for imgs in rows])
    finite = pixels[np.isfinite(pixels)]
    lo = float(vmin) if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = float(vmax) if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    return lo, (hi if hi > lo else lo + 1.0)


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
        if len(images) == 0:
            raise ValueError("images is empty; there is no cluster to show.")
        for k, shape in enumerate(np.shape(imgs) for imgs in images):
            if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] != 3):
                raise ValueError(
                    "Each entry of images must have shape (n_shown, H, W) or "
                    f"(n_shown, H, W, 3); entry {k} has shape {shape}."
                )
        for name, values in (("cluster_labels", cluster_labels), ("cluster_sizes", cluster_sizes)):
            if values is not None and len(values) != len(images):
                raise ValueError(f"{name} has {len(values)} entries but images has {len(images)} rows.")
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
        im_kw: dict | None = None,
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
        im_kw : dict or None, default=None
            Keyword arguments for every :meth:`matplotlib.axes.Axes.imshow`,
            over the defaults (``interpolation="nearest"``, and ``cmap``,
            ``vmin`` and ``vmax`` for grey-scale images).

        Returns
        -------
        display : ClusterSamplesDisplay
            This object, with ``figure_``, ``axes_`` and ``images_`` set.
        """
        rows = [np.asarray(imgs) for imgs in self.images]
        n_rows, n_cols = len(rows), max(1, max(len(imgs) for imgs in rows))
        labels = list(range(n_rows)) if self.cluster_labels is None else np.asarray(self.cluster_labels).tolist()
        sizes = None if self.cluster_sizes is None else np.asarray(self.cluster_sizes).tolist()
        lo, hi = _shared_scale(rows, vmin, vmax)
        fig, axes = _axes_grid(
            type(self).__name__,
            ax,
            n_rows * n_cols,
            n_rows,
            n_cols,
            (0.8 + 0.9 * n_cols, 0.3 + 0.9 * n_rows),
            f"hold n_rows * n_columns = {n_rows} * {n_cols} = {n_rows * n_cols} Axes",
        )
        axes = axes.reshape(n_rows, n_cols)
        grey_kw = {"interpolation": "nearest", "cmap": cmap, "vmin": lo, "vmax": hi, **(im_kw or {})}
        rgb_kw = {"interpolation": "nearest", **(im_kw or {})}

        artists = np.empty((n_rows, n_cols), dtype=object)
        for i, imgs in enumerate(rows):
            for j, cell in enumerate(axes[i]):
                cell.set_xticks([])
                cell.set_yticks([])
                if j >= len(imgs):
                    cell.set_axis_off()
                    continue
                for spine in cell.spines.values():
                    spine.set_visible(False)
                if imgs.ndim == 3:
                    artists[i, j] = cell.imshow(imgs[j], **grey_kw)
                else:  # RGB: imshow needs values in [0, 1]
                    rescale = lo < 0.0 or hi > 1.0
                    artists[i, j] = cell.imshow(
                        np.clip((imgs[j] - lo) / (hi - lo), 0, 1) if rescale else imgs[j], **rgb_kw
                    )
            text = f"cluster {labels[i]}" + ("" if sizes is None else f"\n(n={sizes[i]})")
            axes[i, 0].set_ylabel(text, rotation=0, ha="right", va="center", labelpad=4)
        if title is not None:
            fig.suptitle(title)
        self.figure_ = fig
        self.axes_ = axes
        self.images_ = artists
        return self

    @classmethod
    @validate_params(
        {"n_samples": [Interval(Integral, 1, None, closed="left")], "random_state": ["random_state"]},
        prefer_skip_nested_validation=False,
    )
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
        im_kw: dict | None = None,
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
        ax, cmap, vmin, vmax, title, im_kw
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
        codes, uniques = _encode_labels(labels, "labels")
        if len(codes) != len(images):
            raise ValueError(
                f"X and labels must have the same length; got {len(images)} images and {len(codes)} labels."
            )
        wanted = list(range(len(uniques)))
        if clusters is not None:
            index = {label: k for k, label in enumerate(uniques)}
            requested = np.asarray(clusters, dtype=object).ravel().tolist()
            if not requested:
                raise ValueError("clusters is empty; pass at least one cluster label.")
            for c in requested:
                if c not in index:
                    raise ValueError(f"Cluster {c!r} in clusters does not occur in labels; labels present: {uniques}.")
            wanted = [index[c] for c in requested]
        rng = None if random_state is None else check_random_state(random_state)
        indices = []
        for code in wanted:
            members = np.flatnonzero(codes == code)
            draw = rng is not None and len(members) > n_samples
            indices.append(np.sort(rng.choice(members, size=n_samples, replace=False)) if draw else members[:n_samples])
        display = cls(
            [_to_displayable(images[chosen]) for chosen in indices],
            cluster_labels=np.asarray([uniques[c] for c in wanted], dtype=object),
            cluster_sizes=np.bincount(codes, minlength=len(uniques))[wanted],
            sample_indices=indices,
        )
        return display.plot(ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, title=title, im_kw=im_kw)

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
        im_kw: dict | None = None,
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
        n_samples, clusters, random_state, ax, cmap, vmin, vmax, title, im_kw
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
        return cls.from_predictions(
            X,
            estimator.predict(X),
            image_shape=image_shape,
            n_samples=n_samples,
            clusters=clusters,
            random_state=random_state,
            ax=ax,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            title=title,
            im_kw=im_kw,
        )
