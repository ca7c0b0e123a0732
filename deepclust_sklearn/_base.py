"""The estimator base shared by IIC, DAC and DeepCluster.

:class:`BaseDeepClusterer` is a plain scikit-learn estimator. ``fit`` follows
one template for every method:

1. validate the parameters and the input (vectors, images, or flattened images
   with a declared ``image_shape``) without copying or modifying it, then the
   parameters against the input (``_check_params_vs_input``);
2. derive the input standardisation (per channel for images; for vectors a
   mean per feature and one scale shared by all features, so distances keep
   their proportions: :func:`~deepclust_sklearn._data.channel_stats`);
3. seed torch from ``random_state`` inside :func:`torch.random.fork_rng`, so
   fitting never touches the caller's global random state;
4. build the method's private skorch net (a :class:`ResumableNet`) as ``net_``
   and train it on an :class:`ArrayDataset` that hands out whole batches;
5. let the method finish (``_finish_fit``, which returns the training
   data's cluster scores) and derive consecutive ``labels_`` from them.

``transform`` and ``predict`` run batch by batch (:func:`net_outputs`), so
memory does not grow with the number of samples beyond the output itself.
:class:`BaseDeepClusterer`'s docstring is the contract a method is written
against: every hook it may override and what each returns.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import LoadInitState
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._data import ArrayDataset, channel_stats, keep_batch, net_outputs
from ._heap import keep_heap
from ._score import SCORE_SEED, mutual_information, transformed_copies
from ._validation import as_array, check_float32_range, check_image_shape, validate_numbers

__all__ = ["BaseDeepClusterer", "ResumableNet"]


def resolve_device(device: str, owner: str) -> torch.device:
    """Parse ``device`` and check it exists, with an error that says what to do."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"The 'device' parameter of {owner} must be a torch device string such as 'cpu', "
            f"'cuda' or 'cuda:1'. Got {device!r} instead."
        ) from exc
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available here; use device='cpu'.")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ValueError(
                f"device={device!r} was requested but only {count} CUDA device(s) exist. Use an index "
                f"below {count} or device='cpu'."
            )
    elif parsed.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'cpu' or 'cuda'.")
    return parsed


def epoch_seed(seed: int, epoch: int) -> int:
    """The torch seed of one epoch: a function of the fit's seed and the epoch's index only."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


STOPPED_EARLY = "stopped early (a callback or Ctrl-C)"  # the history's "stop" when training ended before max_epochs


def _init_seed(seed: int, init: int) -> int:
    """A 31-bit torch seed for restart ``init`` of a fit seeded with ``seed``, independent of ``seed + init``."""
    return int(np.random.SeedSequence([seed, init]).generate_state(1)[0] >> 1)


def seed_torch(seed: int, device: torch.device) -> None:
    """Seed the CPU generator and ``device``'s, and no other device's.

    ``torch.manual_seed`` would reseed every GPU, and the estimators'
    ``fork_rng`` restores only the generators they train with.
    """
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(seed)  # the current device only


class ResumableNet(NeuralNet):
    """The skorch net every method's net derives from: the shared training step, resumable and safe.

    A method's net implements :meth:`train_outputs` and the other hooks listed
    in :class:`BaseDeepClusterer`. This class overrides only skorch's
    documented hooks:

    - ``initialize_module`` builds ``module_``, then the training augmenter
      ``augmenter_`` from ``augmenter_factory`` (a module skorch moves to
      ``device``).
    - ``train_step_single`` standardises the batch with
      ``module_.standardize``, calls :meth:`train_outputs` and
      ``get_loss(y_pred, y_true)``, and back-propagates; its result, which
      skorch passes to ``on_batch_end``, holds ``loss``, ``y_pred`` and
      ``y_true``.

    - ``on_epoch_begin`` seeds torch from ``(seed, epoch index)`` (see
      :func:`epoch_seed`), so an epoch's shuffling and augmentations do not
      depend on how the run got there. A fit that skorch's ``LoadInitState``
      resumes from a ``Checkpoint`` therefore replays the remaining epochs
      exactly as the uninterrupted fit would.
    - The checkpointed epochs count towards ``max_epochs``: a fit stops once
      the history holds as many epochs as it held at ``on_train_begin`` plus
      ``max_epochs`` (so a resumed fit runs only what is left).
    - ``on_batch_end`` stops training with a ``FloatingPointError`` that names
      the epoch and batch as soon as the training loss is NaN or infinite.
    - The last history row says in ``stop`` why training ended: ``"max_epochs
      reached"``, ``"stopped early (a callback or Ctrl-C)"``, or a method's
      own reason (DAC: ``"schedule ended (u <= l)"``).

    Resuming is exact on the CPU with an int ``random_state`` (with ``None``
    each fit draws a new seed).
    """

    def __init__(self, module, *args, seed: int = 0, owner: str = "estimator", augmenter_factory=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.seed = seed
        self.owner = owner
        self.augmenter_factory = augmenter_factory

    def initialize_module(self):
        """Build the network, then the augmenter (a module result is moved to ``device``)."""
        super().initialize_module()
        augmenter = self.augmenter_factory()
        self.augmenter_ = augmenter.to(self.device) if isinstance(augmenter, torch.nn.Module) else augmenter
        return self

    def train_step_single(self, batch, **fit_params):
        """One training step: standardise, the method's :meth:`train_outputs`, ``get_loss``, backward."""
        self._set_training(True)
        x, y = unpack_data(batch)
        x = self.module_.standardize(to_tensor(x, device=self.device))
        y_pred, y_true = self.train_outputs(x, y)
        loss = self.get_loss(y_pred, y_true, X=x, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred, "y_true": y_true}

    def train_outputs(self, x: torch.Tensor, y) -> tuple[Any, Any]:
        """The method's forward pass on one standardised training batch: ``(y_pred, y_true)`` for ``get_loss``.

        ``y`` holds the dataset's targets for the batch (zeros unless the
        method sets ``dataset.targets``); augmentations happen here.
        """
        raise NotImplementedError

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        # callbacks run after the net: LoadInitState may still replace the history
        self.epoch_limit_ = len(self.history) + self.max_epochs

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if len(self.history) >= self.epoch_limit_:
            raise KeyboardInterrupt  # resumed fit: the checkpoint already holds these epochs
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        seed_torch(epoch_seed(self.seed, len(self.history) - 1), torch.device(self.device))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if len(self.history) and "stop" not in self.history[-1]:
            stopped_early = len(self.history) < self.epoch_limit_
            self.record_stop_reason(STOPPED_EARLY if stopped_early else None)
        super().on_train_end(net, X, y, **kwargs)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        loss = kwargs.get("loss")
        if training and loss is not None and not torch.isfinite(loss).all():
            epoch, batch_index = len(self.history), len(self.history[-1, "batches"])
            self.raise_diverged(
                f"the training loss became {float(loss.detach())} in epoch {epoch} (batch {batch_index})"
            )

    def raise_diverged(self, what: str) -> None:
        """Stop training with the ``FloatingPointError`` every method raises when its network diverges."""
        raise FloatingPointError(
            f"{self.owner} diverged: {what}. Lower lr (now {self.lr}) or standardise the input; "
            "labels from a diverged network would be meaningless."
        )

    def forward_outputs(self, module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """What inference keeps of ``module``'s output for a batch ``x``: the hook a method overrides.

        ``module`` is the trained ``module_`` or its float64 copy (see
        :func:`net_outputs`); the default keeps the whole output.
        """
        return module(x)

    def evaluation_step(self, batch, training=False):
        """skorch's inference step, through :meth:`forward_outputs` on ``module_``."""
        x, _ = unpack_data(batch)
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.forward_outputs(self.module_, to_tensor(x, device=self.device))

    def record_stop_reason(self, reason: str | None = None) -> None:
        """Record in the history why the fit ends after this epoch, if it does."""
        if reason is None and len(self.history) >= self.epoch_limit_:
            reason = "max_epochs reached"
        if reason is not None:
            self.history.record("stop", reason)


class BaseDeepClusterer(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Common parameters, validation, seeding and the fit template: the contract a method is written against.

    A method is an estimator deriving from this class and a private skorch
    net deriving from :class:`ResumableNet`. These are all the hooks either
    may override; anything else (``fit``, ``predict``, ``_build_net``, ...)
    stays the base's, except that a public method may be redefined to give
    it the method's own docstring.

    Estimator, in the order ``fit`` calls them:

    - ``__init__(self, n_clusters=..., *, ...)``: every parameter in the
      signature, each stored under its own name and nothing else; the body
      is ``self._store_params(locals())``. The method's
      ``_parameter_constraints`` extend the base's.
    - ``_net_class`` (class attribute, required): the method's
      :class:`ResumableNet` subclass.
    - ``_check_params_vs_input(X) -> None``: raise ``ValueError`` for
      parameters that the validated 2-D training data ``X`` (samples of
      shape ``input_shape_``) or other parameters rule out. Call ``super()``
      first; runs on every fit, warm starts included; sets nothing.
    - ``_method_callbacks() -> list of (name, callback)``: callbacks added
      after the user's copies (default: none).
    - ``_net_kwargs(sample_shape) -> dict``: the method's keyword arguments
      for ``_net_class``: ``module`` (a class called with ``input_shape``,
      ``backbone``, ``backbone_kwargs``, ``mean`` and ``scale``, which the
      base supplies, and exposing ``standardize(x)``), ``criterion`` and
      ``criterion__*``, and the net's own arguments. They update the base's
      (e.g. ``iterator_train__shuffle``). Reads parameters and sets no state;
      called on a fit that builds a new net, not on a warm start.
    - ``_default_augmenter(sample_shape, fill)`` (static method): what
      ``augment="auto"`` builds, a callable (usually a module) from a
      standardised batch to a transformed batch of the same shape; ``fill``
      is the standardised value of a 0 pixel. Default:
      :func:`~deepclust_sklearn.augment.default_augmenter`.
    - ``_prepare_warm_start(net) -> None``: update a trained net for a
      warm start on ``_n_train`` samples, e.g. a schedule that depends on
      the set's size. Call ``super()``, which sets the epochs and whether the
      last batch is dropped.
    - ``_n_epochs() -> int``: epochs a fit trains (default: ``max_epochs``;
      IIC resolves ``"auto"`` from the training set's size).
    - ``_batch_size() -> int``: samples per training step (default:
      ``batch_size``; IIC resolves ``"auto"`` from the training set's size).
    - ``_n_init() -> int`` and ``_init_loss(net) -> float``: how many
      networks a new fit trains from different seeds, and the label-free
      loss that keeps one of them (default: 1, and the last epoch's
      ``train_loss``); the first init is seeded as a single fit.
    - ``_init_epochs() -> int``: the trial each init trains before the one
      with the lowest ``_init_loss`` is kept and trained to the end
      (default: every epoch, i.e. full restarts).
    - ``_finish_fit(dataset) -> ndarray of shape (n_samples, n_outputs)``:
      after training, on every fit: set the method's fitted attributes
      (names ending in ``_``) and return the training data's per-cluster
      scores, higher meaning more likely; ``labels_`` come from their
      argmax. Default: :meth:`_cluster_scores`.
    - ``_batch_scores(outputs) -> ndarray of shape (batch, n_outputs)``: one
      batch of ``forward_outputs`` (numpy) to the same scores; used by
      ``_cluster_scores``, ``predict`` and ``transform``. Default: the
      outputs (probabilities).
    - ``_transform_from_scores(scores) -> ndarray``: a batch of scores, in
      label order, to what ``transform`` returns. Default: the scores.

    Net (a :class:`ResumableNet` subclass):

    - ``__init__(module, *args, <its own arguments>, **kwargs)``: store the
      arguments ``_net_kwargs`` gives it; pass the rest to ``super()``.
    - ``initialize_module() -> self``: ``super()`` builds ``module_`` and
      ``augmenter_``; add the method's other modules and state
      (DeepCluster's ``top_layer_``, DAC's ``schedule_``).
    - ``train_outputs(x, y) -> (y_pred, y_true)`` (required): the forward
      pass on one standardised training batch ``x``, augmentations included;
      ``y`` holds the dataset's targets (zeros unless the method sets
      ``dataset.targets``).
    - ``get_loss(y_pred, y_true, X=None, training=False) -> scalar tensor``:
      skorch's; the default is ``criterion_(y_pred, y_true)``. Changes no
      state.
    - ``on_batch_end(net, batch=None, training=None, **step)``: per-batch
      statistics for the history, from ``step["y_pred"]`` and
      ``step["y_true"]``; call ``super()`` first (it stops on a non-finite
      loss).
    - ``on_epoch_begin`` / ``on_epoch_end(net, dataset_train=None, ...)``:
      the method's per-epoch steps, recorded with ``history.record``; call
      ``super()`` (``on_epoch_begin``'s seeds the epoch). A method that
      ends training itself calls ``record_stop_reason(reason)``.
    - ``forward_outputs(module, x) -> tensor of shape (batch, n_outputs)``:
      what inference keeps of ``module(x)``, where ``module`` is ``module_``
      or its float64 copy on the CPU (so it must not read ``module_``).
      Default: ``module(x)``.
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "module": [type, None],
        "module_kwargs": [dict, None],
        "augment": [StrOptions({"auto", "none"}), callable],
        "sobel": ["boolean"],
        "optimizer": [type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "inference_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
    }

    _net_class: type

    # ----------------------------------------------------------- input shape
    def _sample_shape_of(self, X) -> tuple[int, ...] | None:
        """One sample's shape for an nd input, or the declared ``image_shape``."""
        ndim = X.ndim
        if ndim == 3:
            return (1, *X.shape[1:])
        if ndim == 4:
            return tuple(X.shape[1:])
        if ndim > 4:
            raise ValueError(
                f"{type(self).__name__} accepts 2-D (n_samples, n_features), 3-D (n_samples, H, W) or "
                f"4-D (n_samples, C, H, W) arrays; got an array with {ndim} dimensions, shape {X.shape}."
            )
        return None

    def _validate_input(self, X, reset: bool) -> tuple[np.ndarray, tuple[int, ...], type]:
        """Validate ``X``: a 2-D float array, one sample's shape, and the dtype ``transform`` returns.

        Images (3-D/4-D) are viewed as 2-D without a copy; ``validate_data``
        then checks finiteness, dtype, sample count and, when ``reset`` is
        False, the feature count seen in ``fit``. float32 and float64 input
        are used as they are; integer input (e.g. uint8 images) becomes
        float32, what the network computes in, not a float64 copy 8x its
        size. ``transform`` returns float32 for float32 input, else float64.
        """
        nd_shape = None
        dtype = [np.float64, np.float32]
        if not sp.issparse(X) and not hasattr(X, "iloc"):
            array = as_array(X)
            if array.dtype.kind in "biu":
                dtype = np.float32
            if array.ndim > 2:
                if array.dtype.kind not in "biuf":
                    raise ValueError(f"Image arrays must be numeric; got dtype {array.dtype}.")
                nd_shape = self._sample_shape_of(array)
                # explicit sizes: reshape(n, -1) fails on an empty array instead of reporting it
                array = array.reshape(array.shape[0], int(np.prod(array.shape[1:])))
            X = array  # converted once: validate_data gets the array, not the list again
        X = validate_numbers(
            self,
            X,
            reset=reset,
            accept_sparse=False,
            dtype=dtype,
            ensure_min_samples=2 if reset else 1,
            copy=False,
        )
        output_dtype = np.float32 if X.dtype == np.float32 and dtype != np.float32 else np.float64
        check_float32_range(X, "; the network computes in float32, rescale X.")
        if nd_shape is not None and self.image_shape is not None and reset:
            check_image_shape(self.image_shape, n_features=X.shape[1], sample_shape=nd_shape)
        if nd_shape is None:
            declared = self.image_shape is not None
            nd_shape = check_image_shape(self.image_shape, n_features=X.shape[1]) if declared else (X.shape[1],)
        if reset:
            self.input_shape_ = nd_shape
        elif nd_shape != self.input_shape_ and len(nd_shape) == 3:
            raise ValueError(
                f"X has samples of shape {nd_shape} but {type(self).__name__} was fitted on samples "
                f"of shape {self.input_shape_}."
            )
        return X, self.input_shape_, output_dtype

    def _store_params(self, arguments: dict) -> None:
        """The body of every ``__init__``: store each parameter as given (``arguments``: its ``locals()``)."""
        for name in self._get_param_names():
            setattr(self, name, arguments[name])

    # ------------------------------------------------------------- training
    def _check_params_vs_input(self, X: np.ndarray) -> None:
        """Check the parameters against the validated training data (a hook, see the class docstring)."""
        if len(X) < self.n_clusters:
            raise ValueError(f"n_samples={len(X)} should be >= n_clusters={self.n_clusters}.")
        user_callbacks = [cb[-1] if isinstance(cb, tuple) else cb for cb in self.callbacks or []]
        if self._n_init() > 1 and any(isinstance(cb, LoadInitState) for cb in user_callbacks):
            raise ValueError(
                f"LoadInitState resumes one network, but n_init={self._n_init()} trains several and each would "
                "load the same checkpoint. Pass n_init=1 to fit (and resume) with a checkpoint."
            )
        if getattr(self, "sobel", False) and len(self.input_shape_) != 3:
            raise ValueError(
                f"sobel=True needs images; X has samples of shape {self.input_shape_}. Pass images "
                "(n_samples, C, H, W), declare image_shape for flattened rows, or use sobel=False."
            )

    def _backbone(self, sample_shape: tuple[int, ...]) -> tuple[type, dict]:
        from .networks import default_backbone

        if self.module is None:  # the default backbone, its defaults updated by module_kwargs
            backbone, defaults = default_backbone(sample_shape)
            return backbone, {**defaults, **(self.module_kwargs or {})}
        return self.module, dict(self.module_kwargs or {})

    @staticmethod
    def _fill_value(mean, scale, sample_shape):
        """Standardised value of a raw 0 pixel (the background of digit images)."""
        if len(sample_shape) != 3:
            return 0.0
        return (-mean / scale).reshape(-1).tolist()

    @staticmethod
    def _default_augmenter(sample_shape: tuple[int, ...], fill) -> torch.nn.Module:
        """The augmenter ``augment="auto"`` builds; methods with other defaults override this.

        A static method, so the factory pickles by name without the estimator.
        """
        from .augment import default_augmenter

        return default_augmenter(sample_shape, fill=fill)

    def _augmenter_factory(self, sample_shape: tuple[int, ...], mean, scale):
        """A picklable no-argument callable that builds the training augmenter.

        The net calls it in ``initialize_module`` (skorch's place for torch
        modules); a user's callable is deep-copied so the one passed stays
        untouched. Image augmenters pad with the standardised background.
        """
        from .augment import Identity

        if isinstance(self.augment, str) and self.augment == "auto":
            fill = self._fill_value(mean, scale, sample_shape)
            return functools.partial(type(self)._default_augmenter, sample_shape, fill)
        if isinstance(self.augment, str) and self.augment == "none":
            return Identity
        return functools.partial(copy.deepcopy, self.augment)

    def _net_kwargs(self, sample_shape: tuple[int, ...]) -> dict[str, Any]:
        """The method's keyword arguments for ``_net_class`` (a hook, see the class docstring)."""
        raise NotImplementedError

    def _build_net(self, sample_shape, mean, scale, device, seed: int):
        # skorch initialises (mutates) callbacks: train copies, read results from net_.callbacks_
        callbacks = [copy.deepcopy(cb) for cb in (self.callbacks or [])] + self._method_callbacks()
        backbone, backbone_kwargs = self._backbone(sample_shape)
        kwargs = dict(
            module__input_shape=sample_shape,
            module__backbone=backbone,
            module__backbone_kwargs=backbone_kwargs,
            module__mean=torch.from_numpy(mean),
            module__scale=torch.from_numpy(scale),
            augmenter_factory=self._augmenter_factory(sample_shape, mean, scale),
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self._n_epochs(),
            batch_size=self._batch_size(),
            callbacks=callbacks,
            train_split=None,
            seed=seed,
            owner=type(self).__name__,
            device=str(device),
            verbose=self.verbose,
            warm_start=self.warm_start,
            iterator_train__collate_fn=keep_batch,
            iterator_train__shuffle=True,
            iterator_valid__collate_fn=keep_batch,
        )
        kwargs.update(self._net_kwargs(sample_shape))  # a method may override defaults
        return self._net_class(**kwargs)

    def _method_callbacks(self) -> list:
        """Callbacks the method itself adds after the user's, as ``(name, callback)`` pairs (a hook)."""
        return []

    def _torch_seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _rng_devices(self, device: torch.device) -> list:
        return [device] if device.type == "cuda" else []

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on ``X`` and cluster it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, C, H, W)
            Vectors, grey-scale images, or images with channels. Flattened
            images work with ``image_shape`` set. ``X`` is never modified.
        y : None
            Ignored; present for API consistency. Labels are never used.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        device = resolve_device(self.device, type(self).__name__)
        continuing = self.warm_start and self.__sklearn_is_fitted__()
        if not continuing:
            self._forget_fit()
        X2d, sample_shape, _ = self._validate_input(X, reset=not continuing)
        self._n_train = len(X2d)
        self._check_params_vs_input(X2d)
        dataset = ArrayDataset(X2d, sample_shape)
        try:
            with keep_heap(), torch.random.fork_rng(devices=self._rng_devices(device)):
                fit_seed = self._torch_seed()  # drawn once: a RandomState instance advances on every draw
                seed_torch(fit_seed, device)
                if continuing:
                    self._prepare_warm_start(self.net_)
                    self.net_.partial_fit(dataset, None, epochs=self.net_.max_epochs)
                else:
                    self._input_mean, self._input_scale = channel_stats(X2d, sample_shape)
                    self.net_ = self._fit_inits(dataset, sample_shape, device, fit_seed)
                self._set_labels(self._finish_fit(dataset))
        except Exception:
            # a failed fit (divergence, a callback's error) leaves no half-trained model behind,
            # not even one a warm start would continue
            self._forget_fit()
            raise
        self.history_ = self.net_.history
        return self

    def _prepare_warm_start(self, net) -> None:
        """Fit a trained net to a warm start on ``self._n_train`` samples: its epochs, its last batch."""
        self._drop_last_if_one_left(net, self._n_train)
        net.max_epochs = self._n_epochs()

    @staticmethod
    def _drop_last_if_one_left(net, n_samples: int) -> None:
        # a last batch of one sample would break BatchNorm in training mode
        net.iterator_train__drop_last = n_samples % net.batch_size == 1

    def _init_seeds(self, fit_seed: int) -> list[int]:
        """The torch seed of each of the ``_n_init()`` inits: the fit's own, then one derived from ``(fit_seed, i)``."""
        return [fit_seed] + [_init_seed(fit_seed, init) for init in range(1, self._n_init())]

    def _fit_inits(self, dataset: ArrayDataset, sample_shape, device, fit_seed: int) -> ResumableNet:
        """Train ``_n_init()`` networks from different seeds for a trial, keep the lowest ``_init_loss``, finish it.

        Each init trains the first ``_init_epochs()`` epochs of the full
        schedule (all of them by default); the one with the lowest loss then
        trains the remaining epochs, so a kept init ends exactly as a single
        fit from its seed would. The first is seeded exactly as a single fit
        is, so ``n_init=1`` changes nothing; init ``i`` trains from a seed
        derived from ``(seed, i)``. An init that ends before its trial does
        (Ctrl-C, a stopping callback) ends the restarts and the fit.
        """
        n_epochs = self._n_epochs()
        trial_epochs = min(self._init_epochs(), n_epochs) if self._n_init() > 1 else n_epochs
        best, best_loss = None, math.inf
        for init, seed in enumerate(self._init_seeds(fit_seed)):
            if init > 0:
                seed_torch(seed, device)
            net = self._build_net(sample_shape, self._input_mean, self._input_scale, device, seed=seed)
            self._drop_last_if_one_left(net, len(dataset))
            net.max_epochs = trial_epochs
            if self._n_init() > 1:
                self._report(f"init {init + 1} of {self._n_init()}: {trial_epochs} of {n_epochs} epochs")
            net.fit(dataset, None)
            loss = self._init_loss(net)
            if best is None or loss < best_loss:
                best, best_loss, best_init = net, loss, init
                self._kept_init = init  # IIC reports it as kept_init_
            if net.history[-1].get("stop") == STOPPED_EARLY:
                return best
        if self._n_init() > 1:
            self._report(f"kept init {best_init + 1} (loss {best_loss:.4f})")
        if trial_epochs < n_epochs:
            self._report(f"init {best_init + 1} trains on: epochs {trial_epochs + 1}-{n_epochs}")
            del best.history[-1]["stop"]  # the trial's end is not the fit's
            best.max_epochs = n_epochs - trial_epochs  # what is left; the schedules read the history's length
            best.partial_fit(dataset, None)
        best.max_epochs = n_epochs
        return best

    def _report(self, message: str) -> None:
        """Print a line of progress on a verbose fit, named by the estimator."""
        if self.verbose:
            print(f"{type(self).__name__}: {message}", flush=True)

    def _n_epochs(self) -> int:
        """Epochs a fit trains (a hook; ``max_epochs`` here). Called once ``_n_train`` is set."""
        return self.max_epochs

    def _batch_size(self) -> int:
        """Samples per training step (a hook; ``batch_size`` here). Called once ``_n_train`` is set."""
        return self.batch_size

    def _n_init(self) -> int:
        """Networks ``fit`` trains from different seeds, keeping the best by ``_init_loss`` (a hook; 1 here)."""
        return 1

    def _init_epochs(self) -> int:
        """Epochs each of ``_n_init()`` networks trains before one is kept (a hook; all of them here)."""
        return self._n_epochs()

    def _init_loss(self, net: ResumableNet) -> float:
        """Label-free loss that picks among the inits of :meth:`_fit_inits` (a hook; the last training loss)."""
        return float(net.history[-1, "train_loss"])

    def _forget_fit(self) -> None:
        """Delete every fitted attribute, so the estimator reads as unfitted."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)

    def _finish_fit(self, dataset: ArrayDataset) -> np.ndarray:
        """Method-specific work once the network is trained (a hook, see the class docstring).

        Returns the training data's cluster scores, from which ``labels_`` come.
        """
        return self._cluster_scores(dataset)

    def _cluster_scores(self, dataset: ArrayDataset) -> np.ndarray:
        """Per-cluster scores of a dataset's samples (network output order), higher meaning more likely."""
        return net_outputs(self.net_, dataset, per_batch=self._batch_scores, batch_size=self.inference_batch_size)

    # ------------------------------------------------------------ inference
    def _batch_scores(self, outputs: np.ndarray) -> np.ndarray:
        """One batch of the net's ``forward_outputs`` -> per-cluster scores (a hook; here the same)."""
        return outputs

    def _set_labels(self, scores: np.ndarray) -> None:
        """Consecutive ``labels_`` and the column order that ``transform`` uses.

        Clusters that received training samples become labels ``0..n_found-1``
        in the order of their network output index; unused clusters go to the end of
        ``transform``'s columns and are never predicted.
        """
        raw_labels = scores.argmax(axis=1)
        used = np.unique(raw_labels)
        unused = np.setdiff1d(np.arange(scores.shape[1]), used)
        self._column_order = np.concatenate([used, unused])
        self.n_clusters_found_ = int(len(used))
        self.labels_ = np.searchsorted(used, raw_labels).astype(np.int64)
        if self.n_clusters_found_ < self.n_clusters:
            warnings.warn(
                f"{type(self).__name__} put the data into {self.n_clusters_found_} clusters, fewer than "
                f"n_clusters={self.n_clusters}. Try more max_epochs, a lower lr, another random_state, "
                "or a smaller n_clusters.",
                ConvergenceWarning,
                stacklevel=2,
            )

    def transform(self, X) -> np.ndarray:
        """Cluster probabilities, column ``j`` for label ``j``.

        Parameters
        ----------
        X : array-like of the same kind as in ``fit``

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Rows sum to 1; columns beyond ``n_clusters_found_`` belong to
            clusters that no training sample fell into. The dtype follows
            ``X`` (float32 stays float32, anything else gives float64).
        """
        return self._infer(X, lambda scores, dtype: self._transform_from_scores(scores).astype(dtype, copy=False))

    def _infer(self, X, finish) -> np.ndarray:
        """Run the fitted net over validated ``X`` batch by batch.

        ``finish(scores, dtype)`` maps one batch's scores, in label order, to
        what is kept (probabilities, distances or labels), so the only array
        that grows with ``n_samples`` is the result itself. ``dtype`` is the
        one ``transform`` returns (float32 for float32 ``X``, else float64).
        """
        check_is_fitted(self)
        X2d, sample_shape, dtype = self._validate_input(X, reset=False)

        def per_batch(outputs: np.ndarray) -> np.ndarray:
            return finish(self._batch_scores(outputs)[:, self._column_order], dtype)

        return net_outputs(
            self.net_, ArrayDataset(X2d, sample_shape), per_batch=per_batch, batch_size=self.inference_batch_size
        )

    def _transform_from_scores(self, scores: np.ndarray) -> np.ndarray:
        """What ``transform`` returns for the per-cluster scores (a hook; probabilities here)."""
        return scores

    def predict(self, X) -> np.ndarray:
        """Cluster label of each sample (consecutive, as in ``labels_``).

        Parameters
        ----------
        X : array-like of the same kind as in ``fit``

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
        """
        return self._infer(X, lambda scores, _: scores[:, : self.n_clusters_found_].argmax(axis=1).astype(np.int64))

    def score(self, X, y=None) -> float:
        """Label-free: mutual information between the clusters of ``X`` and of transformed copies of ``X``.

        Each sample of ``X`` and one randomly transformed copy of it (the
        method's training ``augment``, drawn from a fixed seed so that every
        fitted setting is scored on the same copies) get the label
        ``predict`` would give them; the score is the mutual information,
        in nats, of the two labellings (IIC's objective on hard
        assignments, formula in :mod:`deepclust_sklearn._score`). Higher is
        better: clusters that are used, and that a transformed copy keeps. So
        ``GridSearchCV(estimator, grid)`` with no ``y`` and no ``scoring``
        selects hyperparameters without labels, and scores of different
        methods compare. Neither the global random state nor ``X`` changes.

        Bias: the score is at most ``log(n_clusters)`` and grows with the
        number of clusters, so compare settings with the same
        ``n_clusters``; to choose ``n_clusters`` search it with
        :func:`~deepclust_sklearn.normalized_score_scorer` (measured on the
        dev sets in ``docs/usage.md``). With ``augment="none"`` the copies
        are the samples themselves and the score is the entropy of the
        labels: it measures only how evenly the clusters are used.

        Parameters
        ----------
        X : array-like of the same kind as in ``fit``
        y : None
            Ignored; labels are never used.

        Returns
        -------
        score : float
            In ``[0, log(n_clusters)]``.

        Examples
        --------
        >>> from sklearn.datasets import make_blobs
        >>> from deepclust_sklearn import DACEstimator
        >>> X, _ = make_blobs(n_samples=90, centers=3, cluster_std=0.5, random_state=0)
        >>> est = DACEstimator(n_clusters=3, max_epochs=10, batch_size=16, lr=0.01, random_state=0).fit(X)
        >>> bool(0.0 <= est.score(X) <= np.log(3))
        True
        """
        return mutual_information(*self._labels_and_copy_labels(X))

    def _labels_and_copy_labels(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``predict``'s labels for ``X`` and for one transformed copy of ``X`` (seed ``SCORE_SEED``)."""
        check_is_fitted(self)
        X2d, sample_shape, _ = self._validate_input(X, reset=False)
        dataset = ArrayDataset(X2d, sample_shape)
        device = torch.device(self.net_.device)

        def labels(prepare=None) -> np.ndarray:
            per_batch = lambda outputs: self._batch_scores(outputs).argmax(axis=1)  # noqa: E731
            return net_outputs(self.net_, dataset, per_batch, self.inference_batch_size, prepare=prepare)

        with torch.random.fork_rng(devices=self._rng_devices(device)):
            seed_torch(SCORE_SEED, device)
            copy_labels = labels(transformed_copies(self.net_))
        return labels(), copy_labels

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit and return ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : None
            Ignored.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X).labels_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_") and hasattr(self, "labels_")

    @property
    def _n_features_out(self) -> int:
        """Number of ``transform`` output columns, one per cluster (``get_feature_names_out`` uses it).

        Read from the fitted model, not from ``n_clusters``, so a later
        ``set_params`` cannot make the names disagree with ``transform``;
        raises ``NotFittedError`` (an ``AttributeError``) before ``fit``.
        """
        check_is_fitted(self)
        return len(self._column_order)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
