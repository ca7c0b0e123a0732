"""Tests for deepclust_sklearn.datasets."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import deepclust_sklearn.datasets as datasets_module
from deepclust_sklearn.datasets import (
    load_digits_images,
    load_idx_folder,
    load_mnist,
    make_image_blobs,
    read_idx,
)

MNIST_TEST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-test"

_TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` in the IDX format (big-endian payload)."""
    array = np.asarray(array)
    code = _TYPE_CODES[array.dtype.newbyteorder("=")]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = array.astype(array.dtype.newbyteorder(">")).tobytes()
    return header + payload


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    data = idx_bytes(array)
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_fake_mnist(directory: Path, prefix: str, n: int = 5, *, gz: bool = False, sep: str = "-", seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 0
    images[0, 0, 1] = 255
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(directory / f"{prefix}-images{sep}idx3-ubyte{suffix}", images, gz=gz)
    write_idx(directory / f"{prefix}-labels{sep}idx1-ubyte{suffix}", labels, gz=gz)
    return images, labels


# --------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "dtype, shape",
    [
        (np.uint8, (3, 4, 5)),
        (np.uint8, (7,)),
        (np.int8, (2, 3)),
        (np.int16, (4, 2)),
        (np.int32, (2, 3, 2)),
        (np.float32, (6, 2)),
        (np.float64, (5,)),
    ],
)
def test_read_idx_round_trip(tmp_path, gz, dtype, shape):
    rng = np.random.default_rng(42)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        array = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    # Name without ".gz" for the gzipped file: detection must use magic bytes.
    path = write_idx(tmp_path / "data-idx", array, gz=gz)
    out = read_idx(path)
    assert out.shape == array.shape
    assert out.dtype == dtype
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    # Accepts str paths too, and the result is writable.
    out2 = read_idx(str(path))
    np.testing.assert_array_equal(out2, array)
    out2[...] = 0


def test_read_idx_raw_file_with_gz_extension(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = write_idx(tmp_path / "raw-but-named.gz", array, gz=False)
    np.testing.assert_array_equal(read_idx(path), array)


def test_read_idx_big_endian_multibyte(tmp_path):
    # Hand-written bytes, independent of the helper.
    header = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2)
    payload = bytes([0x00, 0x00, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFE])
    (tmp_path / "i32").write_bytes(header + payload)
    np.testing.assert_array_equal(read_idx(tmp_path / "i32"), [0x0102, -2])

    header = bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 2)
    payload = struct.pack(">ff", 1.5, -2.25)
    (tmp_path / "f32").write_bytes(header + payload)
    out = read_idx(tmp_path / "f32")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.5, -2.25])

    header = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 1)
    (tmp_path / "i16").write_bytes(header + bytes([0x12, 0x34]))
    np.testing.assert_array_equal(read_idx(tmp_path / "i16"), [0x1234])


def test_read_idx_missing_file(tmp_path):
    missing = tmp_path / "does-not-exist-idx1-ubyte"
    with pytest.raises(FileNotFoundError, match="does-not-exist-idx1-ubyte"):
        read_idx(missing)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_wrong_magic(tmp_path, gz):
    data = idx_bytes(np.arange(4, dtype=np.uint8))
    bad = b"\x01" + data[1:]
    path = tmp_path / "bad"
    path.write_bytes(gzip.compress(bad) if gz else bad)
    with pytest.raises(ValueError, match="magic"):
        read_idx(path)


def test_read_idx_unknown_type_code(tmp_path):
    data = bytearray(idx_bytes(np.arange(4, dtype=np.uint8)))
    data[2] = 0x42
    (tmp_path / "bad").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="type code 0x42"):
        read_idx(tmp_path / "bad")


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_payload(tmp_path, gz):
    data = idx_bytes(np.arange(10, dtype=np.int32))
    data = data[:-5]
    path = tmp_path / "trunc"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=r"is truncated: expected 40 bytes of data, found 35"):
        read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    (tmp_path / "short").write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">I", 5))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        read_idx(tmp_path / "tiny")


def test_read_idx_trailing_data(tmp_path):
    data = idx_bytes(np.arange(4, dtype=np.uint8)) + b"\x00"
    (tmp_path / "long").write_bytes(data)
    with pytest.raises(ValueError, match="expected 4 bytes of data, found 5"):
        read_idx(tmp_path / "long")


# --------------------------------------------------------------------------
# load_mnist on fake directories
# --------------------------------------------------------------------------


@pytest.mark.parametrize("subset, prefix", [("test", "t10k"), ("train", "train")])
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("sep", ["-", "."])
def test_load_mnist_fake(tmp_path, subset, prefix, gz, sep):
    images, labels = make_fake_mnist(tmp_path, prefix, n=5, gz=gz, sep=sep)
    X, y = load_mnist(tmp_path, subset=subset)
    assert X.shape == (5, 1, 28, 28)
    assert X.dtype == np.float32
    assert y.shape == (5,)
    assert y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert X[0, 0, 0, 0] == 0.0 and X[0, 0, 0, 1] == 1.0
    np.testing.assert_allclose(X[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)

    Xf, yf = load_mnist(str(tmp_path), subset=subset, as_images=False, dtype=np.float64)
    assert Xf.shape == (5, 784)
    assert Xf.dtype == np.float64
    np.testing.assert_allclose(Xf, images.reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(yf, labels)


def test_load_mnist_subsets_are_distinct(tmp_path):
    make_fake_mnist(tmp_path, "t10k", n=3, seed=1)
    make_fake_mnist(tmp_path, "train", n=4, seed=2, gz=True)
    assert load_mnist(tmp_path, "test")[0].shape[0] == 3
    assert load_mnist(tmp_path, "train")[0].shape[0] == 4
    assert load_mnist(tmp_path)[0].shape[0] == 3  # default subset is "test"


def test_load_mnist_unknown_subset(tmp_path):
    make_fake_mnist(tmp_path, "t10k")
    with pytest.raises(ValueError, match=r"Unknown MNIST subset 'val'.*'test'.*'train'"):
        load_mnist(tmp_path, subset="val")


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte\.gz"):
        load_mnist(tmp_path, subset="test")
    # Only images present: the labels file is reported missing.
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8), gz=True)
    with pytest.raises(FileNotFoundError, match=r"train-labels-idx1-ubyte") as excinfo:
        load_mnist(tmp_path, subset="train")
    assert str(tmp_path) in str(excinfo.value)


def test_load_mnist_missing_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        load_mnist(missing)


def test_load_mnist_count_mismatch(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"mismatch: 5 images .* 4 labels"):
        load_mnist(tmp_path)


def test_load_mnist_wrong_ndim(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5, 784), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="3-d images"):
        load_mnist(tmp_path)


# --------------------------------------------------------------------------
# load_idx_folder: any names, grey or colour
# --------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_folder_colour(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4, 3, 5, 6), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1], np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"data-images-idx4-ubyte{suffix}", images, gz=gz)
    write_idx(tmp_path / f"data-labels-idx1-ubyte{suffix}", labels, gz=gz)
    X, y = load_idx_folder(tmp_path)
    assert X.shape == (4, 3, 5, 6) and X.dtype == np.float32
    np.testing.assert_allclose(X, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int64


def test_load_idx_folder_grey_gets_one_channel_and_matches_load_mnist(tmp_path):
    make_fake_mnist(tmp_path, "t10k", n=3, gz=True)
    X, y = load_idx_folder(tmp_path, dtype=np.float64)
    assert X.shape == (3, 1, 28, 28) and X.dtype == np.float64
    X_mnist, y_mnist = load_mnist(tmp_path, dtype=np.float64)
    np.testing.assert_array_equal(X, X_mnist)
    np.testing.assert_array_equal(y, y_mnist)


def test_load_idx_folder_needs_exactly_one_of_each(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"exactly one IDX images file.*found 0: none"):
        load_idx_folder(tmp_path)
    make_fake_mnist(tmp_path, "t10k", n=3)
    make_fake_mnist(tmp_path, "train", n=4)
    with pytest.raises(FileNotFoundError, match=r"found 2: t10k-images-idx3-ubyte, train-images-idx3-ubyte"):
        load_idx_folder(tmp_path)


def test_load_idx_folder_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="IDX folder not found"):
        load_idx_folder(tmp_path / "nope")
    write_idx(tmp_path / "a-images-idx2-ubyte", np.zeros((5, 784), np.uint8))
    write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, C, H, W\).*\(5, 784\)"):
        load_idx_folder(tmp_path)
    write_idx(tmp_path / "a-images-idx2-ubyte", np.zeros((5, 2, 2), np.uint8))
    write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"mismatch: 5 images .* 4 labels"):
        load_idx_folder(tmp_path)
    write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros((5, 1), np.uint8))
    with pytest.raises(ValueError, match="1-d labels"):
        load_idx_folder(tmp_path)
    with pytest.raises(ValueError, match="floating dtype"):
        load_idx_folder(tmp_path, dtype=np.uint8)


# --------------------------------------------------------------------------
# load_mnist on the real shared MNIST-test
# --------------------------------------------------------------------------

_MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
requires_mnist = pytest.mark.skipif(
    not all((MNIST_TEST_DIR / f).is_file() for f in _MNIST_FILES),
    reason=f"shared MNIST-test data not found at {MNIST_TEST_DIR}",
)


@pytest.fixture(scope="module")
def real_mnist_test():
    return load_mnist(MNIST_TEST_DIR, subset="test")


@requires_mnist
def test_load_mnist_real(real_mnist_test):
    X, y = real_mnist_test
    assert X.shape == (10000, 1, 28, 28)
    assert X.dtype == np.float32
    assert y.shape == (10000,)
    assert y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(
        np.bincount(y, minlength=10),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )
    mean_255 = X.astype(np.float64).mean() * 255.0
    assert mean_255 == pytest.approx(33.79, abs=0.01)


@requires_mnist
def test_load_mnist_real_flat(real_mnist_test):
    Xf, yf = load_mnist(MNIST_TEST_DIR, as_images=False)
    assert Xf.shape == (10000, 784)
    X, y = real_mnist_test
    np.testing.assert_array_equal(Xf, X.reshape(10000, 784))
    np.testing.assert_array_equal(yf, y)


# --------------------------------------------------------------------------
# load_digits_images
# --------------------------------------------------------------------------


def test_load_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8)
    assert X.dtype == np.float32
    assert y.shape == (1797,)
    assert y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    from sklearn.datasets import load_digits

    data, target = load_digits(return_X_y=True)
    np.testing.assert_allclose(X.reshape(1797, 64), data / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(y, target)


def test_load_digits_images_return_X_y_false():
    with pytest.raises(ValueError, match="return_X_y"):
        load_digits_images(return_X_y=False)


# --------------------------------------------------------------------------
# make_image_blobs
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_samples, n_clusters, image_shape, expected_shape",
    [
        (200, 3, (1, 8, 8), (200, 1, 8, 8)),
        (10, 4, (3, 5, 6), (10, 3, 5, 6)),
        (7, 7, (4, 4), (7, 1, 4, 4)),
        (5, 1, [2, 3], (5, 1, 2, 3)),
    ],
)
def test_make_image_blobs_shapes(n_samples, n_clusters, image_shape, expected_shape):
    X, y = make_image_blobs(n_samples, n_clusters, image_shape, random_state=0)
    assert X.shape == expected_shape
    assert X.dtype == np.float32
    assert y.shape == (n_samples,)
    assert y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    counts = np.bincount(y, minlength=n_clusters)
    assert len(counts) == n_clusters
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n_samples


def test_make_image_blobs_defaults():
    X, y = make_image_blobs(random_state=0)
    assert X.shape == (200, 1, 8, 8)
    np.testing.assert_array_equal(np.bincount(y), [67, 67, 66])


def test_make_image_blobs_determinism():
    X1, y1 = make_image_blobs(50, 4, random_state=123)
    X2, y2 = make_image_blobs(50, 4, random_state=123)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make_image_blobs(50, 4, random_state=124)
    assert not np.array_equal(X1, X3)
    X4, y4 = make_image_blobs(50, 4, random_state=np.random.RandomState(123))
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)


def test_make_image_blobs_zero_noise_equals_prototypes():
    X, y = make_image_blobs(12, 3, noise=0.0, random_state=0)
    for k in range(3):
        members = X[y == k]
        np.testing.assert_array_equal(members, np.broadcast_to(members[0], members.shape))


def test_make_image_blobs_separable():
    X, y = make_image_blobs(200, 3, noise=0.1, random_state=0)
    pred = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(X.reshape(len(X), -1))
    assert adjusted_rand_score(y, pred) > 0.9  # KMeans random_state 0-7: 1.00 every time (no torch)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_clusters": 0}, "n_clusters must be >= 1"),
        ({"n_samples": 2, "n_clusters": 3}, "n_samples must be >= n_clusters"),
        ({"n_samples": 2.5}, "n_samples must be an integer"),
        ({"n_clusters": "3"}, "n_clusters must be an integer"),
        ({"image_shape": (8,)}, r"image_shape must be \(H, W\) or \(C, H, W\) with positive sizes; got \(8,\)"),
        ({"image_shape": (1, 2, 3, 4)}, r"image_shape must be \(H, W\) or \(C, H, W\) with positive sizes"),
        ({"image_shape": (1, 0, 8)}, "image_shape"),
        ({"image_shape": (1, -8, 8)}, "image_shape"),
        ({"image_shape": (1, 8.0, 8)}, "image_shape"),
        ({"image_shape": 8}, "image_shape"),
        ({"noise": -0.1}, "noise must be a non-negative"),
        ({"noise": float("nan")}, "noise must be a non-negative"),
    ],
)
def test_make_image_blobs_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_image_blobs(**kwargs)


# --------------------------------------------------------------------------
# module-level
# --------------------------------------------------------------------------


def test_public_api():
    assert set(datasets_module.__all__) == {
        "read_idx",
        "load_mnist",
        "load_idx_folder",
        "load_digits_images",
        "make_image_blobs",
    }
    for name in datasets_module.__all__:
        assert callable(getattr(datasets_module, name))
