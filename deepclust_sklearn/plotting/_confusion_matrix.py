"""ClusterConfusionMatrixDisplay: true classes against Hungarian-matched clusters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from ..metrics import _check_clusterings, _contingency_and_matching, _matched_accuracy
from ._common import _import_pyplot


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
    accuracy = _matched_accuracy(counts, class_idx, cluster_idx)
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
        shape = np.shape(confusion_matrix)
        if len(shape) != 2 or 0 in shape:
            raise ValueError(
                f"confusion_matrix must be a non-empty 2-D array (n_classes, n_clusters); got shape {shape}."
            )
        n_class_labels = shape[0] if class_labels is None else len(class_labels)
        n_cluster_labels = shape[1] if cluster_labels is None else len(cluster_labels)
        if (n_class_labels, n_cluster_labels) != shape:
            raise ValueError(
                f"class_labels and cluster_labels must have {shape[0]} and {shape[1]} entries "
                f"for a confusion matrix of shape {shape}; got {n_class_labels} and {n_cluster_labels}."
            )
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
        im_kw: dict | None = None,
        text_kw: dict | None = None,
        match_kw: dict | None = None,
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
        im_kw : dict or None, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.imshow`, over
            the defaults (``interpolation="nearest"``, ``cmap``,
            ``aspect="auto"``).
        text_kw : dict or None, default=None
            Keyword arguments for the value annotations
            (:meth:`matplotlib.axes.Axes.text`), over the defaults.
        match_kw : dict or None, default=None
            Keyword arguments for the outlines of the matched cells
            (:class:`matplotlib.patches.Rectangle`), over the defaults
            (``fill=False``, ``edgecolor="tab:orange"``, ``linewidth=2``).

        Returns
        -------
        display : ClusterConfusionMatrixDisplay
            This object, with ``figure_``, ``ax_``, ``im_``, ``text_``,
            ``colorbar_`` and ``match_patches_`` set.
        """
        plt = _import_pyplot(type(self).__name__)
        from matplotlib.patches import Rectangle

        cm = np.asarray(self.confusion_matrix)
        n_rows, n_cols = cm.shape
        row_labels = range(n_rows) if self.class_labels is None else self.class_labels
        col_labels = range(n_cols) if self.cluster_labels is None else self.cluster_labels
        if ax is None:
            fig, ax = plt.subplots(
                figsize=(min(16.0, 2.5 + 0.5 * n_cols), min(12.0, 1.5 + 0.45 * n_rows)), layout="constrained"
            )
        fig = ax.figure
        im = ax.imshow(cm, **{"interpolation": "nearest", "cmap": cmap, "aspect": "auto", **(im_kw or {})})

        text = None
        if include_values:
            if values_format is None:
                integral = np.issubdtype(cm.dtype, np.integer) or np.all(np.mod(cm, 1) == 0)
                values_format = "d" if integral else ".2f"
            low_colour, high_colour = im.cmap(0.0), im.cmap(1.0)
            threshold = (float(cm.max()) + float(cm.min())) / 2.0
            text = np.empty(cm.shape, dtype=object)
            for (i, j), value in np.ndenumerate(cm):
                # the colour from the other end of the map stays readable
                colour = low_colour if value > threshold else high_colour
                kw = {"ha": "center", "va": "center", "color": colour, "fontsize": "small" if n_cols > 15 else None}
                shown = int(value) if values_format.endswith("d") else value
                text[i, j] = ax.text(j, i, format(shown, values_format), **{**kw, **(text_kw or {})})

        patches = []
        if highlight_matches and self.matching is not None:
            kw = {"fill": False, "edgecolor": "tab:orange", "linewidth": 2, **(match_kw or {})}
            patches = [ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, **kw)) for i, j in self.matching]

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
    @validate_params({"normalize": [StrOptions({"true", "pred", "all"}), None]}, prefer_skip_nested_validation=False)
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
        im_kw: dict | None = None,
        text_kw: dict | None = None,
        match_kw: dict | None = None,
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
xticks_rotation, im_kw, text_kw, match_kw
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
        counts, classes, clusters, matching, accuracy = _matched_confusion(y_true, y_pred)
        matrix = counts
        if normalize is not None:
            matrix = counts / counts.sum(axis={"true": 1, "pred": 0, "all": None}[normalize], keepdims=True)
        display = cls(matrix, class_labels=classes, cluster_labels=clusters, matching=matching, accuracy=accuracy)
        return display.plot(
            ax=ax,
            include_values=include_values,
            cmap=cmap,
            values_format=values_format,
            colorbar=colorbar,
            highlight_matches=highlight_matches,
            xticks_rotation=xticks_rotation,
            im_kw=im_kw,
            text_kw=text_kw,
            match_kw=match_kw,
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
        im_kw: dict | None = None,
        text_kw: dict | None = None,
        match_kw: dict | None = None,
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
highlight_matches, xticks_rotation, im_kw, text_kw, match_kw
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
            im_kw=im_kw,
            text_kw=text_kw,
            match_kw=match_kw,
        )
