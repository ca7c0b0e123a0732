"""Data in and out of the networks, batch by batch.

:class:`ArrayDataset` serves a 2-D array (or memmap) to torch's ``DataLoader``
in whole batches, :func:`net_outputs` runs a trained net over a dataset for
inference, and :func:`channel_stats` derives the input standardisation
without loading the data whole.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["ArrayDataset", "channel_stats", "keep_batch", "net_outputs"]

_STATS_CHUNK_BYTES = 2**21  # float64 chunk for the input statistics: 2 MiB, whatever the row width


class ArrayDataset(Dataset):
    """A 2-D array served in whole batches as float32 tensors of one sample shape.

    ``__getitems__`` lets torch's ``DataLoader`` fetch a batch with one fancy
    index instead of one Python call per sample; the array itself (a numpy
    array or memmap) is never copied as a whole.

    ``targets`` (optional, one integer per row) are served as the batch's
    ``y``; DeepCluster sets its pseudo-labels there each epoch. Without them
    ``y`` is a tensor of zeros.
    """

    def __init__(self, X: np.ndarray, sample_shape: tuple[int, ...], targets: np.ndarray | None = None) -> None:
        self.X = X
        self.sample_shape = tuple(sample_shape)
        self.targets = targets

    def __len__(self) -> int:
        return len(self.X)

    def _batch(self, indices) -> torch.Tensor:
        rows = np.asarray(self.X[indices], dtype=np.float32)
        return torch.from_numpy(rows.reshape((-1, *self.sample_shape)))

    def _targets(self, indices) -> torch.Tensor:
        if self.targets is None:
            return torch.zeros(len(indices))
        return torch.from_numpy(np.asarray(self.targets[indices], dtype=np.int64))

    def __getitem__(self, index):
        return self._batch([index])[0], self._targets([index])[0]

    def __getitems__(self, indices):
        indices = np.sort(np.asarray(indices))
        return self._batch(indices), self._targets(indices)


def net_outputs(net, dataset, per_batch=None, batch_size=None, float64: bool = True, prepare=None) -> np.ndarray:
    """A skorch net's inference outputs over ``dataset``, batch by batch.

    ``per_batch`` (optional) maps each batch's output array to what is kept,
    so a caller that needs only a reduction of the network's output (such as
    distances to centres) never holds the full output for all samples. The
    result is written into one preallocated array: peak memory is the
    result plus one batch. ``batch_size`` (default: the net's) sets the rows
    per batch. Runs inside a forked RNG, so inference never moves the
    caller's random state. ``prepare`` (optional) maps each raw input batch,
    a float32 tensor on the net's device, to the batch the network sees
    (``score`` passes transformed copies this way).

    ``float64`` (on a CPU net): run a float64 copy of the trained network.
    A float32 matrix product may accumulate a row's sums in another order
    depending on the row's place in the batch (seen on Intel CPUs, where MKL
    blocks rows differently): one float32 ulp, about 1e-7 relative, as large
    as scikit-learn's tolerance for "the same result". In float64 that
    difference is about 1e-16, so a sample's output does not depend on its
    batch neighbours, the batch size or the thread count beyond rounding
    far below any tolerance. It costs 2-4x the float32 inference time on a
    CPU (measured on the default networks); training stays float32, and a
    CUDA net always infers in float32.
    """
    result, start = None, 0
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size or net.batch_size, shuffle=False, collate_fn=keep_batch
    )

    def inputs(batch) -> torch.Tensor:
        if prepare is None:
            return batch[0]
        with torch.no_grad():
            return prepare(batch[0].to(net.device))

    if float64 and torch.device(net.device).type == "cpu":
        module = copy.deepcopy(net.module_).double().eval()

        def step(batch):
            with torch.no_grad():
                return net.forward_outputs(module, inputs(batch).to(torch.float64))
    else:

        def step(batch):
            return net.evaluation_step((inputs(batch), *batch[1:]), training=False)

    with torch.random.fork_rng(devices=[]):
        for batch in loader:
            out = step(batch).detach().to("cpu")
            chunk = out.numpy() if per_batch is None else per_batch(out.numpy())
            if result is None:
                result = np.empty((len(dataset), *chunk.shape[1:]), dtype=chunk.dtype)
            result[start : start + len(chunk)] = chunk
            start += len(chunk)
    return result


def keep_batch(batch):
    """``collate_fn`` for :class:`ArrayDataset`: the batch is already assembled."""
    return batch


def channel_stats(X: np.ndarray, sample_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of the input standardisation ``(x - mean) / scale``.

    Images: mean and standard deviation per channel. Vectors: a mean per
    feature and **one scale shared by all features**, the root mean square
    of the centred features, so that distances between samples keep their
    proportions. The deep methods then see the geometry k-means on the same
    input sees, and a low-variance feature (a last principal component) is
    not blown up to the weight of the first: per-feature standardisation
    cost k-means on digits-PCA-50 0.08 ACC and the deep methods 0.2-0.3
    (``docs/experiments.md``). Features in different units need a
    ``StandardScaler`` in front, as for k-means.

    Computed in float64 over chunks of rows, so a memmap is read once and never
    loaded whole. Zero deviations become 1. Returned shaped to broadcast
    against one sample: ``(C, 1, 1)`` for images, ``(D,)`` for vectors.
    """
    is_image = len(sample_shape) == 3
    groups = sample_shape[0] if is_image else int(np.prod(sample_shape))
    total = np.zeros(groups)
    total_sq = np.zeros(groups)
    rows = max(1, _STATS_CHUNK_BYTES // (8 * int(np.prod(sample_shape))))  # float64 rows per chunk
    for start in range(0, len(X), rows):
        chunk = np.asarray(X[start : start + rows], dtype=np.float64)
        chunk = chunk.reshape(len(chunk), groups, -1)
        total += chunk.sum(axis=(0, 2))
        total_sq += np.einsum("ngp,ngp->g", chunk, chunk)  # no squared copy of the chunk
    count = len(X) * (int(np.prod(sample_shape)) // groups)
    mean = total / count
    variance = np.maximum(total_sq / count - mean**2, 0.0)
    if not is_image:
        variance = np.full_like(variance, variance.mean())
    std = np.sqrt(variance)
    std[std < 1e-8 * np.maximum(1.0, np.abs(mean))] = 1.0
    shape = (groups, 1, 1) if is_image else (groups,)
    return mean.reshape(shape).astype(np.float32), std.reshape(shape).astype(np.float32)
