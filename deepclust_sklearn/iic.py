"""IICEstimator: Invariant Information Clustering as a scikit-learn estimator."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback

from ._base import BaseDeepClusterer, ResumableNet
from ._schedules import _cosine, _CosineLR, _user_sets_the_rate
from .losses import IICLoss
from .networks import ClusteringNet

__all__ = ["IICEstimator"]

_HEADS = ("cluster", "overcluster")
_MIN_STEPS = 1000  # cosine decay of the rate from this many steps; max_epochs="auto" trains at least this many
_AUTO_EPOCHS = (30, 100)  # max_epochs="auto": 30 epochs, more when they make fewer than _MIN_STEPS, at most 100
_AUTO_BATCH = (16, 128)  # batch_size="auto": at most the default 128, fewer for 1,000 steps, at least 16
_OVERCLUSTER_FACTOR = 5  # overcluster="auto": 5 * n_clusters outputs ...
_MIN_SAMPLES_PER_OVERCLUSTER = 100  # ... when the data hold 100 samples per over-cluster


def _last_subhead_losses(history) -> list | None:
    """The ``cluster`` head's per-sub-head losses of the last epoch that trained it (``None`` if none did)."""
    rows = [row["subhead_losses"] for row in history if "subhead_losses" in row]
    return rows[-1] if rows else None


class _CosineEntropyWeight(Callback):
    r"""Anneal the loss's entropy weight :math:`\lambda` from ``start`` to ``end`` by the cosine of the epoch index.

    Epoch :math:`e` trains with :math:`\lambda_e = \lambda_1 + (\lambda_0 - \lambda_1)(1 + \cos(\pi e / T)) / 2`:
    the weighted-up marginal entropy steers the early epochs away from
    merged clusters, and the objective ends near plain mutual information
    (:math:`\lambda = 1`), which does not force unequal classes into equal
    clusters. Recorded as ``entropy_weight`` in the history.
    """

    def __init__(self, start: float, end: float, t_max: int) -> None:
        self.start = start
        self.end = end
        self.t_max = t_max

    def on_epoch_begin(self, net, **kwargs):
        weight = _cosine(self.start, self.end, len(net.history) - 1, self.t_max)
        net.criterion_.entropy_weight = weight
        net.history.record("entropy_weight", weight)


class _IICNet(ResumableNet):
    """skorch net for IIC: ``train_outputs``, ``get_loss``, ``forward_outputs`` and the batch and epoch hooks.

    Each step takes ``B`` images, makes ``repeats`` independently augmented
    copies of each, passes anchors and copies through the trunk together and
    scores every pair with :class:`~deepclust_sklearn.losses.IICLoss`, once
    per sub-head of the heads scheduled for this epoch. Inference reads the
    ``cluster`` head's sub-head ``selected_subhead_``, which the estimator
    sets after training.
    """

    def __init__(self, module, *args, repeats=5, head_schedule=("cluster",), augment_anchors=True, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.augment_anchors = augment_anchors
        self.repeats = repeats
        self.head_schedule = head_schedule

    # ---- per-epoch schedule -------------------------------------------------
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.trained_heads_ = self.head_schedule[(len(self.history) - 1) % len(self.head_schedule)]
        self.subhead_loss_sum_ = None
        self.n_seen_ = 0

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.history.record("heads", "+".join(self.trained_heads_))
        if self.subhead_loss_sum_ is not None:
            losses = (self.subhead_loss_sum_ / self.n_seen_).tolist()
            self.history.record("subhead_losses", losses)
            self.history.record("best_subhead_loss", min(losses))
        else:
            self.history.record("best_subhead_loss", None)
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        """Add a training batch's per-sub-head losses of the ``cluster`` head to the epoch's sums."""
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if training and "cluster" in kwargs["y_pred"]:
            with torch.no_grad():
                weighted = self.criterion_(*kwargs["y_pred"]["cluster"]) * len(batch[0])
            self.subhead_loss_sum_ = weighted if self.subhead_loss_sum_ is None else self.subhead_loss_sum_ + weighted
            self.n_seen_ += len(batch[0])

    # ---- training step ------------------------------------------------------
    def train_outputs(self, x, y):
        """Per trained head, ``(anchor_probs, copy_probs)``: ``(n_subheads, B * repeats, k)`` each."""
        n = len(x)
        anchors = self.augmenter_(x) if self.augment_anchors else x
        copies = self.augmenter_(x.repeat(self.repeats, *([1] * (x.dim() - 1))))
        features = self.module_.features(torch.cat([anchors, copies]))
        outputs = {}
        for head in self.trained_heads_:
            probs = self.module_.heads[head](features)
            outputs[head] = (probs[:, :n].repeat(1, self.repeats, 1), probs[:, n:])
        return outputs, None

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        """Sum over trained heads of the mean IIC loss over their sub-heads."""
        total = 0.0
        for anchor_probs, copy_probs in y_pred.values():
            total = total + self.criterion_(anchor_probs, copy_probs).mean()
        return total

    # ---- inference ----------------------------------------------------------
    def forward_outputs(self, module, x):
        """Probabilities of the selected sub-head of the ``cluster`` head, ``(B, n_clusters)``."""
        return module(x)["cluster"][self.selected_subhead_]


class IICEstimator(BaseDeepClusterer):
    r"""Invariant Information Clustering (Ji, Henriques & Vedaldi, ICCV 2019).

    A network maps each sample to a softmax over ``n_clusters`` clusters and
    is trained to maximise the mutual information between the cluster
    assignments of a sample and of randomly transformed copies of it (see
    :class:`~deepclust_sklearn.losses.IICLoss`). The mutual information
    rewards confident, transformation-invariant *and* balanced assignments,
    so it does not collapse to one cluster.

    As in the paper, a shared trunk carries two heads, each with
    ``n_subheads`` independent sub-heads: the ``cluster`` head with
    ``n_clusters`` outputs and an auxiliary ``overcluster`` head with more
    outputs, trained in turn epoch by epoch following ``head_schedule``. The
    predicting sub-head is the one with the lowest IIC loss in the last
    epoch that trained the ``cluster`` head — chosen without labels (the
    net's ``selected_subhead_``).

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters of the main head (and of ``labels_``).
    overcluster : int, None or "auto", default="auto"
        Outputs of the auxiliary over-clustering head (IIC: 50 for MNIST,
        70 for CIFAR-10); ``None`` trains the main head only. ``"auto"``:
        ``5 * n_clusters`` when the data hold at least 100 samples per
        over-cluster (``n_samples >= 500 * n_clusters``), else ``None``.
        The head helped with 200 samples per over-cluster (MNIST-test) and
        hurt with 36 (digits); measurements in ``docs/experiments.md``.
    n_subheads : int, default=5
        Sub-heads per head.
    entropy_weight : float, default=1.5
        Weight :math:`\lambda` of the marginal entropy terms in the loss (1 is
        plain mutual information). Above 1 it penalises unbalanced solutions
        more, which keeps two classes from sharing a cluster while another
        is split (measured on MNIST-test: ``docs/experiments.md``). **Classes
        of very different sizes** (e.g. 10:1): use 1.0, as 1.5 splits the
        large classes to even out cluster sizes; below 1 the clusters
        collapse (``docs/usage.md``, imbalanced data).
    entropy_weight_final : float or None, default=None
        When set, :math:`\lambda` is annealed from ``entropy_weight`` to this
        value by the cosine of the epoch index (epoch ``e`` of ``max_epochs``
        trains with ``final + (entropy_weight - final) * (1 + cos(pi * e /
        max_epochs)) / 2``; recorded as ``entropy_weight`` in the history),
        so that the early epochs keep classes apart and the objective ends
        near plain mutual information. ``None`` keeps ``entropy_weight``
        constant. Measured, not the default: 1.5 -> 1.0 lifted MNIST-test's
        failed seed 3 from 0.820 to 0.905 but cost digits 0.044 on the
        five-seed mean (``docs/experiments.md``).
    repeats : int, default=5
        Independently transformed copies of every image per step (IIC's ``r``).
    head_schedule : tuple of str, default=("cluster", "cluster", "overcluster")
        Which head epoch ``e`` trains: entry ``e % len(head_schedule)``.
        Entries are ``"cluster"``, ``"overcluster"`` or ``"both"`` (the sum
        of the two losses in every step).
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` or ``(H, W)`` of flattened image rows, so that images
        can pass through a ``Pipeline`` as 2-D arrays. ``None``: 2-D input
        are vectors; 3-D/4-D input are images of their own shape.
    module : type or None, default=None
        Backbone class, called as ``module(input_shape, **module_kwargs)``
        and exposing ``out_features``; ``None`` picks one from the input
        shape (:func:`~deepclust_sklearn.networks.default_backbone`).
    module_kwargs : dict or None, default=None
        Keyword arguments for ``module``; with ``module=None`` they update
        the default backbone's own (e.g. ``{"hidden": (128,)}`` for the MLP
        that vectors get, ``{"channels": (16, 32)}`` for images).
    augment : {"auto", "none"} or callable, default="auto"
        Transformations ``g``: ``"auto"`` uses
        :class:`~deepclust_sklearn.augment.ImageAugmenter` for images and
        :class:`~deepclust_sklearn.augment.VectorAugmenter` for vectors;
        a callable maps a standardised batch tensor to a transformed one.
    sobel : bool, default=False
        Feed the trunk the two 3x3 Sobel gradients of the grey-scale image
        (after augmentation and standardisation) instead of the image, so
        that colour cannot serve as a shortcut (the IIC and DeepCluster
        papers do this on colour data). Images only.
    optimizer : type, default=torch.optim.Adam
        Optimiser class (not an instance), built by skorch over the
        network's parameters with ``lr``.
    lr : float, default=3e-3
        Adam learning rate (the paper's 1e-4 is tuned for days of GPU training).
    lr_schedule : {"auto", "cosine", "constant"}, default="auto"
        ``"cosine"`` anneals the learning rate from ``lr`` towards 0 over
        ``max_epochs``: epoch ``e`` trains with
        ``lr * (1 + cos(pi * e / max_epochs)) / 2`` (torch's
        ``CosineAnnealingLR`` in closed form, so a fit resumed from a
        checkpoint continues it exactly; the callback is named
        ``"lr_schedule"`` in ``net_.callbacks_`` and records ``lr`` in the
        history; a warm-started fit continues the cosine, which rises again
        past ``max_epochs``).
        ``"auto"``: constant when ``callbacks`` hold a skorch
        ``LRScheduler`` (yours decides), else cosine when training runs at least 1,000 steps
        (``ceil(n_samples / batch_size)`` times the epochs trained), constant otherwise.
        Shorter fits keep the rate, since annealing them lowers it before
        the clusters have formed (measured: ``docs/experiments.md``).
    n_init : int, default=2
        Networks trained from different seeds (the first seeded as a single
        fit is), each for a trial of ``init_steps``; the one whose predicting
        sub-head then has the lowest loss is kept and trained to the end,
        ending exactly as a single fit from its seed would. The criterion is
        the one that already picks the sub-head, as ``KMeans(n_init=)``
        keeps its lowest-inertia run. Restarts catch a poor optimum of the
        shared trunk, which no choice of sub-head can: measured in
        ``docs/experiments.md``. Callbacks run in every init;
        ``net_.callbacks_`` and ``history_`` are the kept init's; a verbose
        fit prints each init and which was kept. An init that ends early
        (Ctrl-C, a stopping callback) ends the restarts. A checkpoint resumes
        one network: fit with ``n_init=1`` to resume with skorch's
        ``LoadInitState`` (with more it is refused).
    init_steps : int or None, default=400
        Training steps of each init's trial when ``n_init > 1``, as the
        nearest whole number of epochs (``init_steps / ceil(n_samples /
        batch_size)`` rounded, at least 1, at most the whole fit: MNIST-test
        trials 5 of 30 epochs, digits 27 (12 with ``batch_size="auto"``)); ``None``: every
        init trains to the end.
        A trial trains the first epochs of the full schedule (learning rate,
        head order), so it costs ``(n_init - 1)`` trials on top of one fit.
        On MNIST-test a trunk that ends in a poor optimum already has a
        clearly higher loss after ~400 steps (5 epochs); on small sets the
        loss is still on its plateau at ~150 steps, and at batch 128 the
        trial becomes (nearly) the whole fit (``docs/experiments.md``).
    max_epochs : int or "auto", default=30
        Passes over the data (per init). ``"auto"``: 30, or as many as make
        1,000 steps of ``batch_size`` when 30 make fewer
        (``ceil(1000 / ceil(n_samples / batch_size))``), at most 100, so
        that a small set trains as many steps as a large one, with more
        passes: digits (1,797 images) 67 epochs at batch 128. On small
        image sets it measured better (digits seeds 0-9 ACC 0.928 -> 0.954,
        a 20-class set of 1,440 images 0.727 -> 0.764, one network each)
        at 2-3x the time; not the default for that cost. The cap of 100
        bounds per-epoch overhead on tiny data and is not tuned.
    batch_size : int or "auto", default=128
        Distinct images per step; each step sees ``batch_size * (1 + repeats)`` inputs.
        ``"auto"``: 128, or fewer on small sets so that the fit makes 1,000
        steps in the same passes over the data
        (``floor(max_epochs * n_samples / 1000)``, at least 16;
        ``max_epochs="auto"`` counts as 30 here): 128 on sets of 4,267
        samples or more, digits (1,797) 53, 1,440 images 43. It shortens
        the restart trial (digits: 12 of 30 epochs instead of 27). Measured
        against 128 (``docs/experiments.md``): digits +0.011 (a tuning
        set), a 20-class set -0.003 (lowest seed +0.05), an imbalanced
        subset -0.012 NMI and digits-PCA-50 -0.012 ACC; more than a point
        lower on two sets it was not chosen on, so not the default.
    inference_batch_size : int or None, default=None
        Rows per batch for ``predict``, ``transform`` and the labelling pass
        at the end of ``fit``; ``None`` uses ``batch_size``. Larger batches
        run faster on a CPU (measured: ``benchmarks/README.md``) and hold
        more memory per batch, which for large images grows quickly. Read
        at every call, so it can be changed on a fitted estimator with
        ``set_params``.
    callbacks : list of skorch callbacks or None, default=None
        Passed to the skorch net as copies, so yours are not modified; the
        trained ones are in ``net_.callbacks_``. skorch's ``ProgressBar``,
        ``EarlyStopping(monitor="train_loss")``, ``LRScheduler`` and
        ``Checkpoint`` work as in skorch. A fit given
        ``[Checkpoint(monitor=None, dirname=d), LoadInitState(checkpoint)]``
        resumes an interrupted run and ends exactly where the uninterrupted
        run would have: every epoch is seeded from ``(random_state, epoch
        index)``, and the checkpointed epochs count towards ``max_epochs``.
        Ctrl-C (``KeyboardInterrupt``) ends training early and still leaves a
        fitted estimator; a NaN or infinite training loss stops ``fit`` with
        a ``FloatingPointError`` naming the epoch.
    device : str, default="cpu"
        Torch device to train and predict on, e.g. ``"cuda"``.
    verbose : int, default=0
        1 prints skorch's per-epoch table (loss, trained heads, best sub-head loss).
    random_state : int, RandomState instance or None, default=None
        Seeds torch inside a forked RNG (the global state is left alone).
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Consecutive cluster labels of the training data.
    n_clusters_found_ : int
        Distinct clusters in ``labels_`` (a ``ConvergenceWarning`` is raised
        when this is below ``n_clusters``).
    overcluster_ : int or None
        Outputs of the over-clustering head actually trained (``overcluster``
        with ``"auto"`` resolved); ``None``: no such head.
    best_subhead_ : int
        Index of the predicting sub-head (lowest loss, label-free).
    kept_init_ : int
        Which of the ``n_init`` networks was kept (lowest trial loss,
        label-free): 0 is the one seeded as a single fit would be, ``i > 0``
        the restart seeded from ``(seed, i)``.
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``heads`` (the heads trained, e.g.
        ``"cluster"`` or ``"cluster+overcluster"``), ``subhead_losses`` and
        ``best_subhead_loss`` (on epochs that trained the ``cluster`` head),
        ``dur``. The same object as ``net_.history``.
    input_shape_ : tuple of int
        Shape of one sample as the network sees it: ``(C, H, W)`` for
        images, ``(n_features,)`` for vectors.
    n_features_in_ : int
        Number of values per sample (``C * H * W`` for images).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, defined only when ``X`` is a
        DataFrame with string column names.

    See Also
    --------
    DACEstimator : Deep Adaptive Clustering, by pairwise similarities.
    DeepClusterEstimator : Alternating k-means on features and classification.
    deepclust_sklearn.losses.IICLoss : The loss on its own.
    sklearn.cluster.KMeans : Clustering without representation learning.

    References
    ----------
    X. Ji, J. F. Henriques and A. Vedaldi. "Invariant Information Clustering
    for Unsupervised Image Classification and Segmentation." ICCV 2019,
    pp. 9865-9874. arXiv:1807.06653.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust_sklearn import IICEstimator
    >>> X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    >>> est = IICEstimator(n_clusters=3, overcluster=None, max_epochs=5, batch_size=32,
    ...                    random_state=0).fit(X)
    >>> est.labels_.shape, est.transform(X).shape
    ((60,), (60, 3))

    Images, with the auxiliary over-clustering head and one sub-head per
    head; the first two epochs of the default ``head_schedule`` train the
    ``cluster`` head:

    >>> import numpy as np
    >>> from deepclust_sklearn import make_image_blobs
    >>> X, y = make_image_blobs(n_samples=64, n_clusters=2, image_shape=(1, 8, 8), random_state=0)
    >>> est = IICEstimator(n_clusters=2, overcluster=4, n_subheads=1, repeats=1, max_epochs=2,
    ...                    batch_size=16, random_state=0).fit(X)
    >>> est.input_shape_, est.n_features_in_, est.best_subhead_
    ((1, 8, 8), 64, 0)
    >>> est.history_[:, "heads"]
    ['cluster', 'cluster']
    >>> est.labels_.dtype, bool((est.predict(X) == est.labels_).all())
    (dtype('int64'), True)
    >>> proba = est.transform(X)
    >>> proba.shape, proba.dtype, bool(np.allclose(proba.sum(axis=1), 1.0, atol=1e-5))
    ((64, 2), dtype('float32'), True)
    """

    _parameter_constraints: dict = {
        **BaseDeepClusterer._parameter_constraints,
        "overcluster": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"}), None],
        "n_subheads": [Interval(Integral, 1, None, closed="left")],
        "entropy_weight": [Interval(Real, 0, None, closed="left")],
        "entropy_weight_final": [Interval(Real, 0, None, closed="left"), None],
        "repeats": [Interval(Integral, 1, None, closed="left")],
        "head_schedule": [tuple, list],
        "lr_schedule": [StrOptions({"auto", "cosine", "constant"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_steps": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    _net_class = _IICNet

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        overcluster: int | str | None = "auto",
        n_subheads: int = 5,
        entropy_weight: float = 1.5,
        entropy_weight_final: float | None = None,
        repeats: int = 5,
        head_schedule: Sequence[str] = ("cluster", "cluster", "overcluster"),
        image_shape: tuple | None = None,
        module: type | None = None,
        module_kwargs: dict | None = None,
        augment="auto",
        sobel: bool = False,
        optimizer: type = torch.optim.Adam,
        lr: float = 3e-3,
        lr_schedule: str = "auto",
        n_init: int = 2,
        init_steps: int | None = 400,
        max_epochs: int | str = 30,
        batch_size: int | str = 128,
        inference_batch_size: int | None = None,
        callbacks: list | None = None,
        device: str = "cpu",
        verbose: int = 0,
        random_state=None,
        warm_start: bool = False,
    ) -> None:
        self._store_params(locals())

    def _method_callbacks(self) -> list:
        user_schedules = _user_sets_the_rate(self.lr_schedule, self.callbacks)
        n_epochs = self._n_epochs()
        steps = self._steps_per_epoch() * n_epochs
        callbacks = []
        if self.entropy_weight_final is not None:
            weights = _CosineEntropyWeight(self.entropy_weight, self.entropy_weight_final, n_epochs)
            callbacks.append(("entropy_schedule", weights))
        if not (
            user_schedules or self.lr_schedule == "constant" or (self.lr_schedule == "auto" and steps < _MIN_STEPS)
        ):
            callbacks.append(("lr_schedule", _CosineLR(self.lr, n_epochs)))
        return callbacks

    def _head_schedule(self) -> tuple[tuple[str, ...], ...]:
        """The schedule as a tuple of head-name tuples, validated."""
        allowed = {"cluster", "overcluster", "both"}
        schedule = tuple(self.head_schedule)
        bad = [h for h in schedule if not isinstance(h, str) or h not in allowed]
        if not schedule or bad:
            raise ValueError(
                f"head_schedule must be a non-empty sequence of {sorted(allowed)}; got {self.head_schedule!r}."
            )
        if self._resolve_overcluster() is None:
            return (("cluster",),)
        return tuple(_HEADS if h == "both" else (h,) for h in schedule)

    def _n_init(self) -> int:
        return self.n_init

    def _init_epochs(self) -> int:
        """Epochs of each init's trial: ``init_steps`` in the nearest whole number of epochs (at least one), or
        the whole fit."""
        if self.init_steps is None:
            return self._n_epochs()
        steps_per_epoch = self._steps_per_epoch()
        nearest = (2 * self.init_steps + steps_per_epoch) // (2 * steps_per_epoch)
        return min(self._n_epochs(), max(1, nearest))

    def _n_epochs(self) -> int:
        """``max_epochs``, with ``"auto"`` resolved: 30 epochs, or enough for 1,000 steps, at most 100."""
        if self.max_epochs != "auto":
            return self.max_epochs
        fewest, most = _AUTO_EPOCHS
        return min(most, max(fewest, -(-_MIN_STEPS // self._steps_per_epoch())))

    def _steps_per_epoch(self) -> int:
        return -(-self._n_train // self._batch_size())

    def _batch_size(self) -> int:
        """``batch_size``, with ``"auto"`` resolved: 128, or fewer so that the fit makes 1,000 steps, at least 16."""
        if self.batch_size != "auto":
            return self.batch_size
        epochs = self.max_epochs if self.max_epochs != "auto" else _AUTO_EPOCHS[0]
        # rounded down, so that ceil(n / batch) * epochs >= 1,000
        return min(_AUTO_BATCH[1], max(_AUTO_BATCH[0], epochs * self._n_train // _MIN_STEPS))

    def _init_loss(self, net) -> float:
        """The loss that picks the predicting sub-head (the lowest of the last epoch that trained the
        ``cluster`` head), so restarts and sub-heads are chosen by one criterion."""
        losses = _last_subhead_losses(net.history)
        return float(min(losses)) if losses else float(net.history[-1, "train_loss"])

    def _resolve_overcluster(self) -> int | None:
        """``overcluster``, with ``"auto"`` decided by the training set's size."""
        if self.overcluster != "auto":
            return self.overcluster
        overcluster = _OVERCLUSTER_FACTOR * self.n_clusters
        return overcluster if self._n_train >= _MIN_SAMPLES_PER_OVERCLUSTER * overcluster else None

    def _check_params_vs_input(self, X) -> None:
        super()._check_params_vs_input(X)
        if not any("cluster" in heads for heads in self._head_schedule()):
            raise ValueError(f"head_schedule={self.head_schedule!r} never trains the 'cluster' head.")

    def _net_kwargs(self, sample_shape) -> dict:
        heads = {"cluster": self.n_clusters, "overcluster": self._resolve_overcluster()}
        return dict(
            module=ClusteringNet,
            module__heads={name: k for name, k in heads.items() if k is not None},
            module__n_subheads=self.n_subheads,
            module__sobel=self.sobel,
            criterion=IICLoss,
            criterion__entropy_weight=self.entropy_weight,
            repeats=self.repeats,
            head_schedule=self._head_schedule(),
            callbacks__print_log__keys_ignored=["subhead_losses"],
        )

    def _finish_fit(self, dataset) -> np.ndarray:
        """Select the sub-head with the lowest loss in the last epoch that trained it."""
        self.overcluster_ = self.net_.module__heads.get("overcluster")  # the head built on the first fit
        self.kept_init_ = getattr(self, "_kept_init", 0)  # a warm start continues the kept network: same index
        losses = _last_subhead_losses(self.net_.history)
        self.best_subhead_ = int(np.argmin(losses)) if losses else 0
        self.net_.selected_subhead_ = self.best_subhead_
        return super()._finish_fit(dataset)
