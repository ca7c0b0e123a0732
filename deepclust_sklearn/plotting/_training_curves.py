"""TrainingCurvesDisplay: per-epoch values of a skorch history."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ._common import _axes_grid

# skorch's own bookkeeping, never plotted unless asked for by name.
_BOOKKEEPING_KEYS = frozenset({"epoch", "dur", "batches", "train_batch_count", "valid_batch_count"})


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


def _default_keys(available: list[Hashable]) -> list[Hashable]:
    """``train_loss`` first, then every other numeric key but skorch's bookkeeping and ``*_best`` flags."""
    chosen = [k for k in available if k not in _BOOKKEEPING_KEYS and not (isinstance(k, str) and k.endswith("_best"))]
    chosen.sort(key=lambda k: k != "train_loss")  # stable: the others keep their order
    if not chosen:
        raise ValueError(
            "The history holds no per-epoch numbers to plot besides skorch's "
            f"bookkeeping; numeric keys found: {available}. Pass keys=... to plot them."
        )
    return chosen


def _requested_keys(keys, available: list[Hashable]) -> list[Hashable]:
    """The requested keys, each once, in the order asked for."""
    requested = [keys] if isinstance(keys, str) or not isinstance(keys, Sequence) else list(keys)
    if not requested:
        raise ValueError("keys is empty; pass at least one key or None.")
    for key in requested:
        if key not in available:
            raise ValueError(
                f"No finite number is recorded under key {key!r} in the history; keys with numbers: {available}."
            )
    return list(dict.fromkeys(requested))


def _curve(rows: Sequence[Mapping], key: Hashable) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and values of ``key`` where it holds a finite number; a row's epoch is its ``"epoch"`` or position."""
    epochs, values = [], []
    for position, row in enumerate(rows, start=1):
        value = row.get(key)
        if _is_number(value):
            epoch = row.get("epoch", position)
            epochs.append(epoch if _is_number(epoch) else position)
            values.append(float(value))
    return np.asarray(epochs), np.asarray(values, dtype=np.float64)


class TrainingCurvesDisplay:
    """Per-epoch training values from a skorch history, one subplot per key.

    The fitted estimators of this package keep skorch's ``history_``: a list
    of per-epoch dicts with ``train_loss`` and the method's own values
    (DeepCluster's ``kmeans_objective``, ``empty_clusters`` and
    ``nmi_previous`` on re-clustering epochs; DAC's ``threshold_shift``, ``upper``,
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
    Any list of per-epoch dicts works, e.g. to compare runs on one Axes:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from deepclust_sklearn.plotting import TrainingCurvesDisplay
    >>> history = [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": None},
    ...            {"epoch": 3, "loss": 1.0}]
    >>> fig, ax = plt.subplots()
    >>> disp = TrainingCurvesDisplay.from_history(history, ax=ax)
    >>> disp.lines_["loss"].get_ydata()
    array([2., 1.])

    A fitted estimator's ``history_``, one subplot per key:

    >>> from deepclust_sklearn import DeepClusterEstimator, make_image_blobs
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
    >>> plt.close("all")
    """

    def __init__(
        self, curves: Mapping[Hashable, tuple[ArrayLike, ArrayLike]], *, estimator_name: str | None = None
    ) -> None:
        if not curves:
            raise ValueError("curves is empty; there is nothing to plot.")
        for key, (epochs, values) in curves.items():
            if np.ndim(epochs) != 1 or np.shape(epochs) != np.shape(values):
                raise ValueError(
                    f"curves[{key!r}] must be a pair of 1-D arrays of the same length; "
                    f"got shapes {np.shape(epochs)} and {np.shape(values)}."
                )
        self.curves = curves
        self.estimator_name = estimator_name

    @validate_params(
        {"n_cols": [Interval(Integral, 1, None, closed="left"), None]}, prefer_skip_nested_validation=False
    )
    def plot(self, ax=None, *, n_cols: int | None = None, line_kw: dict | None = None) -> TrainingCurvesDisplay:
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
        line_kw : dict or None, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.plot`. Without
            a ``"marker"`` entry, the points of curves that skip epochs or
            have a single point are marked and the others are drawn as plain
            lines; ``line_kw={"marker": ""}`` draws every curve as a plain
            line.

        Returns
        -------
        display : TrainingCurvesDisplay
            This object, with ``figure_``, ``axes_`` and ``lines_`` set.
        """
        keys = list(self.curves)
        shared = ax is not None and hasattr(ax, "plot") and hasattr(ax, "figure")  # one Axes for every curve
        if shared:
            fig, axes, targets = ax.figure, np.asarray([ax], dtype=object), [ax] * len(keys)
        else:
            cols = min(len(keys), 3 if n_cols is None else n_cols)
            n_rows = -(-len(keys) // cols)
            fig, axes = _axes_grid(
                type(self).__name__,
                ax,
                len(keys),
                n_rows,
                cols,
                (3.6 * cols, 2.6 * n_rows),
                f"be one Axes or hold one Axes per key ({len(keys)} keys: {keys})",
            )
            targets = list(axes)

        lines = {}
        for key, target in zip(keys, targets):
            epochs, values = (np.asarray(a) for a in self.curves[key])
            skips = len(epochs) < 2 or (np.issubdtype(epochs.dtype, np.number) and np.any(np.diff(epochs) != 1))
            kw = {"marker": "o", "markersize": 4} if skips else {}
            (lines[key],) = target.plot(epochs, values, label=str(key), **{**kw, **(line_kw or {})})
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
        line_kw: dict | None = None,
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
        ax, n_cols, line_kw
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
        chosen = _default_keys(available) if keys is None else _requested_keys(keys, available)
        display = cls({key: _curve(rows, key) for key in chosen}, estimator_name=estimator_name)
        return display.plot(ax=ax, n_cols=n_cols, line_kw=line_kw)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        keys: Hashable | Sequence[Hashable] | None = None,
        ax=None,
        n_cols: int | None = None,
        line_kw: dict | None = None,
    ) -> TrainingCurvesDisplay:
        """Draw the training curves of a fitted estimator's ``history_``.

        Parameters
        ----------
        estimator : estimator object
            Fitted estimator with a ``history_`` attribute (IICEstimator,
            DACEstimator, DeepClusterEstimator, or any skorch net's
            ``history``).
        keys, ax, n_cols, line_kw
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
            line_kw=line_kw,
        )
