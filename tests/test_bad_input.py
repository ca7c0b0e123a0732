"""Bad input gets a clear error, tested by property (DESIGN.md, promise 5).

Hypothesis generates bad inputs for ``fit``, ``predict`` and ``transform`` of
every estimator (the three deep clusterers, ``FaissKMeans``, ``PCAWhitenL2``),
bad parameters, bad devices, and bad labels for the metrics and scorers.
Every generated case must:

- raise ``ValueError`` or ``TypeError`` (sklearn's ``InvalidParameterError``
  and ``NotFittedError`` are both) whose message matches a pattern naming the
  problem ("NaN|infinity", "n_samples", "features", "device", the parameter's
  name, ...);
- raise it from our code or scikit-learn's, never from inside torch or faiss
  (checked on the exception's class and on the frame that raised it);
- finish quickly (a ``SIGALRM`` guard turns a hang into a failure);
- leave every input exactly as it was: same dtype, shape and values (NaN
  compared equal to NaN), and the estimator's parameters unchanged.

Fits are tiny; predict-time cases reuse one fitted estimator per
configuration (module-scoped fixture). Each generated example adds to
``CASES``; the last test prints the total and checks it against a minimum.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import signal
import traceback
import warnings
from collections import Counter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone

from deepclust_sklearn import DACEstimator, DeepClusterEstimator, FaissKMeans, IICEstimator, PCAWhitenL2
from deepclust_sklearn.metrics import (
    adjusted_rand_score,
    ari_scorer,
    clustering_accuracy,
    clustering_accuracy_scorer,
    clustering_scores,
    hungarian_match,
    nmi_scorer,
    normalized_mutual_info_score,
)
from deepclust_sklearn.networks import ConvBackbone, MLPBackbone

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Generated examples that ended in the expected clear error, per test node.
CASES: Counter = Counter()

# ---------------------------------------------------------------------------
# tiny configurations (own copies: the suite must not depend on other test files)
# ---------------------------------------------------------------------------

_TINY = dict(max_epochs=1, batch_size=8, lr=0.01, augment="none", random_state=0)
_MLP = dict(module=MLPBackbone, module_kwargs={"hidden": (8,)})
_CONV = dict(module=ConvBackbone, module_kwargs={"channels": (2,)})

CONFIGS = {
    "IIC": IICEstimator(n_clusters=2, overcluster=3, n_subheads=1, repeats=1, **_TINY, **_MLP),
    "DAC": DACEstimator(n_clusters=2, **_TINY, **_MLP),
    "DeepCluster": DeepClusterEstimator(
        n_clusters=2, n_pseudo_clusters=2, embedding_dim=4, pca_components=2, kmeans_iter=2, **_TINY, **_MLP
    ),
    "FaissKMeans": FaissKMeans(n_clusters=2, max_iter=5, random_state=0),
    # n_components above n_features is capped (documented): the fitted
    # projection is square, so an overflowing sample overflows its projection
    "PCAWhitenL2": PCAWhitenL2(n_components=8),
}
DEEP = ("IIC", "DAC", "DeepCluster")
NAMES = tuple(CONFIGS)
N_FEATURES = 4  # fitted vectors have 4 features, so 2x2 images differ from them only in shape
IMAGE_SHAPE = (1, 4, 4)

# The messages that name each problem.
MATCH = {
    "nonfinite": r"NaN|infinity",
    "too_large": r"too large",
    "empty_samples": r"0 sample",
    "empty_features": r"0 feature",
    "one_sample": r"1 sample|n_samples=1 ",
    "too_few_for_clusters": r"n_samples=\d+ should be >= n_clusters=\d+",
    "too_few_for_pseudo": r"n_samples=\d+ should be >= n_pseudo_clusters=\d+",
    "bad_ndim": r"2D array|2-D|dimensions|dim \d",
    "complex": r"[Cc]omplex",
    "object": r"float|number|string|convert|NaN|[Cc]omplex|numeric|sequences",
    "strings": r"string|convert|numeric",
    "sparse": r"[Ss]parse",
    "ragged": r"sequences|differ in length",
    "wrong_features": r"X has \d+ features, but \w+ is expecting \d+ features",
    "wrong_image_shape": r"X has samples of shape \(.*\) but \w+ was fitted on samples of shape|features",
}

_HYP = dict(
    deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


# ---------------------------------------------------------------------------
# the checks every case goes through
# ---------------------------------------------------------------------------


class Hang(Exception):
    """Raised by the alarm when a call on bad input does not return in time."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    if not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(signum, frame):
        raise Hang(f"no error within {seconds} s: the call hangs on bad input")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _snapshot(obj):
    if isinstance(obj, pd.DataFrame):
        return ("frame", obj.copy(deep=True))
    if sp.issparse(obj):
        return ("sparse", obj.format, obj.dtype, obj.shape, obj.toarray())
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype, obj.shape, obj.copy())
    return ("other", copy.deepcopy(obj))


def _assert_unchanged(obj, snap) -> None:
    kind = snap[0]
    if kind == "frame":
        assert obj.equals(snap[1]) and (obj.dtypes == snap[1].dtypes).all(), "the input DataFrame changed"
    elif kind == "sparse":
        _, fmt, dtype, shape, dense = snap
        assert (obj.format, obj.dtype, obj.shape) == (fmt, dtype, shape)
        assert np.array_equal(obj.toarray(), dense, equal_nan=dense.dtype.kind in "fc")
    elif kind == "array":
        _, dtype, shape, values = snap
        assert obj.dtype == dtype and obj.shape == shape, "the input's dtype or shape changed"
        if dtype.kind in "fc":
            assert np.array_equal(obj, values, equal_nan=True), "the input's values changed"
        else:  # object/str arrays: compare element by element (list equality handles NaN objects)
            assert obj.tolist() == values.tolist(), "the input's values changed"
    else:
        assert obj == snap[1] or repr(obj) == repr(snap[1]), "the input changed"


def _params_repr(est) -> dict:
    return {k: repr(v) for k, v in est.get_params(deep=False).items()}


def _assert_not_raw(exc_info) -> None:
    """The error is ours or scikit-learn's: not a torch/faiss class, not raised inside torch/faiss."""
    exc = exc_info.value
    module = type(exc).__module__
    assert not module.startswith(("torch", "faiss")), f"raw {module}.{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc_info.tb)
    origin = frames[-1].filename.replace("\\", "/") if frames else ""
    assert not re.search(r"/(torch|faiss|skorch)/", origin), f"raised inside {origin}: {exc}"


def expect_clear_error(call, *inputs, match: str, test: str, est=None, seconds: float = 30.0):
    """``call()`` raises ValueError/TypeError matching ``match``, clean, quick, inputs untouched."""
    snaps = [_snapshot(x) for x in inputs]
    params = _params_repr(est) if est is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, TypeError), match=match) as info, _time_limit(seconds):
            call()
    _assert_not_raw(info)
    for x, snap in zip(inputs, snaps):
        _assert_unchanged(x, snap)
    if est is not None:
        assert _params_repr(est) == params, "a failed call changed the estimator's parameters"
    node = os.environ.get("PYTEST_CURRENT_TEST", test).rsplit(" ", 1)[0].split("::")[-1]
    CASES[node] += 1
    return info.value


# ---------------------------------------------------------------------------
# strategies: arrays
# ---------------------------------------------------------------------------

_VALUES = st.floats(-100, 100, allow_nan=False, width=32)
_FLOAT_DTYPES = st.sampled_from([np.float32, np.float64])


class Case(NamedTuple):
    kind: str
    X: Any
    match: str
    params: dict


def _case(kind, X, params=None, match=None) -> Case:
    return Case(kind, X, match or MATCH[kind], params or {})


@st.composite
def vector_shapes(draw, n=None, d=None):
    n = draw(st.integers(2, 10)) if n is None else n
    d = draw(st.integers(1, 5)) if d is None else d
    return (n, d)


@st.composite
def image_shapes(draw, n=None):
    n = draw(st.integers(2, 8)) if n is None else n
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if draw(st.booleans()):
        return (n, h, w)
    return (n, draw(st.integers(1, 3)), h, w)


def finite_arrays(shape, dtype=None):
    return hnp.arrays(dtype if dtype is not None else _FLOAT_DTYPES, shape, elements=_VALUES)


@st.composite
def _with_values_at(draw, base: np.ndarray, values) -> np.ndarray:
    """``base`` with 1-3 of its entries replaced by draws from ``values``."""
    X = base.copy()
    for _ in range(draw(st.integers(1, min(3, X.size)))):
        X.flat[draw(st.integers(0, X.size - 1))] = draw(values)
    return X


_NONFINITE = st.sampled_from([np.nan, np.inf, -np.inf])
_HUGE = st.floats(1e200, 1.7e308) | st.floats(-1.7e308, -1e200)  # beyond float32, and squares overflow
_ALIENS = st.sampled_from([{"a": 1}, [1.0], "abc", 1 + 2j, {1, 2}, object()])
_WORDS = st.text("abcdefghijklmopqrsuvwxyz_", min_size=1, max_size=5).filter(
    lambda s: s.lower() not in {"nan", "inf", "infinity"}
)


@st.composite
def bad_arrays(draw, kind: str, shape_strategy) -> Case:
    """One bad X of ``kind`` whose valid entries have the shape ``shape_strategy`` draws."""
    shape = draw(shape_strategy)
    if kind == "nonfinite":
        base = draw(finite_arrays(shape))
        X = draw(_with_values_at(base, _NONFINITE))
        container = draw(st.sampled_from(["array"] * 4 + ["list", "frame"]))
        if container == "list":
            return _case(kind, X.tolist())
        if container == "frame" and X.ndim == 2:
            return _case(kind, pd.DataFrame(X))
        return _case(kind, X)
    if kind == "too_large":
        return _case(kind, draw(_with_values_at(draw(finite_arrays(shape, np.float64)), _HUGE)))
    if kind == "complex":
        real = draw(finite_arrays(shape))
        dtype = draw(st.sampled_from([np.complex64, np.complex128]))
        return _case(kind, (real + 1j * draw(st.sampled_from([0.0, 1.0]))).astype(dtype))
    if kind == "object":
        base = draw(finite_arrays(shape)).astype(object)
        return _case(kind, draw(_with_values_at(base, _ALIENS)))
    if kind == "strings":
        base = draw(finite_arrays(shape)).astype(str)
        return _case(kind, draw(_with_values_at(base, _WORDS)))
    raise AssertionError(kind)


@st.composite
def bad_fit_inputs(draw, name: str) -> Case:
    deep = name in DEEP
    kinds = [
        "nonfinite",
        "too_large",
        "empty_samples",
        "empty_features",
        "one_sample",
        "bad_ndim",
        "complex",
        "object",
        "strings",
        "sparse",
        "ragged",
    ]
    if name != "PCAWhitenL2":
        kinds.append("too_few_for_clusters")
    if name == "DeepCluster":
        kinds.append("too_few_for_pseudo")
    kind = draw(st.sampled_from(kinds))
    images = deep and kind not in ("sparse", "ragged", "too_few_for_pseudo") and draw(st.booleans())
    shapes = image_shapes() if images else vector_shapes()
    if kind in ("nonfinite", "too_large", "complex", "object", "strings"):
        return draw(bad_arrays(kind, shapes))
    if kind == "empty_samples":
        shape = draw(image_shapes(n=0) if images else vector_shapes(n=0))
        return _case(kind, np.empty(shape, dtype=draw(_FLOAT_DTYPES)))
    if kind == "empty_features":
        shape = draw(image_shapes() if images else vector_shapes(d=0))
        shape = (*shape[:-1], 0)
        return _case(kind, np.empty(shape, dtype=draw(_FLOAT_DTYPES)))
    if kind == "one_sample":
        shape = draw(image_shapes(n=1) if images else vector_shapes(n=1))
        return _case(kind, draw(finite_arrays(shape)))
    if kind == "too_few_for_clusters":
        n = draw(st.integers(2, 5))
        X = draw(finite_arrays(draw(image_shapes(n=n) if images else vector_shapes(n=n))))
        return _case(kind, X, {"n_clusters": n + draw(st.integers(1, 5))})
    if kind == "too_few_for_pseudo":
        n = draw(st.integers(2, 5))
        X = draw(finite_arrays(vector_shapes(n=n)))
        return _case(kind, X, {"n_pseudo_clusters": n + draw(st.integers(1, 5))})
    if kind == "bad_ndim":
        return _case(kind, draw(_bad_ndim_arrays(images_ok=deep)))
    if kind == "sparse":
        return _case(kind, draw(_sparse(draw(finite_arrays(draw(vector_shapes()))))))
    if kind == "ragged":
        rows = draw(finite_arrays(draw(vector_shapes(d=draw(st.integers(2, 4)))))).tolist()
        rows[draw(st.integers(0, len(rows) - 1))].pop()
        return _case(kind, rows)
    raise AssertionError(kind)


@st.composite
def _bad_ndim_arrays(draw, images_ok: bool):
    """Arrays whose number of dimensions the estimator does not accept."""
    ndims = [0, 1, 5, 6] + ([] if images_ok else [3, 4])
    ndim = draw(st.sampled_from(ndims))
    if ndim == 0:
        return draw(st.sampled_from([np.float64(1.5), 2.0, None, np.array(3.0)]))
    sizes = [draw(st.integers(2, 6))] + [draw(st.integers(1, 3)) for _ in range(ndim - 1)]
    X = draw(finite_arrays(tuple(sizes)))
    return X.tolist() if ndim == 1 and draw(st.booleans()) else X


@st.composite
def _sparse(draw, dense: np.ndarray):
    fmt = draw(st.sampled_from(["csr", "csc", "coo", "lil", "dok"]))
    matrix = sp.coo_matrix(dense).asformat(fmt)
    if draw(st.booleans()) and hasattr(sp, "csr_array"):
        matrix = sp.csr_array(matrix)
    return matrix


@st.composite
def bad_predict_inputs(draw, name: str, fitted_on_images: bool) -> Case:
    deep = name in DEEP
    n_features = int(np.prod(IMAGE_SHAPE)) if fitted_on_images else N_FEATURES
    kinds = [
        "nonfinite",
        "too_large",
        "empty_samples",
        "empty_features",
        "wrong_features",
        "bad_ndim",
        "complex",
        "object",
        "strings",
        "sparse",
    ]
    if deep:
        kinds.append("wrong_image_shape")
    kind = draw(st.sampled_from(kinds))
    right = vector_shapes(n=draw(st.integers(1, 6)), d=n_features)
    if kind in ("nonfinite", "too_large", "complex", "object", "strings"):
        case = draw(bad_arrays(kind, right))
        if fitted_on_images and kind in ("nonfinite", "too_large") and draw(st.booleans()):
            X = np.asarray(case.X, dtype=float)
            case = case._replace(X=X.reshape((len(X), *IMAGE_SHAPE)))
        return case
    if kind == "empty_samples":
        return _case(kind, np.empty((0, n_features), dtype=draw(_FLOAT_DTYPES)))
    if kind == "empty_features":
        return _case(kind, np.empty((draw(st.integers(1, 5)), 0), dtype=draw(_FLOAT_DTYPES)))
    if kind == "wrong_features":
        d = draw(st.integers(1, 2 * n_features + 3).filter(lambda d: d != n_features))
        return _case(kind, draw(finite_arrays(vector_shapes(d=d))))
    if kind == "wrong_image_shape":
        # images whose sample shape is not the fitted one, with as many values or not
        shape = draw(st.one_of(image_shapes(), st.sampled_from([(3, 2, 2), (3, 1, 1, 4), (3, 4, 1), (2, 2, 8)])))
        sample = shape[1:] if len(shape) == 4 else (1, *shape[1:])
        if fitted_on_images and sample == IMAGE_SHAPE:
            shape = (shape[0], 2, 2, 4)
        return _case(kind, draw(finite_arrays(shape)))
    if kind == "bad_ndim":
        return _case(kind, draw(_bad_ndim_arrays(images_ok=deep)))
    if kind == "sparse":
        return _case(kind, draw(_sparse(draw(finite_arrays(right)))))
    raise AssertionError(kind)


# ---------------------------------------------------------------------------
# strategies: parameters
# ---------------------------------------------------------------------------

_NOT_INT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.sampled_from([[1], (2,), {}])
)
_NOT_REAL = st.sampled_from(["0.1", "nan", [0.1], (0.5,), {}, 1j])
_NOT_BOOL = st.sampled_from(["yes", "False", 2, 0, 1, None, 1.0, [True]])
_NAN_INF = st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("inf")])


def ints_below(k: int):
    """Ints < k: zero, negative and other sizes out of range."""
    return st.integers(-(10**9), k - 1)


def int_param(minimum: int, none_ok: bool = False):
    bad = [ints_below(minimum), _NOT_INT]
    if not none_ok:
        bad.append(st.none())
    return st.one_of(*bad)


def real_param(low: float | None, high: float | None = None, low_open=False, high_open=True, none_ok=False):
    """Bad values of a real in an interval: NaN, inf, values outside, other types."""
    bad = [_NAN_INF, _NOT_REAL]
    if low is not None:
        bad.append(
            st.floats(max_value=low, exclude_max=not low_open, allow_nan=False).filter(
                lambda v: v < low or (low_open and v == low)
            )
        )
    if high is not None:
        bad.append(
            st.floats(min_value=high, exclude_min=not high_open, allow_nan=False).filter(
                lambda v: v > high or (high_open and v == high)
            )
        )
    if not none_ok:
        bad.append(st.none())
    return st.one_of(*bad)


def _usable_device(device) -> bool:
    try:
        parsed = torch.device(device)
    except Exception:
        return False
    if parsed.type == "cpu":
        return True
    if parsed.type == "cuda" and torch.cuda.is_available():
        return parsed.index is None or parsed.index < torch.cuda.device_count()
    return False


_BAD_DEVICES = st.one_of(
    st.sampled_from(
        [
            "gpu",
            "cuda:99",
            "tpu",
            "",
            "CPU",
            " cpu",
            "cpu,cuda",
            "cuda:-1",
            "meta",
            "mps",
            "xla",
            "xpu",
            "cuda:1:2",
            "cuda:",
            "cuda0",
            "cpu:-1",
        ]
    ),
    st.sampled_from(["cuda"]).filter(lambda d: not _usable_device(d)),
    st.integers(-5, 100),
    st.none(),
    st.floats(),
    st.sampled_from([["cpu"], ("cpu",), b"cpu", torch.device("meta")]),
    st.text(max_size=8).filter(lambda d: not _usable_device(d)),
)

_DEEP_PARAMS = {
    "n_clusters": int_param(1),
    "lr": real_param(0, low_open=True),
    "max_epochs": int_param(1),
    "batch_size": int_param(1),
    "device": _BAD_DEVICES,
    "verbose": st.one_of(st.integers(max_value=-1), st.sampled_from(["yes", 1.5, None])),
    "random_state": st.one_of(
        st.integers(max_value=-1), st.integers(min_value=2**32), st.sampled_from(["seed", 1.5, [0]])
    ),
    "warm_start": _NOT_BOOL,
    "sobel": _NOT_BOOL,
    "image_shape": st.sampled_from(
        [
            "abc",
            16,
            (0, 4),
            (-1, 4),
            (2, -2),
            (4.5, 4),
            (2.0, 2.0),
            (4,),
            (1, 1, 2, 2),
            ("a", 4),
            (None, 4),
            (3, 3),
            [5, 1],
            (True, 4),
            (),
        ]
    ),
    "augment": st.sampled_from(["bogus", "AUTO", 3, None, ["auto"]]),
    "optimizer": st.sampled_from(["adam", 3, None]),
    "callbacks": st.sampled_from(["progress", 3, ("print_log",)]),
    "module": st.sampled_from(["mlp", 3, [MLPBackbone]]),
    "module_kwargs": st.sampled_from([[("hidden", (8,))], "hidden", 3]),
}
BAD_PARAMS = {
    "IIC": {
        **_DEEP_PARAMS,
        "overcluster": int_param(2, none_ok=True),
        "n_subheads": int_param(1),
        "entropy_weight": real_param(0),
        "repeats": int_param(1),
        "head_schedule": st.sampled_from(
            ["cluster", [], ["bogus"], [["cluster"]], [1], None, ("cluster", "x"), ["overcluster"], [None]]
        ),
        "lr_schedule": st.sampled_from(["linear", None, 1, "Cosine"]),
        "n_init": int_param(1),
        "init_steps": int_param(1, none_ok=True),
    },
    "DAC": {
        **_DEEP_PARAMS,
        "batch_size": int_param(2),
        "upper": real_param(0, 1, low_open=True, high_open=False),
        "lower": real_param(0, 1),
        "lower_rate": real_param(0),
        "threshold_step": real_param(0, low_open=True),
        "threshold_samples": int_param(1, none_ok=True),
        "targets": st.sampled_from(["bogus", None, 1, "SAME"]),
        "consistency": real_param(0),
        "balance": _NOT_BOOL,
        "views": int_param(1),
        "lr_schedule": st.sampled_from(["linear", None, 1, "Cosine"]),
    },
    "DeepCluster": {
        **_DEEP_PARAMS,
        "batch_size": int_param(2),
        "n_pseudo_clusters": int_param(2, none_ok=True),
        "pca_components": int_param(1, none_ok=True),
        "kmeans_iter": int_param(1),
        "reassign": int_param(1),
        "classifier": st.sampled_from(["bogus", None, 1, "RESET"]),
        "embedding_dim": int_param(1),
        "momentum": real_param(0, 1),
        "weight_decay": real_param(0),
    },
    "FaissKMeans": {
        "n_clusters": int_param(1),
        "n_init": int_param(1),
        "max_iter": st.one_of(int_param(1), st.integers(2**31, 2**64)),
        "random_state": _DEEP_PARAMS["random_state"],
        "verbose": _DEEP_PARAMS["verbose"],
    },
    "PCAWhitenL2": {
        "n_components": int_param(1),
        "whiten": _NOT_BOOL,
        "l2_normalize": _NOT_BOOL,
        "eps": real_param(0),
    },
}
# Settings that are only wrong together, and what their error must name.
BAD_COMBINATIONS = {
    "DAC": st.floats(0.01, 0.99).flatmap(
        lambda upper: st.fixed_dictionaries({"upper": st.just(upper), "lower": st.floats(upper, 0.99)})
    ),
    "DeepCluster": st.just({"sobel": True}),  # on vectors
    "IIC": st.just({"sobel": True}),  # on vectors
}
COMBINATION_MATCH = {
    "DAC": r"upper=.* must be greater than lower=",
    "DeepCluster": r"sobel=True needs images",
    "IIC": r"sobel=True needs images",
}


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def _vectors(n=12, seed=0):
    return np.random.RandomState(seed).normal(size=(n, N_FEATURES))


@pytest.fixture(scope="module")
def fitted():
    """One fitted estimator per configuration on 4-feature vectors; the deep ones also on 1x4x4
    images, given as images and flattened with ``image_shape=(4, 4)``."""
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = _vectors()
        for name in NAMES:
            est = clone(CONFIGS[name]).fit(X)
            models[name] = (est, X, _method_output(est, X))
        images = np.random.RandomState(1).normal(size=(12, *IMAGE_SHAPE)).astype(np.float32)
        flat = images.reshape(len(images), -1)
        for name in DEEP:
            est = clone(CONFIGS[name]).set_params(**_CONV).fit(images)
            models[name + "-images"] = (est, images, _method_output(est, images))
            # flattened images with a declared image_shape, as in a Pipeline
            est = clone(CONFIGS[name]).set_params(image_shape=IMAGE_SHAPE[1:], **_CONV).fit(flat)
            models[name + "-flat"] = (est, flat, _method_output(est, flat))
    return models


def _method_output(est, X):
    return est.predict(X) if hasattr(est, "predict") else est.transform(X)


def _methods(est):
    names = ["transform"] + (["predict"] if hasattr(est, "predict") else [])
    if hasattr(est, "score") and isinstance(est, FaissKMeans):
        names.append("score")
    return names


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=45, **_HYP)
@given(data=st.data())
def test_fit_rejects_bad_X(name, data):
    case = data.draw(bad_fit_inputs(name), label="case")
    est = clone(CONFIGS[name]).set_params(**case.params)
    expect_clear_error(lambda: est.fit(case.X), case.X, match=case.match, test="fit", est=est)


FITTED = [*NAMES, *(name + "-images" for name in DEEP), *(name + "-flat" for name in DEEP)]


@pytest.mark.parametrize("key", FITTED)
@settings(max_examples=30, **_HYP)
@given(data=st.data())
def test_predict_transform_reject_bad_X(key, fitted, data):
    est, _, _ = fitted[key]
    name = key.split("-")[0]
    case = data.draw(bad_predict_inputs(name, key.endswith(("-images", "-flat"))), label="case")
    method = data.draw(st.sampled_from(_methods(est)), label="method")
    expect_clear_error(lambda: getattr(est, method)(case.X), case.X, match=case.match, test="predict", est=est)


@pytest.mark.parametrize("key", FITTED)
def test_fitted_estimators_survive_bad_calls(key, fitted):
    """The shared fitted estimators still give their original outputs after all the bad calls."""
    est, X, expected = fitted[key]
    np.testing.assert_array_equal(_method_output(est, X), expected)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8, **_HYP)
@given(data=st.data())
def test_unfitted_estimators_say_so(name, data):
    est = clone(CONFIGS[name])
    method = data.draw(st.sampled_from(_methods(est)))
    X = data.draw(finite_arrays(vector_shapes(d=N_FEATURES)))
    expect_clear_error(lambda: getattr(est, method)(X), X, match=r"not fitted", test="unfitted", est=est)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, **_HYP)
@given(data=st.data())
def test_bad_parameters_are_named(name, data):
    param = data.draw(st.sampled_from(sorted(BAD_PARAMS[name])), label="param")
    value = data.draw(BAD_PARAMS[name][param], label="value")
    est = clone(CONFIGS[name]).set_params(**{param: value})
    X = _vectors()
    match = re.escape(param) if param != "device" else r"device"
    expect_clear_error(lambda: est.fit(X), X, match=match, test="params", est=est)


@pytest.mark.parametrize("name", sorted(BAD_COMBINATIONS))
@settings(max_examples=10, **_HYP)
@given(data=st.data())
def test_bad_parameter_combinations_are_named(name, data):
    params = data.draw(BAD_COMBINATIONS[name])
    est = clone(CONFIGS[name]).set_params(**params)
    X = _vectors()
    expect_clear_error(lambda: est.fit(X), X, match=COMBINATION_MATCH[name], test="params", est=est)


@pytest.mark.parametrize("name", DEEP)
@settings(max_examples=12, **_HYP)
@given(data=st.data())
def test_unknown_devices_are_named(name, data):
    """Devices that do not exist here: a ValueError/TypeError that says 'device', before any training."""
    device = data.draw(_BAD_DEVICES)
    est = clone(CONFIGS[name]).set_params(device=device)
    X = _vectors()
    error = expect_clear_error(lambda: est.fit(X), X, match=r"device", test="params", est=est)
    assert "'cpu'" in str(error) or "parameter" in str(error)  # it says what to use instead


# ---------------------------------------------------------------------------
# metrics and scorers
# ---------------------------------------------------------------------------

METRICS = {
    "clustering_accuracy": clustering_accuracy,
    "normalized_mutual_info_score": normalized_mutual_info_score,
    "adjusted_rand_score": adjusted_rand_score,
    "clustering_scores": clustering_scores,
    "hungarian_match": hungarian_match,
}


def label_arrays(n):
    return hnp.arrays(np.int64, n, elements=st.integers(0, 4))


@st.composite
def bad_labels(draw, n: int) -> tuple[str, Any, str]:
    """A bad labeling for ``n`` samples, with the pattern its error must match."""
    kind = draw(
        st.sampled_from(
            [
                "nonfinite",
                "fractional",
                "length",
                "2d",
                "empty",
                "complex",
                "none",
                "sparse",
                "object",
                "scalar",
                "masked",
            ]
        )
    )
    good = draw(label_arrays(n))
    if kind == "nonfinite":
        bad = draw(_with_values_at(good.astype(draw(_FLOAT_DTYPES)), _NONFINITE))
        return kind, (bad.tolist() if draw(st.booleans()) else bad), r"NaN|infinite"
    if kind == "fractional":
        fraction = st.tuples(st.integers(-3, 5), st.floats(0.01, 0.99)).map(sum)
        bad = draw(_with_values_at(good.astype(np.float64), fraction))
        return kind, (bad.tolist() if draw(st.booleans()) else bad), r"non-integer"
    if kind == "length":
        m = draw(st.integers(1, n + 5).filter(lambda m: m != n))
        return kind, draw(label_arrays(m)), r"same length"
    if kind == "2d":
        k = draw(st.integers(1, 3))
        return kind, draw(hnp.arrays(np.int64, (n, k), elements=st.integers(0, 4))), r"1-D"
    if kind == "empty":
        return kind, draw(st.sampled_from([[], np.array([], dtype=int), np.array([])])), r"empty"
    if kind == "complex":
        return kind, good.astype(complex) + 1j * draw(st.sampled_from([0, 1])), r"complex"
    if kind == "none":
        return kind, None, r"None"
    if kind == "sparse":
        return kind, sp.csr_matrix(good.reshape(1, -1) if draw(st.booleans()) else good.reshape(-1, 1)), r"sparse"
    if kind == "object":
        alien = st.sampled_from([None, math.nan, float("inf"), [1], {"a": 1}, {1}, 0.5])
        return kind, draw(_with_values_at(good.astype(object), alien)), r"None|NaN|infinite|unhashable|non-integer"
    if kind == "scalar":
        return kind, draw(st.sampled_from([3, "abc", 2.5, np.int64(1), {0, 1}])), r"1-D"
    if kind == "masked":
        mask = np.zeros(n, dtype=bool)
        mask[draw(st.integers(0, n - 1))] = True
        return kind, np.ma.array(good, mask=mask), r"masked"
    raise AssertionError(kind)


@settings(max_examples=250, **_HYP)
@given(data=st.data())
def test_metrics_reject_bad_labels(data):
    metric = data.draw(st.sampled_from(sorted(METRICS)), label="metric")
    n = data.draw(st.integers(1, 12), label="n")
    good = data.draw(label_arrays(n), label="good")
    kind, bad, match = data.draw(bad_labels(n), label="bad")
    bad_first = data.draw(st.booleans(), label="bad labels are labels_true")
    args = (bad, good) if bad_first else (good, bad)
    expect_clear_error(lambda: METRICS[metric](*args), *args, match=match, test="metrics")


@settings(max_examples=10, **_HYP)
@given(method=st.sampled_from(["bogus", None, 1, "ARITHMETIC", ""]))
def test_nmi_average_method_is_named(method):
    y = np.array([0, 0, 1, 1])
    expect_clear_error(
        lambda: normalized_mutual_info_score(y, y, average_method=method), y, match=r"average_method", test="metrics"
    )


@settings(max_examples=40, **_HYP)
@given(data=st.data())
def test_scorers_reject_bad_y(fitted, data):
    est, X, _ = fitted["FaissKMeans"]
    scorer = data.draw(st.sampled_from([clustering_accuracy_scorer, nmi_scorer, ari_scorer]), label="scorer")
    _, y, match = data.draw(bad_labels(len(X)), label="y")
    expect_clear_error(lambda: scorer(est, X, y), X, y, match=match, test="scorers", est=est)


# ---------------------------------------------------------------------------
# how many cases ran
# ---------------------------------------------------------------------------

# Least number of examples each test node must have run (hypothesis stops
# early only when a strategy is exhausted, as for the single DeepCluster
# combination); a deselected node has no entry and is not checked.
MINIMUM_CASES = {
    "test_fit_rejects_bad_X": 30,
    "test_predict_transform_reject_bad_X": 20,
    "test_unfitted_estimators_say_so": 4,
    "test_bad_parameters_are_named": 40,
    "test_bad_parameter_combinations_are_named": 1,
    "test_unknown_devices_are_named": 8,
    "test_metrics_reject_bad_labels": 150,
    "test_nmi_average_method_is_named": 5,
    "test_scorers_reject_bad_y": 25,
}


def test_zz_report_case_count(request, capsys):
    """Print how many generated bad-input cases ran; check each test that ran generated enough."""
    total = sum(CASES.values())
    with capsys.disabled():
        print(f"\nbad-input cases run: {total} over {len(CASES)} test nodes")
    request.node.user_properties.append(("bad_input_cases", total))
    for node, count in CASES.items():
        minimum = MINIMUM_CASES[node.split("[")[0]]
        assert count >= minimum, f"{node} ran only {count} bad-input cases (expected >= {minimum})"
