"""The hook contract of ``BaseDeepClusterer``, tested with a fourth, toy method written against it.

The toy (between the two rulers) uses only the hooks the contract lists: its
network learns the k-means labels of the training data, served as the
batches' targets. Then: it clusters, passes scikit-learn's estimator checks,
and ``get_loss`` changes no state in any method.
"""

from __future__ import annotations

import pickle
from numbers import Integral

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.utils._param_validation import Interval
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_estimators import ESTIMATORS

from deepclust_sklearn._base import BaseDeepClusterer, ResumableNet
from deepclust_sklearn.augment import VectorAugmenter
from deepclust_sklearn.networks import ClusteringNet


# ---- the toy method -------------------------------------------------------------------------
class _ToyNet(ResumableNet):
    """Learns the k-means labels of its training data, found at the first epoch, by cross-entropy."""

    def __init__(self, module, *args, n_clusters=3, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.n_clusters = n_clusters

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        if dataset_train.targets is None:  # served as the batches' y from now on
            kmeans = KMeans(self.n_clusters, n_init=3, random_state=int(torch.randint(2**31 - 1, (1,))))
            dataset_train.targets = kmeans.fit_predict(dataset_train.X)
        self.n_agreeing_ = 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if training:
            self.n_agreeing_ += int((kwargs["y_pred"].argmax(dim=1) == kwargs["y_true"]).sum())

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.history.record("agreement", self.n_agreeing_ / len(dataset_train))
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)

    def train_outputs(self, x, y):
        probs = self.module_.heads["cluster"](self.module_.features(self.augmenter_(x)))[0]
        return probs.clamp_min(1e-8).log(), y  # for NLLLoss

    def forward_outputs(self, module, x):
        return module(x)["cluster"][0]


class ToyEstimator(BaseDeepClusterer):
    _parameter_constraints: dict = {
        **BaseDeepClusterer._parameter_constraints,
        "min_cluster_size": [Interval(Integral, 1, None, closed="left")],
    }
    _net_class = _ToyNet

    def __init__(
        self,
        n_clusters=3,
        *,
        min_cluster_size=1,
        image_shape=None,
        module=None,
        module_kwargs=None,
        augment="auto",
        optimizer=torch.optim.Adam,
        lr=0.01,
        max_epochs=20,
        batch_size=32,
        inference_batch_size=None,
        callbacks=None,
        device="cpu",
        verbose=0,
        random_state=None,
        warm_start=False,
    ):
        self._store_params(locals())

    @staticmethod
    def _default_augmenter(sample_shape, fill):
        return VectorAugmenter(noise=0.1, mask=0.0)

    def _check_params_vs_input(self, X):
        super()._check_params_vs_input(X)
        if len(X) < self.n_clusters * self.min_cluster_size:
            raise ValueError(f"n_samples={len(X)} cannot fill {self.n_clusters} clusters of {self.min_cluster_size}.")

    def _net_kwargs(self, sample_shape):
        heads = {"cluster": self.n_clusters}
        return dict(module=ClusteringNet, module__heads=heads, module__n_subheads=1, criterion=torch.nn.NLLLoss,
                    n_clusters=self.n_clusters)  # fmt: skip

    def _finish_fit(self, dataset):
        scores = super()._finish_fit(dataset)
        self.kmeans_agreement_ = float((scores.argmax(axis=1) == dataset.targets).mean())
        return scores


# ---------------------------------------------------------------------------------------------


def test_toy_method_clusters_blobs(blobs):
    X, y = blobs
    est = ToyEstimator(random_state=0).fit(X)
    assert adjusted_rand_score(y, est.labels_) > 0.6  # k-means on these points: 0.64-0.65
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert sorted(set(est.labels_)) == list(range(est.n_clusters_found_))
    np.testing.assert_allclose(est.transform(X).sum(axis=1), 1.0, rtol=1e-6)
    assert len(est.history_[:, "agreement"]) == 20 and est.kmeans_agreement_ == 1.0
    np.testing.assert_array_equal(ToyEstimator(random_state=0).fit(X).labels_, est.labels_)


def test_toy_method_checks_its_parameters_against_the_data(blobs):
    with pytest.raises(ValueError, match=r"n_samples=60 cannot fill 3 clusters of 30\."):
        ToyEstimator(min_cluster_size=30).fit(blobs[0])


@parametrize_with_checks([ToyEstimator(max_epochs=10, random_state=0)])
def test_toy_method_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [*ESTIMATORS, ToyEstimator(random_state=0)], ids=lambda e: type(e).__name__)
def test_get_loss_changes_no_state(estimator, blobs):
    # the batch hooks, not get_loss, gather per-epoch statistics (IIC's sub-head losses, DAC's pairs)
    net = clone(estimator).set_params(max_epochs=1).fit(blobs[0]).net_
    x = net.module_.standardize(torch.as_tensor(blobs[0][:16], dtype=torch.float32))
    y_pred, y_true = net.train_outputs(x, torch.zeros(16, dtype=torch.int64))
    state = pickle.dumps(vars(net))
    for _ in range(2):
        net.get_loss(y_pred, y_true, training=True)
    assert pickle.dumps(vars(net)) == state
