"""Input checks shared by the package's modules.

This module imports nothing else from the package, so any module (the
estimator base, the faiss k-means, the datasets, the plots) can use it
without importing the others. Each error is worded here once.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = ["as_array", "check_float32_range", "check_image_shape", "validate_numbers"]


def _sequences_error(exc: Exception, subject: str = "X") -> ValueError:
    """The error for an ``X`` whose entries are sequences, or whose rows differ in length."""
    return ValueError(
        f"{subject} must hold one number per entry, but some entries are sequences (lists or arrays) "
        f"or its rows differ in length: {exc}"
    )


def as_array(X) -> np.ndarray:
    """``X`` as a numpy array (``X`` itself when it is one), converted once.

    Raises
    ------
    ValueError
        If numpy cannot convert ``X``, e.g. a list of rows of different lengths.
    """
    try:
        return X if isinstance(X, np.ndarray) else np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise _sequences_error(exc, "X could not be converted to a numeric array; it") from exc


def validate_numbers(estimator, X, **kwargs) -> np.ndarray:
    """``validate_data``, with a clear error when X holds sequences where numbers belong.

    numpy's own message for an object array with a list inside, or for rows
    of different lengths, is "setting an array element with a sequence".
    """
    try:
        return validate_data(estimator, X, **kwargs)
    except ValueError as exc:
        if "array element with a sequence" not in str(exc):
            raise
        raise _sequences_error(exc) from exc


def check_float32_range(X: np.ndarray, tail: str) -> None:
    """Reject float64 ``X`` with values beyond float32's range; ``tail`` ends the message with the fix."""
    if X.dtype == np.float64 and X.size and max(-X.min(), X.max()) > np.finfo(np.float32).max:
        raise ValueError("X contains values too large for float32 (|x| > 3.4e38)" + tail)


def check_image_shape(
    image_shape, *, n_features: int | None = None, sample_shape: tuple[int, ...] | None = None
) -> tuple[int, int, int]:
    """``image_shape`` as ``(C, H, W)``; ``(H, W)`` means one channel.

    Parameters
    ----------
    image_shape : tuple or list of int
        ``(H, W)`` or ``(C, H, W)``, positive integers.
    n_features : int or None, default=None
        When given, the number of features of flattened images, which must
        equal ``C * H * W``.
    sample_shape : tuple of int or None, default=None
        When given, the ``(C, H, W)`` shape of images given as such, which
        ``image_shape`` must equal.

    Returns
    -------
    shape : tuple of (int, int, int)
        ``(C, H, W)``.

    Raises
    ------
    ValueError
        If ``image_shape`` is not 2 or 3 positive integers, or disagrees with
        ``n_features`` or ``sample_shape``.
    """
    message = f"image_shape must be (H, W) or (C, H, W) with positive sizes; got {image_shape!r}."
    try:
        sizes = tuple(image_shape)
    except TypeError:
        raise ValueError(message) from None
    if len(sizes) not in (2, 3) or any(
        isinstance(s, (bool, np.bool_)) or not isinstance(s, Integral) or s < 1 for s in sizes
    ):
        raise ValueError(message)
    shape = tuple(int(s) for s in sizes)
    shape = (1, *shape) if len(shape) == 2 else shape
    size = int(np.prod(shape))
    if n_features is not None and size != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {size} values but X has {n_features} features; "
            "flattened images must have C*H*W features."
        )
    if sample_shape is not None and tuple(sample_shape) != shape:
        raise ValueError(f"X has images of shape {tuple(sample_shape)} but image_shape={image_shape!r}.")
    return shape  # type: ignore[return-value]
