"""Tests for deepclust_sklearn.plotting (sklearn-style Display objects)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="the plotting displays need matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402
from skorch.history import History  # noqa: E402

import deepclust_sklearn  # noqa: E402
import deepclust_sklearn.plotting as plotting_module  # noqa: E402
from deepclust_sklearn import DeepClusterEstimator, IICEstimator, make_image_blobs  # noqa: E402
from deepclust_sklearn.metrics import clustering_accuracy  # noqa: E402
from deepclust_sklearn.plotting import (  # noqa: E402
    ClusterConfusionMatrixDisplay,
    ClusterSamplesDisplay,
    TrainingCurvesDisplay,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def image_data():
    """45 images (1, 8, 8), three classes."""
    return make_image_blobs(n_samples=45, n_clusters=3, image_shape=(1, 8, 8), random_state=0)


@pytest.fixture(scope="module")
def fitted_deepcluster(image_data):
    """A tiny DeepCluster fit on flattened images, re-clustering every 2 epochs."""
    X, _ = image_data
    est = DeepClusterEstimator(
        n_clusters=3,
        max_epochs=4,
        reassign=2,
        batch_size=32,
        embedding_dim=16,
        image_shape=(1, 8, 8),
        random_state=0,
    )
    return est.fit(X.reshape(len(X), -1))


def _drawn_images(fig):
    return [im for ax in fig.axes for im in ax.images]


# --------------------------------------------------------------- samples grid
def test_samples_grid_shows_first_members_of_each_cluster():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(30, 1, 5, 4))
    labels = np.array([2] * 12 + [0] * 16 + [1] * 2)
    labels = labels[rng.permutation(30)]

    disp = ClusterSamplesDisplay.from_predictions(X, labels, n_samples=4)

    assert disp.axes_.shape == (3, 4)
    assert disp.images_.shape == (3, 4)
    # cluster 1 has only two members: 4 + 2 + 4 images in all
    assert len(_drawn_images(disp.figure_)) == 10
    assert sum(im is not None for im in disp.images_.ravel()) == 10
    np.testing.assert_array_equal(disp.cluster_labels, [0, 1, 2])
    np.testing.assert_array_equal(disp.cluster_sizes, [16, 2, 12])
    for row, cluster in enumerate([0, 1, 2]):
        expected = np.flatnonzero(labels == cluster)[:4]
        np.testing.assert_array_equal(disp.sample_indices[row], expected)
        for col, index in enumerate(expected):
            np.testing.assert_array_equal(disp.images_[row, col].get_array(), X[index, 0])
    # empty cells are switched off, filled ones keep their (hidden-tick) frame
    assert disp.images_[1, 2] is None and not disp.axes_[1, 2].axison
    assert disp.axes_[1, 1].axison
    assert disp.axes_[1, 0].get_ylabel() == "cluster 1\n(n=2)"


def test_samples_grid_shares_one_colour_scale():
    X = np.zeros((4, 1, 2, 2))
    X[0] = 5.0
    X[3] = -1.0
    disp = ClusterSamplesDisplay.from_predictions(X, [0, 0, 1, 1], n_samples=2)
    for im in _drawn_images(disp.figure_):
        assert im.get_clim() == (-1.0, 5.0)
    disp = ClusterSamplesDisplay.from_predictions(X, [0, 0, 1, 1], vmin=0, vmax=1)
    assert all(im.get_clim() == (0.0, 1.0) for im in _drawn_images(disp.figure_))


def test_samples_flattened_rows_need_matching_image_shape(image_data):
    X, y = image_data
    flat = X.reshape(len(X), -1)
    disp = ClusterSamplesDisplay.from_predictions(flat, y, image_shape=(8, 8), n_samples=2)
    first = np.flatnonzero(y == 0)[0]
    np.testing.assert_array_equal(disp.images_[0, 0].get_array(), X[first, 0])

    with pytest.raises(ValueError, match=r"X is 2-D with 64 features per sample; pass image_shape"):
        ClusterSamplesDisplay.from_predictions(flat, y)
    with pytest.raises(ValueError, match=r"image_shape=\(1, 7, 9\) holds 63 values but X has 64 features"):
        ClusterSamplesDisplay.from_predictions(flat, y, image_shape=(1, 7, 9))
    with pytest.raises(ValueError, match=r"X has images of shape \(1, 8, 8\) but image_shape=\(2, 4, 8\)\."):
        ClusterSamplesDisplay.from_predictions(X, y, image_shape=(2, 4, 8))
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W\) or \(C, H, W\)"):
        ClusterSamplesDisplay.from_predictions(flat, y, image_shape=(0, 64))
    with pytest.raises(ValueError, match=r"got an array of shape \(45,\)"):
        ClusterSamplesDisplay.from_predictions(flat[:, 0], y)


def test_samples_grey_rgb_and_other_channel_counts():
    rng = np.random.RandomState(1)
    grey = rng.uniform(size=(6, 3, 4))  # 3-D: (n, H, W)
    disp = ClusterSamplesDisplay.from_predictions(grey, [0, 1, 0, 1, 0, 1], n_samples=1)
    np.testing.assert_array_equal(disp.images_[1, 0].get_array(), grey[1])

    rgb = rng.uniform(size=(6, 3, 4, 5))
    disp = ClusterSamplesDisplay.from_predictions(rgb, [0, 1, 0, 1, 0, 1], n_samples=1)
    assert disp.images_[0, 0].get_array().shape == (4, 5, 3)
    np.testing.assert_allclose(disp.images_[0, 0].get_array(), rgb[0].transpose(1, 2, 0))

    # RGB values outside [0, 1] are rescaled with the shared min and max
    disp = ClusterSamplesDisplay.from_predictions(rgb * 255, [0, 1, 0, 1, 0, 1], n_samples=1)
    lo, hi = (rgb[:2] * 255).min(), (rgb[:2] * 255).max()
    np.testing.assert_allclose(disp.images_[0, 0].get_array(), (rgb[0].transpose(1, 2, 0) * 255 - lo) / (hi - lo))

    two = rng.uniform(size=(4, 2, 3, 3))
    disp = ClusterSamplesDisplay.from_predictions(two, [0, 0, 1, 1], n_samples=2)
    np.testing.assert_array_equal(disp.images_[1, 1].get_array(), two[3, 0])


def test_samples_random_state_draws_reproducible_members():
    X = np.arange(40 * 4, dtype=float).reshape(40, 1, 2, 2)
    labels = np.arange(40) % 2
    a = ClusterSamplesDisplay.from_predictions(X, labels, n_samples=5, random_state=3)
    b = ClusterSamplesDisplay.from_predictions(X, labels, n_samples=5, random_state=3)
    for row in range(2):
        np.testing.assert_array_equal(a.sample_indices[row], b.sample_indices[row])
        assert np.all(labels[a.sample_indices[row]] == row)
        assert np.all(np.diff(a.sample_indices[row]) > 0)  # shown in the order of X
        assert len(np.unique(a.sample_indices[row])) == 5
        for col, index in enumerate(a.sample_indices[row]):
            np.testing.assert_array_equal(a.images_[row, col].get_array(), X[index, 0])
    draws = {
        tuple(
            ClusterSamplesDisplay.from_predictions(X[:20], labels[:20], n_samples=2, random_state=s).sample_indices[0]
        )
        for s in range(3)
    }
    assert len(draws) > 1


def test_samples_clusters_subset_and_order():
    X = np.random.RandomState(0).uniform(size=(9, 1, 2, 2))
    labels = np.array(["b", "a", "c", "a", "b", "c", "a", "b", "c"])
    disp = ClusterSamplesDisplay.from_predictions(X, labels, n_samples=2, clusters=["c", "a"])
    assert list(disp.cluster_labels) == ["c", "a"]
    np.testing.assert_array_equal(disp.sample_indices[0], [2, 5])
    np.testing.assert_array_equal(disp.sample_indices[1], [1, 3])
    with pytest.raises(ValueError, match=r"Cluster 'z' in clusters does not occur in labels"):
        ClusterSamplesDisplay.from_predictions(X, labels, clusters=["z"])


def test_samples_input_errors():
    X = np.zeros((5, 1, 2, 2))
    with pytest.raises(ValueError, match=r"X and labels must have the same length; got 5 images and 4 labels"):
        ClusterSamplesDisplay.from_predictions(X, [0, 1, 0, 1])
    with pytest.raises(
        ValueError,
        match=r"The 'n_samples' parameter of ClusterSamplesDisplay\.from_predictions must be an int in the range "
        r"\[1, inf\)\. Got 0 instead\.",
    ):
        ClusterSamplesDisplay.from_predictions(X, [0] * 5, n_samples=0)
    with pytest.raises(ValueError, match=r"labels contains NaN"):
        ClusterSamplesDisplay.from_predictions(X, [0, 1, np.nan, 1, 0])
    with pytest.raises(ValueError, match=r"X must hold numeric pixel values"):
        ClusterSamplesDisplay.from_predictions(np.array([["a"]] * 5), [0] * 5)


def test_samples_into_given_axes():
    X = np.random.RandomState(0).uniform(size=(6, 1, 2, 2))
    fig, axes = plt.subplots(2, 3)
    disp = ClusterSamplesDisplay.from_predictions(X, [0, 0, 0, 1, 1, 1], n_samples=3, ax=axes)
    assert disp.figure_ is fig
    assert disp.axes_[1, 2] is axes[1, 2]
    assert len(_drawn_images(fig)) == 6
    _, too_few = plt.subplots(1, 2)
    with pytest.raises(ValueError, match=r"ax must hold n_rows \* n_columns = 2 \* 3 = 6 Axes; got 2"):
        ClusterSamplesDisplay.from_predictions(X, [0, 0, 0, 1, 1, 1], n_samples=3, ax=too_few)


def test_samples_from_estimator_uses_predictions_and_input_shape(fitted_deepcluster, image_data):
    X, _ = image_data
    flat = X.reshape(len(X), -1)
    labels = fitted_deepcluster.predict(flat)
    disp = ClusterSamplesDisplay.from_estimator(fitted_deepcluster, flat, n_samples=3)
    clusters = np.unique(labels)
    assert disp.axes_.shape == (len(clusters), 3)
    assert len(_drawn_images(disp.figure_)) == sum(min(3, np.sum(labels == c)) for c in clusters)
    for row, cluster in enumerate(clusters):
        expected = np.flatnonzero(labels == cluster)[:3]
        np.testing.assert_array_equal(disp.sample_indices[row], expected)
        np.testing.assert_array_equal(disp.images_[row, 0].get_array(), X[expected[0], 0])


def test_samples_from_estimator_without_image_shape(image_data):
    X, _ = image_data
    flat = X.reshape(len(X), -1)
    km = KMeans(n_clusters=3, n_init=1, random_state=0).fit(flat)
    with pytest.raises(ValueError, match=r"KMeans was not fitted on images \(input_shape_=None\) and X is 2-D"):
        ClusterSamplesDisplay.from_estimator(km, flat)
    disp = ClusterSamplesDisplay.from_estimator(km, flat, image_shape=(8, 8), n_samples=2)
    assert disp.axes_.shape == (3, 2)
    with pytest.raises(NotFittedError):
        ClusterSamplesDisplay.from_estimator(KMeans(n_clusters=3), flat, image_shape=(8, 8))


# ----------------------------------------------------------- confusion matrix
def _independent_matched_columns(y_true, y_pred):
    """sklearn's confusion matrix and, per class, the column of its matched cluster."""
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    labels = np.union1d(classes, clusters)
    full = confusion_matrix(y_true, y_pred, labels=labels)
    cm = full[np.searchsorted(labels, classes)][:, np.searchsorted(labels, clusters)]
    rows, cols = linear_sum_assignment(-cm)
    return cm, dict(zip(rows, cols)), clusters


def test_confusion_matrix_equals_permuted_sklearn_matrix():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 4, size=300)
    permutation = np.array([2, 0, 3, 1])
    y_pred = permutation[y_true]
    noisy = rng.uniform(size=300) < 0.3
    y_pred[noisy] = rng.randint(0, 4, size=noisy.sum())

    disp = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred)

    cm, match, clusters = _independent_matched_columns(y_true, y_pred)
    expected = cm[:, [match[i] for i in range(4)]]
    np.testing.assert_array_equal(disp.confusion_matrix, expected)
    np.testing.assert_array_equal(disp.im_.get_array(), expected)
    assert list(disp.cluster_labels) == [clusters[match[i]] for i in range(4)] == [2, 0, 3, 1]
    assert disp.matching == [(0, 0), (1, 1), (2, 2), (3, 3)]
    acc = clustering_accuracy(y_true, y_pred)
    assert disp.accuracy == pytest.approx(acc)
    assert np.trace(disp.confusion_matrix) == round(acc * 300)
    assert disp.ax_.get_title() == f"ACC = {acc:.3f}"
    assert [t.get_text() for t in disp.text_[0]] == [str(v) for v in expected[0]]
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["2", "0", "3", "1"]
    assert len(disp.match_patches_) == 4
    assert disp.colorbar_ is not None


def test_confusion_matrix_more_clusters_than_classes():
    rng = np.random.RandomState(1)
    y_true = rng.randint(0, 3, size=200)
    y_pred = rng.randint(0, 6, size=200)

    disp = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred)

    cm, match, clusters = _independent_matched_columns(y_true, y_pred)
    assert disp.confusion_matrix.shape == (3, 6) == disp.text_.shape
    matched_cols = [match[i] for i in range(3)]
    np.testing.assert_array_equal(disp.confusion_matrix[:, :3], cm[:, matched_cols])
    # the unmatched clusters follow, every cluster shown exactly once
    assert sorted(disp.cluster_labels) == list(range(6))
    rest = [c for c in range(6) if c not in matched_cols]
    assert sorted(disp.cluster_labels[3:]) == rest
    for k, label in enumerate(disp.cluster_labels):
        np.testing.assert_array_equal(disp.confusion_matrix[:, k], cm[:, label])
    # ... grouped by their majority class
    majority = [int(np.argmax(disp.confusion_matrix[:, k])) for k in range(3, 6)]
    assert majority == sorted(majority)
    assert disp.matching == [(0, 0), (1, 1), (2, 2)]
    assert disp.accuracy == pytest.approx(clustering_accuracy(y_true, y_pred))


def test_confusion_matrix_fewer_clusters_than_classes():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 3])
    y_pred = np.array([7, 7, 7, 7, 7, 4, 4, 4, 4, 4, 4, 4])
    disp = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred)
    # class 0 -> cluster 7 (3 samples), class 3 -> cluster 4 (4 samples)
    assert disp.confusion_matrix.shape == (4, 2)
    assert disp.cluster_labels == [7, 4]
    np.testing.assert_array_equal(disp.confusion_matrix, [[3, 0], [2, 0], [0, 3], [0, 4]])
    assert disp.matching == [(0, 0), (3, 1)]
    assert disp.accuracy == pytest.approx(7 / 12)
    assert disp.ax_.get_title() == "ACC = 0.583"
    assert [(p.get_x(), p.get_y()) for p in disp.match_patches_] == [(-0.5, -0.5), (0.5, 2.5)]


def test_confusion_matrix_normalize_and_options():
    y_true = ["cat", "cat", "dog", "dog", "dog", "eel"]
    y_pred = [1, 1, 0, 0, 1, 2]
    counts = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred).confusion_matrix
    np.testing.assert_array_equal(counts, [[2, 0, 0], [1, 2, 0], [0, 0, 1]])
    rows = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="true")
    np.testing.assert_allclose(rows.confusion_matrix.sum(axis=1), 1.0)
    assert rows.text_[1, 0].get_text() == "0.33"
    assert rows.accuracy == pytest.approx(5 / 6)
    cols = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="pred")
    np.testing.assert_allclose(cols.confusion_matrix.sum(axis=0), 1.0)
    total = ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="all")
    np.testing.assert_allclose(total.confusion_matrix, counts / 6)
    bare = ClusterConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, include_values=False, colorbar=False, highlight_matches=False
    )
    assert bare.text_ is None and bare.colorbar_ is None and bare.match_patches_ == []
    assert [t.get_text() for t in bare.ax_.get_yticklabels()] == ["cat", "dog", "eel"]
    with pytest.raises(
        ValueError,
        match=r"The 'normalize' parameter of ClusterConfusionMatrixDisplay\.from_predictions must be a str among "
        r"\{'\w+', '\w+', '\w+'\} or None\. Got 'rows' instead\.",
    ):
        ClusterConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="rows")


def test_confusion_matrix_input_errors_and_given_axes():
    with pytest.raises(ValueError, match=r"labels_true and labels_pred must have the same length; got 3 and 2"):
        ClusterConfusionMatrixDisplay.from_predictions([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"labels_pred contains NaN"):
        ClusterConfusionMatrixDisplay.from_predictions([0, 1], [0.0, np.nan])
    fig, ax = plt.subplots()
    disp = ClusterConfusionMatrixDisplay.from_predictions([0, 1, 1], [1, 0, 0], ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig
    with pytest.raises(ValueError, match=r"class_labels and cluster_labels must have 2 and 2 entries"):
        ClusterConfusionMatrixDisplay(np.eye(2), class_labels=["a"]).plot()


def test_confusion_matrix_from_estimator(image_data):
    X, y = image_data
    flat = X.reshape(len(X), -1)
    km = KMeans(n_clusters=4, n_init=1, random_state=0).fit(flat)
    disp = ClusterConfusionMatrixDisplay.from_estimator(km, flat, y)
    ref = ClusterConfusionMatrixDisplay.from_predictions(y, km.predict(flat))
    np.testing.assert_array_equal(disp.confusion_matrix, ref.confusion_matrix)
    assert disp.confusion_matrix.shape == (3, 4)
    assert disp.accuracy == pytest.approx(clustering_accuracy(y, km.labels_))
    with pytest.raises(NotFittedError):
        ClusterConfusionMatrixDisplay.from_estimator(KMeans(n_clusters=2), flat, y)


# ------------------------------------------------------------ training curves
def _history():
    return History(
        [
            {
                "epoch": 1,
                "train_loss": 3.0,
                "objective": 10.0,
                "nmi": None,
                "heads": "cluster",
                "train_loss_best": True,
                "dur": 0.5,
                "train_batch_count": 2,
                "losses": [1.0, 2.0],
            },
            {"epoch": 2, "train_loss": 2.5, "train_loss_best": True, "dur": 0.4, "train_batch_count": 2},
            {
                "epoch": 3,
                "train_loss": np.float64(2.0),
                "objective": 8.0,
                "nmi": 0.5,
                "flag": True,
                "train_loss_best": True,
                "dur": 0.4,
                "train_batch_count": 2,
            },
            {"epoch": 4, "train_loss": float("nan"), "nmi": 0.75, "dur": 0.4, "train_batch_count": 2},
        ]
    )


def test_curves_default_keys_skip_missing_values():
    disp = TrainingCurvesDisplay.from_history(_history())
    # bookkeeping (epoch, dur, batch counts, *_best), strings, lists and bools are left out
    assert list(disp.curves) == ["train_loss", "objective", "nmi"]
    expected = {
        "train_loss": ([1, 2, 3], [3.0, 2.5, 2.0]),
        "objective": ([1, 3], [10.0, 8.0]),
        "nmi": ([3, 4], [0.5, 0.75]),
    }
    for key, (epochs, values) in expected.items():
        np.testing.assert_array_equal(disp.lines_[key].get_xdata(), epochs)
        np.testing.assert_array_equal(disp.lines_[key].get_ydata(), values)
    assert len(disp.axes_) == 3 and len(disp.figure_.axes) == 3
    assert [ax.get_title() for ax in disp.axes_] == ["train_loss", "objective", "nmi"]
    # sparse curves are drawn with markers, complete ones as plain lines
    assert disp.lines_["objective"].get_marker() == "o"
    assert disp.lines_["objective"].get_marker() == "o"  # epoch 2 is missing
    assert disp.lines_["nmi"].get_marker() == "None"  # epochs 3-4 in a row
    assert disp.lines_["train_loss"].get_marker() == "None"  # epochs 1-3 in a row (4 is NaN)


def test_curves_keys_parameter_and_grid():
    disp = TrainingCurvesDisplay.from_history(_history(), keys=["nmi", "dur", "nmi"], n_cols=1)
    assert list(disp.curves) == ["nmi", "dur"]
    np.testing.assert_array_equal(disp.lines_["dur"].get_ydata(), [0.5, 0.4, 0.4, 0.4])
    assert disp.axes_[0].get_subplotspec().get_geometry()[:2] == (2, 1)
    with pytest.raises(ValueError, match=r"No finite number is recorded under key 'heads' in the history"):
        TrainingCurvesDisplay.from_history(_history(), keys="heads")
    with pytest.raises(ValueError, match=r"No finite number is recorded under key 'missing'"):
        TrainingCurvesDisplay.from_history(_history(), keys=["train_loss", "missing"])
    with pytest.raises(
        ValueError,
        match=r"The 'n_cols' parameter of TrainingCurvesDisplay\.plot must be an int in the range \[1, inf\) or None\. "
        r"Got 0 instead\.",
    ):
        TrainingCurvesDisplay.from_history(_history(), n_cols=0)


def test_curves_on_one_axes_or_given_axes():
    fig, ax = plt.subplots()
    disp = TrainingCurvesDisplay.from_history(_history(), keys=["train_loss", "objective"], ax=ax)
    assert list(disp.axes_) == [ax] and disp.figure_ is fig
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_loss", "objective"]

    fig, axes = plt.subplots(1, 3)
    disp = TrainingCurvesDisplay.from_history(_history(), ax=axes)
    assert disp.lines_["nmi"].axes is axes[2]
    with pytest.raises(ValueError, match=r"ax must be one Axes or hold one Axes per key \(3 keys"):
        TrainingCurvesDisplay.from_history(_history(), ax=axes[:2])


def test_curves_history_errors():
    with pytest.raises(ValueError, match=r"history is empty"):
        TrainingCurvesDisplay.from_history([])
    with pytest.raises(
        ValueError, match=r"history must be a sequence of per-epoch dicts .* found an entry of type int"
    ):
        TrainingCurvesDisplay.from_history([1, 2])
    with pytest.raises(ValueError, match=r"history must be a sequence of per-epoch dicts .* got int"):
        TrainingCurvesDisplay.from_history(3)
    with pytest.raises(ValueError, match=r"holds no per-epoch numbers to plot besides skorch's bookkeeping"):
        TrainingCurvesDisplay.from_history([{"epoch": 1, "dur": 0.1}])


def test_curves_from_estimator_match_history(fitted_deepcluster):
    history = fitted_deepcluster.history_
    disp = TrainingCurvesDisplay.from_estimator(fitted_deepcluster)
    assert list(disp.curves) == ["train_loss", "kmeans_objective", "empty_clusters", "nmi_previous"]
    np.testing.assert_array_equal(disp.lines_["train_loss"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(disp.lines_["train_loss"].get_ydata(), history[:, "train_loss"])
    # DeepCluster re-clusters on epochs 1 and 3; nmi_previous is None on the first
    np.testing.assert_array_equal(disp.lines_["kmeans_objective"].get_xdata(), [1, 3])
    np.testing.assert_allclose(
        disp.lines_["kmeans_objective"].get_ydata(), [history[0]["kmeans_objective"], history[2]["kmeans_objective"]]
    )
    assert history[0]["nmi_previous"] is None
    np.testing.assert_array_equal(disp.lines_["nmi_previous"].get_xdata(), [3])
    np.testing.assert_allclose(disp.lines_["nmi_previous"].get_ydata(), [history[2]["nmi_previous"]])
    assert disp.figure_._suptitle.get_text() == "DeepClusterEstimator"


def test_curves_from_estimator_errors(image_data):
    X, _ = image_data
    km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match=r"KMeans has no training history \(history_\)"):
        TrainingCurvesDisplay.from_estimator(km)
    with pytest.raises(NotFittedError):
        TrainingCurvesDisplay.from_estimator(IICEstimator())


# -------------------------------------------------------- optional matplotlib
@pytest.fixture
def no_matplotlib(monkeypatch):
    """Make ``import matplotlib`` fail as if it were not installed."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: ClusterSamplesDisplay.from_predictions(np.zeros((2, 1, 2, 2)), [0, 1]),
        lambda: ClusterConfusionMatrixDisplay.from_predictions([0, 1], [1, 0]),
        lambda: TrainingCurvesDisplay.from_history([{"epoch": 1, "train_loss": 1.0}]),
        lambda: ClusterSamplesDisplay([np.zeros((1, 2, 2))]).plot(),
    ],
    ids=["samples", "confusion", "curves", "plot"],
)
def test_missing_matplotlib_raises_helpful_import_error(no_matplotlib, draw):
    with pytest.raises(
        ImportError, match=r'needs matplotlib .* Install it with `pip install "deepclust_sklearn\[plot\]"`'
    ):
        draw()


def test_module_imports_without_matplotlib(no_matplotlib, monkeypatch):
    # import the plotting package and its modules afresh (all restored afterwards)
    for name in [
        m for m in sys.modules if m == plotting_module.__name__ or m.startswith(plotting_module.__name__ + ".")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(deepclust_sklearn, "plotting", plotting_module)
    module = importlib.import_module(plotting_module.__name__)  # no top-level matplotlib import
    assert module is not plotting_module
    display = module.ClusterConfusionMatrixDisplay(np.eye(2))
    with pytest.raises(ImportError, match=r"pip install matplotlib"):
        display.plot()


# ---------------------------------------------------------------- remaining error messages


def test_samples_display_rejects_arrays_of_other_dimensions():
    X = np.zeros((2, 1, 1, 4, 4))
    with pytest.raises(
        ValueError, match=r"X must be 2-D .* 3-D \(n_samples, H, W\) or 4-D .* got an array of shape \(2, 1, 1, 4, 4\)"
    ):
        ClusterSamplesDisplay.from_predictions(X, [0, 1])


def test_samples_display_rejects_an_empty_cluster_list():
    with pytest.raises(ValueError, match="clusters is empty; pass at least one cluster label"):
        ClusterSamplesDisplay.from_predictions(np.zeros((2, 4, 4)), [0, 1], clusters=[])


def test_samples_display_constructor_checks_its_images():
    with pytest.raises(ValueError, match="images is empty; there is no cluster to show"):
        ClusterSamplesDisplay([]).plot()
    with pytest.raises(ValueError, match=r"Each entry of images must have shape \(n_shown, H, W\)"):
        ClusterSamplesDisplay([np.zeros((2, 4))]).plot()


def test_confusion_display_constructor_checks_its_matrix():
    with pytest.raises(ValueError, match=r"confusion_matrix must be a non-empty 2-D array \(n_classes, n_clusters\)"):
        ClusterConfusionMatrixDisplay(np.zeros((0, 3))).plot()


def test_curves_display_constructor_checks_its_curves():
    with pytest.raises(ValueError, match="curves is empty; there is nothing to plot"):
        TrainingCurvesDisplay({}).plot()
    with pytest.raises(ValueError, match=r"curves\['loss'\] must be a pair of 1-D arrays of the same length"):
        TrainingCurvesDisplay({"loss": (np.arange(3), np.arange(2))}).plot()


def test_curves_display_rejects_an_empty_key_list():
    history = [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.5}]
    with pytest.raises(ValueError, match="keys is empty; pass at least one key or None"):
        TrainingCurvesDisplay.from_history(history, keys=[])
