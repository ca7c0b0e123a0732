"""The estimators inside the scikit-learn ecosystem (issue "Fits the scikit-learn ecosystem").

GridSearchCV over a Pipeline with several scorers (local processes and a dask
cluster), cross_validate, clone, pickle, and pandas output through
``set_output`` / ``get_feature_names_out``.

Every configuration is tiny (a few epochs on 80 two-dimensional points), so a
grid search is a handful of sub-second fits. Searches are cached per module:
several tests read the same fitted ``GridSearchCV``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import sklearn
import sklearn.utils.estimator_checks as sk_checks
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score as sk_adjusted_rand_score
from sklearn.metrics import normalized_mutual_info_score as sk_nmi
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from test_estimators import ESTIMATORS

from deepclust_sklearn import (
    DACEstimator,
    DeepClusterEstimator,
    FaissKMeans,
    IICEstimator,
    PCAWhitenL2,
    adjusted_rand_score,
    clustering_accuracy,
    clustering_accuracy_scorer,
    normalized_mutual_info_score,
)
from deepclust_sklearn.augment import VectorAugmenter
from deepclust_sklearn.datasets import make_image_blobs
from deepclust_sklearn.networks import ConvBackbone

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("one_faiss_thread"),
]

# The tiny configurations of tests/test_estimators.py, plus faiss k-means.
CLUSTERERS = {
    **{type(est).__name__: clone(est) for est in ESTIMATORS},
    "FaissKMeans": FaissKMeans(n_clusters=3, random_state=0),
}
DEEP = ["IICEstimator", "DACEstimator", "DeepClusterEstimator"]
# Whose search on _data() picks 3 clusters with margin on every seed and CPU path measured
# (test_grid_search_refits_the_argmax_of_the_refit_metric has the numbers).
RANKS_RELIABLY = ["FaissKMeans", "DeepClusterEstimator"]
TRANSFORMERS = {**CLUSTERERS, "PCAWhitenL2": PCAWhitenL2(n_components=2)}

SCORING = {"acc": clustering_accuracy_scorer, "nmi": "normalized_mutual_info_score", "ari": "adjusted_rand_score"}
GRID = {"est__n_clusters": [2, 3]}  # the data has 3 blobs


def _data():
    """80 points in 3 well-separated blobs; KFold(2) folds of 40 (make_blobs shuffles)."""
    return make_blobs(n_samples=80, centers=3, n_features=2, cluster_std=0.6, random_state=1)


def _pipeline(name: str) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("est", clone(CLUSTERERS[name]))])


def _search(name: str, n_jobs: int) -> GridSearchCV:
    return GridSearchCV(_pipeline(name), GRID, scoring=SCORING, refit="nmi", cv=2, n_jobs=n_jobs, error_score="raise")


@pytest.fixture(scope="module")
def fitted_search():
    """``fitted_search(name, n_jobs)``: a GridSearchCV fitted on the blobs, computed once per module.

    Tests only read the searches (and their ``best_estimator_``); none mutates them.
    """
    cache: dict = {}

    def get(name: str, n_jobs: int) -> GridSearchCV:
        if (name, n_jobs) not in cache:
            X, y = _data()
            cache[name, n_jobs] = _search(name, n_jobs).fit(X, y)
        return cache[name, n_jobs]

    return get


clusterers = pytest.mark.parametrize("name", list(CLUSTERERS))

SCORE_KEYS = [f"{kind}_test_{m}" for m in SCORING for kind in ("mean", "std", "rank", "split0", "split1")]


def _assert_same_scores(a: GridSearchCV, b: GridSearchCV) -> None:
    """Identical (not merely close) scores, and the same choice of parameters."""
    for key in SCORE_KEYS:
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key], err_msg=key)
    assert a.best_params_ == b.best_params_
    assert a.best_index_ == b.best_index_


# --------------------------------------------------------------------------
# GridSearchCV over a Pipeline, several scorers
# --------------------------------------------------------------------------


@clusterers
def test_grid_search_cv_results(name, fitted_search):
    gs = fitted_search(name, 2)
    res = gs.cv_results_
    assert set(SCORE_KEYS) | {"params", "param_est__n_clusters", "mean_fit_time", "mean_score_time"} <= set(res)
    assert not any(k.startswith("mean_train_") for k in res)  # return_train_score=False
    assert res["params"] == [{"est__n_clusters": 2}, {"est__n_clusters": 3}]
    assert list(res["param_est__n_clusters"]) == [2, 3]
    for key in SCORE_KEYS + ["mean_fit_time", "std_fit_time", "mean_score_time"]:
        assert np.shape(res[key]) == (2,), key
    assert np.all(res["mean_fit_time"] > 0)
    for m in SCORING:
        splits = np.stack([res[f"split0_test_{m}"], res[f"split1_test_{m}"]])
        np.testing.assert_allclose(res[f"mean_test_{m}"], splits.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(res[f"std_test_{m}"], splits.std(axis=0), rtol=1e-12, atol=1e-15)
        assert set(res[f"rank_test_{m}"]) <= {1, 2}
        assert np.all(np.isfinite(splits))
    for key in ("acc", "nmi"):
        assert np.all((res[f"split0_test_{key}"] >= 0) & (res[f"split0_test_{key}"] <= 1))
        assert np.all((res[f"split1_test_{key}"] >= 0) & (res[f"split1_test_{key}"] <= 1))
    assert np.all(np.abs(np.stack([res["split0_test_ari"], res["split1_test_ari"]])) <= 1)
    # with 2 clusters, Hungarian accuracy is at most the share of the two largest classes of the fold
    _, y = _data()
    for split, (_, test) in enumerate(KFold(n_splits=2).split(y)):
        two_largest = np.sort(np.bincount(y[test]))[-2:].sum() / len(test)
        assert res[f"split{split}_test_acc"][0] <= two_largest + 1e-12


@clusterers
def test_grid_search_refits_the_argmax_of_the_refit_metric(name, fitted_search):
    X, y = _data()
    gs = fitted_search(name, 2)
    res = gs.cv_results_
    best = int(np.argmax(res["mean_test_nmi"]))  # computed here, not read from gs
    assert gs.best_index_ == best
    assert gs.best_params_ == res["params"][best]
    assert gs.best_score_ == res["mean_test_nmi"][best]
    assert res["rank_test_nmi"][best] == 1
    # 3 blobs: the three-cluster model should win on NMI. Estimator seeds 0-7 (data fixed), native
    # (AVX2) and ATEN_CPU_CAPABILITY=default, identical on both: FaissKMeans picks 3 clusters every
    # time, best NMI 1.00, refit ACC 1.00; DeepCluster picks 3, NMI 0.96-1.00, ACC 0.99-1.00. The
    # tiny IIC and DAC set-ups on 40-point folds are not reliable enough to rank: IIC picks 3 but
    # scores NMI 0.73-1.00 (ACC 0.80-1.00), DAC picks 2 at seed 4 and scores NMI 0.67-1.00 (ACC
    # 0.41-1.00), against 0.74 for a two-cluster answer (the old bar of 0.75 for all failed IIC at
    # seed 3 on Intel/MKL; blobs twice as tight did not help). Their learning is tested with margin
    # in test_iic.py and test_dac.py; here they must beat random labels (NMI 0.05 on a 40-point
    # fold, 0.22 at most in 200 draws).
    assert gs.best_score_ > 0.3
    if name in RANKS_RELIABLY:
        assert gs.best_params_ == {"est__n_clusters": 3}
        assert gs.best_score_ > 0.85
    # the refit model: fitted on all of X, with the chosen parameters, labels consistent
    pipe = gs.best_estimator_
    est = pipe.named_steps["est"]
    assert est.n_clusters == gs.best_params_["est__n_clusters"]
    check_is_fitted(est)
    assert est.labels_.shape == (80,)
    labels = gs.predict(X)
    np.testing.assert_array_equal(labels, est.labels_)
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_array_equal(np.unique(labels), np.arange(labels.max() + 1))
    assert gs.transform(X).shape == (80, est.n_clusters)
    # GridSearchCV.score uses the refit metric
    assert gs.score(X, y) == pytest.approx(sk_nmi(y, labels), abs=1e-12)
    if name in RANKS_RELIABLY:
        assert clustering_accuracy(y, labels) > 0.9  # a two-cluster answer: 0.68 at most


@clusterers
def test_split_scores_match_the_metric_functions(name, fitted_search):
    # the losing candidate here; test_cross_validate_agrees_with_grid_search covers the best one
    X, y = _data()
    gs = fitted_search(name, 2)
    res = gs.cv_results_
    for i, params in [(1 - gs.best_index_, res["params"][1 - gs.best_index_])]:
        for split, (train, test) in enumerate(KFold(n_splits=2).split(X)):
            pipe = _pipeline(name).set_params(**params).fit(X[train], y[train])
            pred = pipe.predict(X[test])
            acc = res[f"split{split}_test_acc"][i]
            nmi = res[f"split{split}_test_nmi"][i]
            ari = res[f"split{split}_test_ari"][i]
            assert acc == pytest.approx(clustering_accuracy(y[test], pred), abs=1e-12)
            assert nmi == pytest.approx(sk_nmi(y[test], pred), abs=1e-12)
            assert nmi == pytest.approx(normalized_mutual_info_score(y[test], pred), abs=1e-12)
            assert ari == pytest.approx(sk_adjusted_rand_score(y[test], pred), abs=1e-12)
            assert ari == pytest.approx(adjusted_rand_score(y[test], pred), abs=1e-12)


@clusterers
def test_grid_search_is_identical_in_one_process_and_in_two(name, fitted_search):
    X, _ = _data()
    one, two = fitted_search(name, 1), fitted_search(name, 2)
    _assert_same_scores(one, two)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))
    np.testing.assert_array_equal(one.transform(X), two.transform(X))


# --------------------------------------------------------------------------
# cross_validate, clone, pickle
# --------------------------------------------------------------------------


@clusterers
def test_cross_validate_agrees_with_grid_search(name, fitted_search):
    X, y = _data()
    gs = fitted_search(name, 1)
    pipe = _pipeline(name).set_params(**gs.best_params_)
    cv = cross_validate(pipe, X, y, scoring=SCORING, cv=2, return_estimator=True)
    assert {"fit_time", "score_time", "test_acc", "test_nmi", "test_ari", "estimator"} <= set(cv)
    for m in SCORING:
        assert cv[f"test_{m}"].shape == (2,)
        expected = [gs.cv_results_[f"split{s}_test_{m}"][gs.best_index_] for s in (0, 1)]
        np.testing.assert_array_equal(cv[f"test_{m}"], expected)
    for fold, (fold_pipe, (_, test)) in enumerate(zip(cv["estimator"], KFold(n_splits=2).split(X))):
        assert fold_pipe.named_steps["est"].labels_.shape == (40,)
        pred = fold_pipe.predict(X[test])
        assert cv["test_acc"][fold] == pytest.approx(clustering_accuracy(y[test], pred), abs=1e-12)
        assert cv["test_nmi"][fold] == pytest.approx(sk_nmi(y[test], pred), abs=1e-12)


def _params_equal(a, b) -> bool:
    """Parameter values equal as clone means it: estimators by their params, modules by type and settings."""
    if hasattr(a, "get_params") and not isinstance(a, type):
        return type(a) is type(b) and all(
            _params_equal(v, b.get_params(deep=False)[k]) for k, v in a.get_params(deep=False).items()
        )
    if isinstance(a, VectorAugmenter):
        return type(a) is type(b) and (a.noise, a.mask) == (b.noise, b.mask)
    return a == b


@clusterers
def test_clone_is_unfitted_with_equal_params(name, fitted_search):
    X, _ = _data()
    pipe = fitted_search(name, 1).best_estimator_  # fitted on all of X
    copy = clone(pipe)
    est, est_copy = pipe.named_steps["est"], copy.named_steps["est"]
    assert est_copy is not est
    with pytest.raises(NotFittedError):
        check_is_fitted(est_copy)
    with pytest.raises(NotFittedError):
        copy.predict(X)
    assert not [k for k in vars(est_copy) if k.endswith("_") and not k.startswith("__")]
    original, cloned = est.get_params(deep=False), est_copy.get_params(deep=False)
    assert original.keys() == cloned.keys()
    for key in original:
        assert _params_equal(original[key], cloned[key]), key
    if "augment" in original:  # a live module is copied, never shared
        assert cloned["augment"] is not original["augment"]
    # the clone fits to the same model (same random_state, same data)
    np.testing.assert_array_equal(copy.fit(X).predict(X), pipe.predict(X))


@clusterers
def test_pickled_fitted_pipeline_predicts_identically(name, fitted_search):
    X, _ = _data()
    X_new = X[::-1] + 0.25
    pipe = fitted_search(name, 1).best_estimator_
    restored = pickle.loads(pickle.dumps(pipe))
    assert restored is not pipe
    np.testing.assert_array_equal(restored.predict(X_new), pipe.predict(X_new))
    np.testing.assert_array_equal(restored.transform(X_new), pipe.transform(X_new))
    np.testing.assert_array_equal(restored.named_steps["est"].labels_, pipe.named_steps["est"].labels_)
    pd = _pandas()
    # pandas output survives pickling too (set on a copy: the cached search stays as it is;
    # on the last step only: its input keeps the numpy form it was fitted on)
    restored.named_steps["est"].set_output(transform="pandas")
    pipe = restored
    restored = pickle.loads(pickle.dumps(pipe))
    out = restored.transform(X_new)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, pipe.transform(X_new))


# --------------------------------------------------------------------------
# set_output and get_feature_names_out
# --------------------------------------------------------------------------


def _pandas():
    """pandas, or a skip naming the fix (scikit-learn itself does not need pandas)."""
    return pytest.importorskip("pandas", reason='set_output(transform="pandas") needs pandas: pip install pandas')


def _expected_names(est, n: int) -> list[str]:
    return [f"{type(est).__name__.lower()}{i}" for i in range(n)]


@pytest.mark.parametrize("name", list(TRANSFORMERS))
def test_pandas_output_from_a_dataframe(name):
    pd = _pandas()
    X, _ = _data()
    df = pd.DataFrame(X, columns=["height", "width"], index=pd.RangeIndex(100, 180, name="id"))
    reference = clone(TRANSFORMERS[name]).fit(X)  # plain numpy in, numpy out
    est = clone(TRANSFORMERS[name]).set_output(transform="pandas")
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()
    out = est.fit(df).transform(df)
    n_out = 2 if name == "PCAWhitenL2" else 3
    names = _expected_names(est, n_out)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == names
    assert list(est.get_feature_names_out()) == names
    assert list(est.get_feature_names_out(["height", "width"])) == names
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        est.get_feature_names_out(["a", "b"])
    assert out.index.equals(df.index)
    assert list(est.feature_names_in_) == ["height", "width"]
    # a DataFrame's array may be F-ordered: BLAS may round differently in the last bit
    np.testing.assert_allclose(out.to_numpy(), reference.transform(X), rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(clone(est).fit_transform(df), out, rtol=1e-9, atol=1e-12)
    if hasattr(est, "predict"):
        np.testing.assert_array_equal(est.predict(df), reference.predict(X))
    # names follow the fitted model, not a parameter changed after fit
    if "n_clusters" in est.get_params():
        est.set_params(n_clusters=5)
        assert list(est.get_feature_names_out()) == names
    # default output again: numpy
    assert isinstance(est.set_output(transform="default").transform(df), np.ndarray)


@pytest.mark.parametrize("name", DEEP)
def test_pandas_flattened_images_with_image_shape(name):
    pd = _pandas()
    X, _ = make_image_blobs(n_samples=40, n_clusters=2, image_shape=(1, 8, 8), noise=0.1, random_state=0)
    df = pd.DataFrame(X.reshape(40, -1), columns=[f"px{i}" for i in range(64)], index=[f"img{i}" for i in range(40)])
    est = clone(CLUSTERERS[name]).set_params(
        n_clusters=2,
        image_shape=(1, 8, 8),
        module=ConvBackbone,
        module_kwargs={"channels": (4, 8)},
        augment="auto",
        max_epochs=2,
    )
    pipe = Pipeline([("est", est)]).set_output(transform="pandas").fit(df)
    fitted = pipe.named_steps["est"]
    assert fitted.input_shape_ == (1, 8, 8)
    assert isinstance(fitted.net_.module_.backbone, ConvBackbone)
    out = pipe.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == _expected_names(fitted, 2) == list(pipe.get_feature_names_out())
    assert out.index.equals(df.index)
    assert out.dtypes.unique().tolist() == [np.dtype(np.float32)]  # float32 in, float32 out
    np.testing.assert_array_equal(pipe.predict(df), fitted.labels_)
    # the same images as a 4-D array give the same numbers (sklearn notes the missing names)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(out.to_numpy(), fitted.set_output(transform="default").transform(X))


@pytest.mark.parametrize("name", list(CLUSTERERS))
def test_pipeline_feature_names_and_pandas_output(name):
    pd = _pandas()
    X, _ = _data()
    df = pd.DataFrame(X, columns=["a", "b"])
    pipe = _pipeline(name).set_output(transform="pandas").fit(df)
    est = pipe.named_steps["est"]
    names = _expected_names(est, 3)
    assert list(pipe.get_feature_names_out()) == names
    assert list(pipe[:-1].get_feature_names_out()) == ["a", "b"]
    out = pipe.transform(df)
    assert list(out.columns) == names
    assert out.index.equals(df.index)
    np.testing.assert_array_equal(pipe.predict(df), est.labels_)


# scikit-learn 1.9's parametrize_with_checks does not yield its set_output /
# get_feature_names_out checks (only its own test suite runs them); run them here.
# (check_set_output_transform_pandas is left out: test_pandas_output_from_a_dataframe
# covers it with more assertions, and each deep run of it costs ~1.5 s.)
_OUTPUT_CHECKS = [
    "check_get_feature_names_out_error",
    "check_transformer_get_feature_names_out_pandas",
    "check_global_output_transform_pandas",
]


@pytest.mark.parametrize(
    "name, check",
    [pytest.param(name, check, id=f"{name}-{check}") for name in TRANSFORMERS for check in _OUTPUT_CHECKS],
)
@pytest.mark.filterwarnings("ignore:X (has|does not have valid) feature names:UserWarning")
def test_sklearn_output_checks(name, check):
    getattr(sk_checks, check)(name, clone(TRANSFORMERS[name]))


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_global_pandas_output_fit_and_transform(name):
    pd = _pandas()
    X, _ = _data()
    reference = clone(TRANSFORMERS[name]).fit(X)
    with sklearn.config_context(transform_output="pandas"):
        est = clone(TRANSFORMERS[name]).fit(X)
        out = est.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())
    np.testing.assert_array_equal(out.to_numpy(), reference.transform(X))
    if hasattr(est, "labels_"):
        np.testing.assert_array_equal(est.labels_, reference.labels_)


# --------------------------------------------------------------------------
# distributed: the same search on a dask cluster
# --------------------------------------------------------------------------


def test_grid_search_on_a_dask_cluster_matches_the_local_run(fitted_search):
    distributed = pytest.importorskip(
        "dask.distributed",
        reason='the dask joblib backend needs dask[distributed]: pip install "deepclust_sklearn[dask]"',
    )
    import joblib

    X, y = _data()
    names = ["IICEstimator", "FaissKMeans"]
    local = {name: fitted_search(name, 1) for name in names}
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 2
        remote = {}
        with distributed.get_task_stream(client) as stream:
            for name in names:
                with joblib.parallel_backend("dask"):
                    remote[name] = _search(name, n_jobs=2).fit(X, y)
        ran_on = {task["worker"] for task in stream.data}
    assert cluster.status.name == "closed"
    assert ran_on and ran_on <= workers  # the fits ran on the cluster's worker processes
    assert len(stream.data) >= 4 * len(names)  # 2 candidates x 2 folds per search
    for name in names:
        _assert_same_scores(remote[name], local[name])
        np.testing.assert_array_equal(remote[name].predict(X), local[name].predict(X))


@pytest.mark.parametrize("cls", [IICEstimator, DACEstimator, DeepClusterEstimator])
def test_gpu_profile_recipe_of_the_docs_fits(cls):
    """docs/usage.md's GPU profile (full-size input, wider trunk, Sobel, larger batch), one epoch on a CPU.

    The recipe is documented for device="cuda"; no GPU is lent to CI, so this checks that its settings stay
    valid together and that the trunk really sees the unpooled 32x32 input.
    """
    X, _ = make_image_blobs(n_samples=24, n_clusters=4, image_shape=(3, 32, 32), noise=0.1, random_state=0)
    extra = {"overcluster": 8, "n_subheads": 1, "repeats": 1} if cls is IICEstimator else {}  # CI time
    est = cls(
        n_clusters=4,
        sobel=True,
        module_kwargs={"channels": (64, 128, 256), "input_pool": 1},
        batch_size=512,
        max_epochs=1,
        random_state=0,
        **extra,
    ).fit(X)
    backbone = est.net_.module_.backbone
    assert isinstance(backbone, ConvBackbone)
    assert not any(isinstance(layer, torch.nn.AvgPool2d) for layer in backbone.layers)
    assert backbone.out_features == 256 * 4 * 4
    assert est.transform(X).shape == (24, 4)
