"""Dataset loaders and synthetic generators for image clustering.

This module provides:

* :func:`read_idx` -- a reader for the IDX binary format used by MNIST
  (gzip-compressed or raw);
* :func:`load_mnist` -- loads a local copy of MNIST (train or test subset)
  as images scaled to ``[0, 1]``;
* :func:`load_idx_folder` -- loads any folder holding one IDX images file
  and one IDX labels file (Fashion-MNIST, CIFAR-10 converted to IDX, ...);
* :func:`load_digits_images` -- scikit-learn's 8x8 digits as images;
* :func:`make_image_blobs` -- a small synthetic image clustering problem.

Nothing here downloads data: :func:`load_mnist` only reads files from a
directory given by the caller. Folders of image files:
:func:`~deepclust_sklearn.load_image_folder` (:mod:`.image_folder`).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from ._validation import check_image_shape

__all__ = [
    "read_idx",
    "load_mnist",
    "load_idx_folder",
    "load_digits_images",
    "make_image_blobs",
]

PathLike = str | os.PathLike

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype of the payload.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MNIST_PREFIX = {"test": "t10k", "train": "train"}


def read_idx(path: PathLike) -> np.ndarray:
    """Read one file in the IDX binary format (as used by MNIST).

    The file may be gzip-compressed or raw; compression is detected from
    the gzip magic bytes (``1f 8b``), not from the file extension.

    The IDX header is two zero bytes, a one-byte type code, a one-byte
    number of dimensions ``ndim``, then ``ndim`` big-endian ``uint32``
    sizes. The payload follows, stored big-endian for multi-byte types.

    Parameters
    ----------
    path : str or os.PathLike
        Path of the IDX file.

    Returns
    -------
    data : numpy.ndarray
        Array with the shape given in the header, in native byte order.
        The dtype follows the type code: ``0x08`` uint8, ``0x09`` int8,
        ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the header is malformed (bad magic, unknown type code, short
        header) or the payload size does not match the header.

    See Also
    --------
    load_mnist : Reads the MNIST image and label files with this function.

    References
    ----------
    Y. LeCun, C. Cortes and C. J. C. Burges. "The MNIST database of
    handwritten digits" (the IDX format is described on its web page).

    Examples
    --------
    >>> import tempfile, os, struct
    >>> import numpy as np
    >>> from deepclust_sklearn.datasets import read_idx
    >>> header = b"\\x00\\x00\\x08\\x02" + struct.pack(">II", 2, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     fname = os.path.join(tmp, "tiny-idx2-ubyte")
    ...     with open(fname, "wb") as f:
    ...         _ = f.write(header + bytes(range(6)))
    ...     arr = read_idx(fname)
    >>> arr
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {str(path)!r}")

    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == _GZIP_MAGIC else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:  # corrupt gzip stream
        raise ValueError(f"Could not read IDX file {str(path)!r}: {exc}") from exc

    if len(raw) < 4:
        raise ValueError(f"IDX file {str(path)!r} is too short to hold a header ({len(raw)} bytes).")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"IDX file {str(path)!r} has a bad magic number: expected the "
            f"first two bytes to be 0x00 0x00, found "
            f"0x{raw[0]:02x} 0x{raw[1]:02x}."
        )
    type_code = raw[2]
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"IDX file {str(path)!r} has a bad magic number: unknown data "
            f"type code 0x{type_code:02X} (known codes: {known})."
        )
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"IDX file {str(path)!r} is truncated: header declares {ndim} "
            f"dimensions but the file has only {len(raw)} bytes."
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_size
    if found != expected:
        what = "is truncated" if found < expected else "has trailing data"
        raise ValueError(
            f"IDX file {str(path)!r} {what}: expected {expected} bytes of "
            f"data, found {found} (shape {shape}, dtype {dtype.name})."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    # Convert to native byte order and make a writable, owned copy.
    return data.astype(dtype.newbyteorder("="), copy=True)


def _check_folder(path: PathLike, what: str, dtype: DTypeLike) -> tuple[Path, np.dtype]:
    """The folder as a ``Path`` (it must exist) and ``dtype`` as a floating numpy dtype."""
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"{what} not found: {str(directory)!r}.")
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype must be a floating dtype, got {dtype}.")
    return directory, dtype


def _images_and_labels(
    images_path: Path, labels_path: Path, dtype: np.dtype, image_ndims: tuple[int, ...], expected: str
) -> tuple[np.ndarray, np.ndarray]:
    """Read an IDX images/labels pair: ``X`` ``(N, C, H, W)`` divided by 255 in ``dtype``, ``y`` int64."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim not in image_ndims:
        raise ValueError(f"Expected {expected} in {str(images_path)!r}, got shape {images.shape}.")
    if labels.ndim != 1:
        raise ValueError(f"Expected 1-d labels in {str(labels_path)!r}, got shape {labels.shape}.")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Image/label count mismatch: {images.shape[0]} images in {str(images_path)!r} but "
            f"{labels.shape[0]} labels in {str(labels_path)!r}."
        )
    if images.ndim == 3:
        images = images[:, None]
    X = (images.astype(dtype) / dtype.type(255)).astype(dtype, copy=False)
    return X, labels.astype(np.int64)


def _find_mnist_file(directory: Path, prefix: str, kind: str) -> Path:
    """Return the first existing MNIST file among the standard variants."""
    ndim = 3 if kind == "images" else 1
    candidates = []
    for sep in ("-", "."):
        base = f"{prefix}-{kind}{sep}idx{ndim}-ubyte"
        candidates.extend([base, base + ".gz"])
    for name in candidates:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"No MNIST {kind} file found in directory {str(directory)!r}; looked for: {', '.join(candidates)}."
    )


def load_mnist(
    path: PathLike,
    subset: str = "test",
    *,
    as_images: bool = True,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a local copy of MNIST stored in the IDX format.

    Nothing is downloaded: ``path`` must be a directory that already holds
    the standard MNIST files, gzip-compressed or raw.

    Parameters
    ----------
    path : str or os.PathLike
        Directory holding the files. For ``subset="test"`` these are
        ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]``;
        for ``subset="train"``, ``train-images-idx3-ubyte[.gz]`` and
        ``train-labels-idx1-ubyte[.gz]``. The dot variant used by some
        mirrors (``t10k-images.idx3-ubyte``) is accepted too.
    subset : {"test", "train"}, default="test"
        Which MNIST subset to load.
    as_images : bool, default=True
        If True, ``X`` has shape ``(N, 1, 28, 28)``; otherwise it is
        flattened to ``(N, 784)``.
    dtype : numpy dtype, default=numpy.float32
        Floating dtype of ``X``.

    Returns
    -------
    X : numpy.ndarray
        Pixel intensities scaled to ``[0, 1]`` (divided by 255), of shape
        ``(N, 1, H, W)`` or ``(N, H * W)``.
    y : numpy.ndarray of shape (N,), dtype int64
        Digit labels.

    Raises
    ------
    ValueError
        If ``subset`` is unknown, the files do not hold 3-d images and 1-d
        labels, or the numbers of images and labels differ.
    FileNotFoundError
        If the directory or one of the files is missing.

    See Also
    --------
    read_idx : Reads one IDX file.
    load_digits_images : scikit-learn's 8x8 digits, shipped with it.
    make_image_blobs : A synthetic image clustering problem.

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. "Gradient-based learning
    applied to document recognition." Proceedings of the IEEE,
    86(11):2278-2324, 1998.

    Examples
    --------
    Write a tiny fake MNIST test set (two 28x28 images) and load it:

    >>> import tempfile, os, struct
    >>> import numpy as np
    >>> from deepclust_sklearn.datasets import load_mnist
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open(os.path.join(tmp, "t10k-images-idx3-ubyte"), "wb") as f:
    ...         _ = f.write(b"\\x00\\x00\\x08\\x03" + struct.pack(">III", 2, 28, 28))
    ...         _ = f.write(np.full(2 * 28 * 28, 255, dtype=np.uint8).tobytes())
    ...     with open(os.path.join(tmp, "t10k-labels-idx1-ubyte"), "wb") as f:
    ...         _ = f.write(b"\\x00\\x00\\x08\\x01" + struct.pack(">I", 2) + bytes([3, 7]))
    ...     X, y = load_mnist(tmp, subset="test")
    >>> X.shape, X.dtype, float(X.max())
    ((2, 1, 28, 28), dtype('float32'), 1.0)
    >>> y
    array([3, 7])

    With the benchmark copy of MNIST-test (not shipped with the package,
    so this line is skipped when running the doctests):

    >>> X, y = load_mnist("../shared/data/mnist-test")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10000, 1, 28, 28)
    """
    if subset not in _MNIST_PREFIX:
        raise ValueError(f"Unknown MNIST subset {subset!r}; allowed values are {sorted(_MNIST_PREFIX)}.")
    directory, dtype = _check_folder(path, "MNIST directory", dtype)
    prefix = _MNIST_PREFIX[subset]
    images_path = _find_mnist_file(directory, prefix, "images")
    labels_path = _find_mnist_file(directory, prefix, "labels")
    X, y = _images_and_labels(images_path, labels_path, dtype, image_ndims=(3,), expected="3-d images (N, H, W)")
    return (X, y) if as_images else (X.reshape(len(X), -1), y)


def _one_idx_file(directory: Path, kind: str) -> Path:
    """The single IDX file in ``directory`` whose name contains ``kind`` ("images" or "labels")."""
    found = sorted(p for p in directory.iterdir() if p.is_file() and kind in p.name and "idx" in p.name)
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) if found else "none"
        raise FileNotFoundError(
            f"Expected exactly one IDX {kind} file (a name containing {kind!r} and 'idx') in "
            f"{str(directory)!r}, found {len(found)}: {listed}. Keep one images and one labels file "
            "per folder, or read each file with read_idx."
        )
    return found[0]


def load_idx_folder(path: PathLike, *, dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Load a folder holding one IDX images file and one IDX labels file.

    The general form of :func:`load_mnist`: any file names, grey or colour.
    It finds the one file whose name contains ``images`` and the one whose
    name contains ``labels`` (both also containing ``idx``, gzip-compressed
    or raw), so MNIST, Fashion-MNIST and CIFAR-10 stored as IDX all load
    with it. Nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        Directory holding the two files.
    dtype : numpy dtype, default=numpy.float32
        Floating dtype of ``X``.

    Returns
    -------
    X : numpy.ndarray of shape (N, C, H, W)
        Pixel values divided by 255. A 3-d images file ``(N, H, W)`` gets
        one channel; a 4-d file is taken as ``(N, C, H, W)``.
    y : numpy.ndarray of shape (N,), dtype int64
        The labels (for scoring only).

    Raises
    ------
    FileNotFoundError
        If the directory is missing, or it holds no or several images (or
        labels) files.
    ValueError
        If the images are not 3-d or 4-d, the labels not 1-d, their counts
        differ, or ``dtype`` is not floating.

    See Also
    --------
    load_mnist : MNIST's standard file names, train or test subset.
    read_idx : Reads one IDX file.

    Examples
    --------
    Write a folder with two 3x4x4 colour images and load it:

    >>> import tempfile, os, struct
    >>> import numpy as np
    >>> from deepclust_sklearn import load_idx_folder
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open(os.path.join(tmp, "test-images-idx4-ubyte"), "wb") as f:
    ...         _ = f.write(b"\\x00\\x00\\x08\\x04" + struct.pack(">IIII", 2, 3, 4, 4))
    ...         _ = f.write(np.full(2 * 3 * 4 * 4, 255, dtype=np.uint8).tobytes())
    ...     with open(os.path.join(tmp, "test-labels-idx1-ubyte"), "wb") as f:
    ...         _ = f.write(b"\\x00\\x00\\x08\\x01" + struct.pack(">I", 2) + bytes([0, 9]))
    ...     X, y = load_idx_folder(tmp)
    >>> X.shape, X.dtype, float(X.max())
    ((2, 3, 4, 4), dtype('float32'), 1.0)
    >>> y
    array([0, 9])
    """
    directory, dtype = _check_folder(path, "IDX folder", dtype)
    images_path = _one_idx_file(directory, "images")
    labels_path = _one_idx_file(directory, "labels")
    return _images_and_labels(
        images_path, labels_path, dtype, image_ndims=(3, 4), expected="images of shape (N, H, W) or (N, C, H, W)"
    )


def load_digits_images(*, return_X_y: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's 8x8 handwritten digits as single-channel images.

    Parameters
    ----------
    return_X_y : bool, default=True
        Kept for symmetry with scikit-learn loaders; only ``True`` is
        supported and the result is always the tuple ``(X, y)``.

    Returns
    -------
    X : numpy.ndarray of shape (1797, 1, 8, 8), dtype float32
        Pixel intensities scaled to ``[0, 1]`` (divided by 16).
    y : numpy.ndarray of shape (1797,), dtype int64
        Digit labels 0-9.

    Raises
    ------
    ValueError
        If ``return_X_y`` is False.

    See Also
    --------
    sklearn.datasets.load_digits : The same digits as flat rows of 64 values in ``[0, 16]``.
    load_mnist : The 28x28 MNIST digits, from local files.

    Examples
    --------
    >>> from deepclust_sklearn.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype, y.dtype
    ((1797, 1, 8, 8), dtype('float32'), dtype('int64'))
    >>> float(X.min()), float(X.max())
    (0.0, 1.0)
    """
    if not return_X_y:
        raise ValueError("load_digits_images only supports return_X_y=True.")
    data, target = load_digits(return_X_y=True)
    X = (np.asarray(data, dtype=np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = np.asarray(target, dtype=np.int64)
    return X, y


def make_image_blobs(
    n_samples: int = 200,
    n_clusters: int = 3,
    image_shape: tuple[int, ...] = (1, 8, 8),
    noise: float = 0.1,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a synthetic image clustering dataset.

    Each cluster has a random prototype image with values drawn uniformly in
    ``[0, 1]``; each sample is its cluster's prototype plus Gaussian noise of
    standard deviation ``noise``, clipped to ``[0, 1]``.

    Parameters
    ----------
    n_samples : int, default=200
        Total number of images. Must satisfy ``n_samples >= n_clusters``.
    n_clusters : int, default=3
        Number of clusters (at least 1).
    image_shape : tuple of int, default=(1, 8, 8)
        ``(C, H, W)``, or ``(H, W)`` for a single channel.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise (non-negative).
    random_state : int, RandomState instance or None, default=None
        Seed or generator, passed to :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, C, H, W), dtype float32
        Images with values in ``[0, 1]``.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        Cluster labels in ``0..n_clusters-1``; the cluster sizes differ by
        at most one. Samples are shuffled.

    Raises
    ------
    ValueError
        If a parameter is invalid.

    See Also
    --------
    sklearn.datasets.make_blobs : Gaussian blobs of vectors.
    load_digits_images : Real 8x8 digit images.

    Examples
    --------
    >>> import numpy as np
    >>> from deepclust_sklearn.datasets import make_image_blobs
    >>> X, y = make_image_blobs(n_samples=10, n_clusters=3, random_state=0)
    >>> X.shape, X.dtype
    ((10, 1, 8, 8), dtype('float32'))
    >>> np.bincount(y)
    array([4, 3, 3])
    >>> make_image_blobs(n_samples=4, n_clusters=2, image_shape=(5, 6))[0].shape
    (4, 1, 5, 6)
    """
    for name, value in (("n_samples", n_samples), ("n_clusters", n_clusters)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}.")
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}.")
    if n_samples < n_clusters:
        raise ValueError(f"n_samples must be >= n_clusters, got n_samples={n_samples} and n_clusters={n_clusters}.")
    shape = check_image_shape(image_shape)
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.") from None
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")

    rng = check_random_state(random_state)
    n_samples = int(n_samples)
    n_clusters = int(n_clusters)

    prototypes = rng.uniform(0.0, 1.0, size=(n_clusters,) + shape)
    y = np.arange(n_samples, dtype=np.int64) % n_clusters
    y = y[rng.permutation(n_samples)]
    X = prototypes[y] + noise * rng.standard_normal(size=(n_samples,) + shape)
    X = np.clip(X, 0.0, 1.0).astype(np.float32)
    return X, y


# ------------------------------------------------------------ image folders
