"""IICEstimator-specific tests: head schedule, sub-head selection, learning.

The promises shared by every estimator are tested in test_estimators.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs

from deepclust_sklearn import IICEstimator, clustering_accuracy, make_image_blobs
from deepclust_sklearn.augment import VectorAugmenter
from deepclust_sklearn.networks import ConvBackbone

# Plumbing tests below do not care how many clusters a 6-epoch run finds.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TINY = dict(
    n_clusters=3,
    overcluster=6,
    n_subheads=3,
    repeats=2,
    max_epochs=6,
    batch_size=16,
    lr=0.01,
    module_kwargs={"hidden": (16,)},
    augment=VectorAugmenter(noise=0.1, mask=0.0),
    random_state=0,
)


def tiny(**params):
    return IICEstimator(**{**TINY, **params})


@pytest.fixture
def X():
    return make_blobs(n_samples=60, centers=3, n_features=2, random_state=0)[0]


def test_heads_follow_schedule(X):
    est = tiny(head_schedule=("cluster", "cluster", "overcluster")).fit(X)
    assert est.history_[:, "heads"] == ["cluster", "cluster", "overcluster"] * 2


def test_heads_both_and_list_schedule(X):
    est = tiny(head_schedule=["overcluster", "both"], max_epochs=4).fit(X)
    assert est.history_[:, "heads"] == ["overcluster", "cluster+overcluster"] * 2


def test_no_overcluster_trains_cluster_head_only(X):
    est = tiny(overcluster=None, head_schedule=("cluster", "overcluster"), max_epochs=3).fit(X)
    assert est.history_[:, "heads"] == ["cluster"] * 3
    assert set(est.net_.module_.heads) == {"cluster"}


def test_history_rows(X):
    est = tiny(max_epochs=6).fit(X)
    assert len(est.history_) == 6
    for row in est.history_:
        assert np.isfinite(row["train_loss"])
        if row["heads"] == "overcluster":
            assert "subhead_losses" not in row
            assert row["best_subhead_loss"] is None
        else:
            assert len(row["subhead_losses"]) == TINY["n_subheads"]
            assert row["best_subhead_loss"] == min(row["subhead_losses"])
    # the loss is a negative mutual information and training lowers it. Estimator seeds 0-7,
    # native (1 and 2 threads) and ATEN_CPU_CAPABILITY=default, identical on all three: first
    # -1.107 to -1.089, last -1.249 to -1.110, a drop of 0.021-0.142.
    cluster_losses = [row["best_subhead_loss"] for row in est.history_ if row["heads"] == "cluster"]
    assert cluster_losses[-1] < cluster_losses[0] < 0.05


@pytest.mark.parametrize("schedule", [("cluster", "cluster", "overcluster"), ("cluster", "overcluster", "overcluster")])
def test_best_subhead_is_argmin_of_last_recorded_losses(X, schedule):
    # 5 epochs: the last epoch may train either head
    est = tiny(head_schedule=schedule, max_epochs=5).fit(X)
    recorded = [row["subhead_losses"] for row in est.history_ if "subhead_losses" in row]
    assert est.best_subhead_ == int(np.argmin(recorded[-1]))
    assert est.net_.selected_subhead_ == est.best_subhead_
    # predictions come from that sub-head
    with torch.no_grad():
        est.net_.module_.eval()
        probs = est.net_.module_(torch.as_tensor(X, dtype=torch.float32))["cluster"][est.best_subhead_]
    np.testing.assert_array_equal(np.unique(probs.argmax(1).numpy(), return_inverse=True)[1], est.labels_)


@pytest.mark.parametrize("schedule", [("cluster", "bogus"), ("Cluster",), (), ("cluster", "cluster", "overclustr")])
def test_head_schedule_unknown_entry(X, schedule):
    msg = re.escape(
        f"head_schedule must be a non-empty sequence of ['both', 'cluster', 'overcluster']; got {schedule!r}."
    )
    with pytest.raises(ValueError, match=msg):
        tiny(head_schedule=schedule).fit(X)


def test_head_schedule_never_training_cluster_head(X):
    msg = re.escape("head_schedule=('overcluster',) never trains the 'cluster' head.")
    with pytest.raises(ValueError, match=msg):
        tiny(head_schedule=("overcluster",)).fit(X)


def test_head_schedule_not_a_sequence(X):
    with pytest.raises(ValueError, match=r"The 'head_schedule' parameter of IICEstimator must be an instance of"):
        tiny(head_schedule="cluster").fit(X)


@pytest.mark.parametrize(
    "param, value, expected",
    [
        (
            "overcluster",
            1,
            r"The 'overcluster' parameter of IICEstimator must be an int in the range \[2, inf\), a str among \{'auto'\} or None\. Got 1 instead\.",
        ),
        (
            "n_subheads",
            0,
            r"The 'n_subheads' parameter of IICEstimator must be an int in the range \[1, inf\)\. Got 0 instead\.",
        ),
        (
            "repeats",
            0,
            r"The 'repeats' parameter of IICEstimator must be an int in the range \[1, inf\)\. Got 0 instead\.",
        ),
        (
            "entropy_weight",
            -0.5,
            r"The 'entropy_weight' parameter of IICEstimator must be a float in the range \[0(\.0)?, inf\)\. Got -0\.5 instead\.",
        ),
        (
            "lr",
            0.0,
            r"The 'lr' parameter of IICEstimator must be a float in the range \(0(\.0)?, inf\)\. Got 0\.0 instead\.",
        ),
        (
            "max_epochs",
            0,
            r"The 'max_epochs' parameter of IICEstimator must be an int in the range \[1, inf\) or a str among "
            r"\{'auto'\}\. Got 0 instead\.",
        ),
        (
            "batch_size",
            0,
            r"The 'batch_size' parameter of IICEstimator must be an int in the range \[1, inf\) or a str among "
            r"\{'auto'\}\. Got 0 instead\.",
        ),
        ("augment", "yes", r"The 'augment' parameter of IICEstimator must be a str among"),
        (
            "n_init",
            0,
            r"The 'n_init' parameter of IICEstimator must be an int in the range \[1, inf\)\. Got 0 instead\.",
        ),
        (
            "init_steps",
            0,
            r"The 'init_steps' parameter of IICEstimator must be an int in the range \[1, inf\) or None\. Got 0",
        ),
    ],
)
def test_parameter_validation(X, param, value, expected):
    with pytest.raises(ValueError, match=expected):
        tiny(**{param: value}).fit(X)


def test_network_shapes(X):
    est = tiny(n_clusters=3, overcluster=7, n_subheads=2, max_epochs=1).fit(X)
    heads = est.net_.module_.heads
    assert heads["cluster"].n_clusters == 3 and heads["cluster"].n_subheads == 2
    assert heads["overcluster"].n_clusters == 7


def test_user_augment_is_copied_not_shared(X):
    aug = VectorAugmenter(noise=0.1, mask=0.0)
    est = tiny(augment=aug, max_epochs=1).fit(X)
    assert est.augment is aug
    assert est.net_.augmenter_ is not aug
    assert isinstance(est.net_.augmenter_, VectorAugmenter)


def test_plain_function_as_augment(X):
    est = tiny(augment=torch.neg, max_epochs=2).fit(X)
    assert est.predict(X).shape == (60,)


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_learns_image_blobs():
    # Noise augmentation: make_image_blobs prototypes are i.i.d. pixels, so
    # geometric augmentations would not preserve a sample's cluster.
    X, y = make_image_blobs(n_samples=300, n_clusters=3, image_shape=(1, 8, 8), noise=0.1, random_state=0)
    est = tiny(max_epochs=10, batch_size=32, module=ConvBackbone, module_kwargs={"channels": (8, 16)}).fit(X)
    # Estimator seeds 0-7, native (AVX2) and ATEN_CPU_CAPABILITY=default: 3 clusters found and
    # ACC 1.00 on X and on X_new in all 16 runs, no ConvergenceWarning. Broken: an untrained
    # network (lr=1e-12) scores 0.45-0.74, two prototypes merged 0.67, random labels ~0.36.
    assert est.n_clusters_found_ == 3
    assert clustering_accuracy(y, est.labels_) >= 0.9
    # and it generalises to new noise around the same prototypes
    rng = np.random.RandomState(1)
    X_new = np.clip(X + 0.05 * rng.standard_normal(X.shape), 0, 1).astype(np.float32)
    assert clustering_accuracy(y, est.predict(X_new)) >= 0.9


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_learns_vector_blobs():
    X, y = make_blobs(n_samples=150, centers=3, n_features=5, cluster_std=0.5, random_state=1)
    est = clone(tiny(max_epochs=10, batch_size=16, random_state=5)).fit(X)
    # Estimator seeds 0-7, native (AVX2) and ATEN_CPU_CAPABILITY=default: ACC 1.00 in all 16
    # runs. At batch 32 (half the steps) seed 0 scored 0.913 on both paths, 2 samples above the
    # old bar of 0.9; seeds 1-7 1.00. An untrained network (lr=1e-12, batch 16) scores 0.53-0.99
    # over seeds 0-7: a random partition of 3 separated blobs is sometimes right (0.96 at seed
    # 0), so the seed is 5, where it scores 0.53 and the bar tells training from none. Random
    # labels ~0.38.
    assert clustering_accuracy(y, est.labels_) >= 0.95


def test_cosine_lr_schedule_anneals_towards_zero(X):
    est = tiny(max_epochs=4, lr_schedule="cosine").fit(X)
    lrs = [group["lr"] for group in est.net_.optimizer_.param_groups]
    assert all(lr < 0.01 * 0.2 for lr in lrs)  # cos(pi * 4/4) schedule ends near 0
    constant = tiny(max_epochs=4, lr_schedule="constant").fit(X)
    assert all(group["lr"] == 0.01 for group in constant.net_.optimizer_.param_groups)
    assert "lr_schedule" in dict(est.net_.callbacks_)


def test_entropy_weight_final_anneals_the_loss_weight_by_the_cosine_of_the_epoch(X):
    est = tiny(max_epochs=4, entropy_weight=2.0, entropy_weight_final=1.0).fit(X)
    expected = [1.0 + 1.0 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)]  # 2, 1.854, 1.5, 1.146
    np.testing.assert_allclose(est.history_[:, "entropy_weight"], expected)
    assert est.net_.criterion_.entropy_weight == pytest.approx(expected[-1])
    # it is its own callback and leaves the learning rate alone (16 steps: no cosine decay of the rate)
    assert "entropy_schedule" in dict(est.net_.callbacks_) and "lr_schedule" not in dict(est.net_.callbacks_)
    assert all(group["lr"] == 0.01 for group in est.net_.optimizer_.param_groups)
    # None (the default) keeps the weight constant and records nothing
    constant = tiny(max_epochs=2, entropy_weight=2.0).fit(X)
    assert "entropy_weight" not in constant.history_[-1]
    assert constant.net_.criterion_.entropy_weight == 2.0
    with pytest.raises(ValueError, match="entropy_weight_final"):
        tiny(entropy_weight_final=-1.0).fit(X)


def test_auto_lr_schedule_anneals_only_long_trainings(X):
    # 60 samples in batches of 16: 4 steps per epoch
    short = tiny(max_epochs=4).fit(X)  # 16 steps: constant
    assert "lr_schedule" not in dict(short.net_.callbacks_)
    est = tiny(max_epochs=250)
    est._n_train = 60
    assert est._method_callbacks() and est._method_callbacks()[0][0] == "lr_schedule"  # 1,000 steps


@pytest.mark.parametrize(
    "n_clusters, n_train, expected",
    [(10, 5000, 50), (10, 4999, None), (3, 1500, 15), (3, 60, None)],
)
def test_auto_overcluster_needs_100_samples_per_overcluster(n_clusters, n_train, expected):
    est = IICEstimator(n_clusters=n_clusters)
    est._n_train = n_train
    assert est._resolve_overcluster() == expected


def test_auto_overcluster_is_recorded_and_builds_the_heads(X):
    est = tiny(overcluster="auto", max_epochs=2).fit(X)  # 60 samples: no over-clustering head
    assert est.overcluster_ is None
    assert set(est.net_.module_.heads) == {"cluster"}
    explicit = tiny(overcluster=4, max_epochs=2).fit(X)
    assert explicit.overcluster_ == 4 and set(explicit.net_.module_.heads) == {"cluster", "overcluster"}


class _InitSpy(IICEstimator):
    """Records every init's net and selection loss as ``fit`` trains them (a test double, not the library's)."""

    def _init_loss(self, net) -> float:
        loss = super()._init_loss(net)
        self.spied_ = [*getattr(self, "spied_", []), (net, loss)]
        return loss


def _spy(**params):
    return _InitSpy(**{**TINY, **params})


def test_n_init_keeps_the_init_whose_predicting_subhead_has_the_lowest_loss(X):
    est = _spy(n_init=3, max_epochs=3).fit(X)
    nets, losses = zip(*est.spied_)
    assert len(nets) == 3 and len(set(losses)) == 3  # three trainings from three seeds
    assert len({net.seed for net in nets}) == 3
    kept = int(np.argmin(losses))
    assert est.net_ is nets[kept] and est.kept_init_ == kept
    # the criterion is the one that picks the sub-head: the lowest loss of the last cluster-head epoch
    last_cluster_losses = [row["subhead_losses"] for row in est.history_ if "subhead_losses" in row][-1]
    assert losses[kept] == min(last_cluster_losses)
    assert est.best_subhead_ == int(np.argmin(last_cluster_losses))
    np.testing.assert_array_equal(est.labels_, est.predict(X))


def test_n_init_first_init_trains_exactly_as_a_single_fit(X):
    single = tiny(max_epochs=3).fit(X)
    first_net = _spy(n_init=2, max_epochs=3).fit(X).spied_[0][0]
    assert first_net.seed == single.net_.seed
    assert first_net.history[:, "train_loss"] == single.history_[:, "train_loss"]
    for a, b in zip(first_net.module_.parameters(), single.net_.module_.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_n_init_random_state_instance_draws_the_fit_seed_once(X):
    """A RandomState instance seeds the fit as the int whose generator gives its first draw: the first init,
    and each restart's seed derived from it, use that one draw."""
    from_int = _spy(n_init=3, max_epochs=2).fit(X)
    from_instance = _spy(n_init=3, max_epochs=2, random_state=np.random.RandomState(TINY["random_state"])).fit(X)
    assert [net.seed for net, _ in from_instance.spied_] == [net.seed for net, _ in from_int.spied_]
    assert from_instance.kept_init_ == from_int.kept_init_
    np.testing.assert_array_equal(from_instance.labels_, from_int.labels_)


def test_n_init_stops_restarting_after_an_init_that_ends_early(X):
    from skorch.callbacks import Callback

    class StopAfterOneEpoch(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise KeyboardInterrupt

    est = _spy(n_init=3, max_epochs=3, callbacks=[StopAfterOneEpoch()]).fit(X)
    assert len(est.spied_) == 1 and len(est.history_) == 1
    assert est.history_[-1, "stop"] == "stopped early (a callback or Ctrl-C)"


def test_n_init_warm_start_continues_the_kept_net(X):
    est = _spy(n_init=2, max_epochs=2, warm_start=True).fit(X)
    kept = est.net_
    kept_init = est.kept_init_
    est.fit(X)  # continues: no new inits
    assert est.net_ is kept and len(est.spied_) == 2 and len(est.history_) == 4
    assert est.kept_init_ == kept_init


class _FirstInitWins(IICEstimator):
    """Keeps init 0 whatever the losses, and records each init's epochs at selection (a test double)."""

    def _init_loss(self, net) -> float:
        self.trial_epochs_ = [*getattr(self, "trial_epochs_", []), len(net.history)]
        return float(len(self.trial_epochs_))


def test_n_init_trial_then_the_kept_init_ends_exactly_as_a_single_fit(X):
    # 60 samples at batch 16: 4 steps per epoch, so init_steps=8 is a 2-epoch trial of a 5-epoch fit
    single = tiny(max_epochs=5).fit(X)
    est = _FirstInitWins(**{**TINY, "n_init": 3, "init_steps": 8, "max_epochs": 5}).fit(X)
    assert est.trial_epochs_ == [2, 2, 2]
    assert len(est.history_) == 5 and est.net_.seed == single.net_.seed
    assert est.history_[:, "train_loss"] == single.history_[:, "train_loss"]
    for a, b in zip(est.net_.module_.parameters(), single.net_.module_.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(est.labels_, single.labels_)
    # the trial's end is not recorded as the fit's
    assert [row.get("stop") for row in est.history_] == [None] * 4 + ["max_epochs reached"]
    assert est.net_.max_epochs == 5


def test_n_init_reports_the_inits_and_the_kept_one_on_a_verbose_fit(X, capsys):
    est = _spy(n_init=2, init_steps=4, max_epochs=3, verbose=1).fit(X)
    kept = [net for net, _ in est.spied_].index(est.net_) + 1
    out = capsys.readouterr().out
    assert "_InitSpy: init 1 of 2: 1 of 3 epochs" in out and "_InitSpy: init 2 of 2: 1 of 3 epochs" in out
    assert f"_InitSpy: kept init {kept} (loss " in out and f"init {kept} trains on: epochs 2-3" in out
    tiny(n_init=2, init_steps=4, max_epochs=3).fit(X)
    assert "init 1 of 2" not in capsys.readouterr().out


def test_n_init_trial_keeps_the_lowest_trial_loss(X):
    est = _spy(n_init=3, init_steps=4, max_epochs=4).fit(X)  # 1-epoch trials
    nets, losses = zip(*est.spied_)
    assert est.net_ is nets[int(np.argmin(losses))] and len(est.history_) == 4
    assert all(len(net.history) == 1 for net in nets if net is not est.net_)


@pytest.mark.parametrize(
    ("n_train", "init_steps", "max_epochs", "batch_size", "expected"),
    [
        (10000, 400, 30, "auto", 5),  # MNIST-test at batch 128: 79 steps per epoch, 5.06 epochs
        (10000, 300, 30, "auto", 4),  # 3.8 epochs
        (1797, 400, 30, "auto", 12),  # digits at batch 53: 34 steps per epoch, 11.8 epochs
        (1797, 400, 30, 128, 27),  # digits at batch 128: 15 steps per epoch, 26.7 epochs
        (1440, 400, 30, 128, 30),  # 12 steps per epoch: a trial longer than the fit is the whole fit
        (10000, 10, 30, "auto", 1),  # at least one epoch
        (10000, None, 30, "auto", 30),
    ],
)
def test_init_epochs_are_init_steps_in_the_nearest_whole_epochs(n_train, init_steps, max_epochs, batch_size, expected):
    est = IICEstimator(init_steps=init_steps, max_epochs=max_epochs, batch_size=batch_size)
    est._n_train = n_train
    assert est._init_epochs() == expected


@pytest.mark.parametrize(
    ("n_train", "max_epochs", "expected"),
    [
        (10000, 30, 128),  # 300 would do: capped at the default 128
        (1797, 30, 53),  # digits: 34 steps per epoch, 1,020 in 30 epochs
        (1440, 30, 43),  # 34 steps per epoch (44 would make 33, 990 steps)
        (3269, 30, 98),
        (1797, 10, 17),  # fewer epochs, smaller batches
        (1797, "auto", 53),  # "auto" epochs count as 30
        (300, 30, 16),  # at least 16
    ],
)
def test_auto_batch_size_makes_1000_steps_in_the_epochs(n_train, max_epochs, expected):
    est = IICEstimator(batch_size="auto", max_epochs=max_epochs)
    est._n_train = n_train
    assert est._batch_size() == expected
    if expected < 128 and n_train >= 16 * 1000 // 30:
        assert est._steps_per_epoch() * est._n_epochs() >= 1000
    fixed = IICEstimator(batch_size=64)
    fixed._n_train = n_train
    assert fixed._batch_size() == 64


def test_auto_batch_size_trains_with_the_resolved_batch(X):
    est = tiny(batch_size="auto", max_epochs=2).fit(X)  # 60 samples: at least 16
    assert est.net_.batch_size == 16 and est.batch_size == "auto"
    assert len(est.history_[-1, "batches"]) == 4


def test_n_init_with_init_steps_none_trains_every_init_to_the_end(X):
    est = _FirstInitWins(**{**TINY, "n_init": 2, "init_steps": None, "max_epochs": 3}).fit(X)
    assert est.trial_epochs_ == [3, 3] and len(est.history_) == 3


def test_auto_max_epochs_counts_steps_not_passes(X):
    # 60 samples: 4 steps per epoch at batch 16 -> 250 epochs for 1,000 steps, capped at 100 (400 steps: rate kept)
    capped = tiny(max_epochs="auto").fit(X)
    assert len(capped.history_) == 100 and capped.history_[-1, "stop"] == "max_epochs reached"
    assert "lr_schedule" not in dict(capped.net_.callbacks_)
    # 30 steps per epoch at batch 2 -> ceil(1000 / 30) = 34 epochs, 1,020 steps: the rate decays by the cosine
    counted = tiny(max_epochs="auto", batch_size=2).fit(X)
    assert len(counted.history_) == 34
    assert counted.history_[0, "lr"] == 0.01 and counted.history_[-1, "lr"] < 0.01
    # an int is taken as given, and the default is 30
    assert len(tiny(max_epochs=3).fit(X).history_) == 3
    assert IICEstimator().max_epochs == 30


@pytest.mark.parametrize(
    "n_samples, batch_size, expected",
    [
        (1797, 128, 67),
        (1440, 128, 84),
        (3269, 128, 39),
        (10000, 128, 30),
        (500, 128, 100),
        # batch_size="auto" already makes 1,000 steps in 30 epochs, except on tiny sets (500: batch 16, 32 steps)
        (1797, "auto", 30),
        (1440, "auto", 30),
        (10000, "auto", 30),
        (500, "auto", 32),
    ],
)
def test_auto_max_epochs_of_the_documented_set_sizes(n_samples, batch_size, expected):
    # the rule alone (no training): digits, the 20-class set, the imbalanced subset, MNIST-test, a tiny set
    est = IICEstimator(max_epochs="auto", batch_size=batch_size)
    est._n_train = n_samples
    assert est._n_epochs() == expected
