"""Images from a folder of files (PNG, JPEG, ...) as one array ready for any estimator.

:func:`load_image_folder` reads every image under a directory with Pillow
(the ``images`` extra, imported only when the function is called), resizes
and converts them as asked, and returns ``(X, paths)`` or, with sub-folders,
``(X, paths, folder_labels)``; ``out=`` writes the images to a
``numpy.memmap`` for folders larger than memory. Nothing is downloaded.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["load_image_folder"]

PathLike = str | os.PathLike

# File name endings read by default, compared case-insensitively.
_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
# Pillow modes of 16-bit (or wider integer) grey images, scaled by 1/65535.
_WIDE_INT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# How many offending files an error or warning names before "... and N more".
_MAX_LISTED = 10


def _import_pillow():
    """Pillow's ``Image`` and ``ImageOps``, or an ImportError naming the extra."""
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise ImportError(
            "load_image_folder needs Pillow to read image files: "
            'pip install "deepclust_sklearn[images]" (or pip install Pillow).'
        ) from exc
    return Image, ImageOps


def _check_image_size(image_size) -> tuple[int, int] | None:
    """``None`` or ``(height, width)`` from an int or a pair of ints."""
    if image_size is None:
        return None
    msg = (
        "image_size must be None (keep the files' size), a positive int (square images) "
        f"or a pair (height, width) of positive ints; got {image_size!r}."
    )
    if isinstance(image_size, (bool, np.bool_)):
        raise ValueError(msg)
    dims = (image_size, image_size) if isinstance(image_size, Integral) else tuple(image_size)
    if len(dims) != 2:
        raise ValueError(msg)
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, Integral) or d < 1:
            raise ValueError(msg)
    return int(dims[0]), int(dims[1])


def _check_extensions(extensions) -> tuple[str, ...]:
    """Lower-case endings with a leading dot, from None, one string or an iterable of strings."""
    if extensions is None:
        return _IMAGE_EXTENSIONS
    items = [extensions] if isinstance(extensions, str) else list(extensions)
    if not items:
        raise ValueError(
            f"extensions is empty; pass endings such as ('.png', '.jpg'), or None for {_IMAGE_EXTENSIONS}."
        )
    normalized = []
    for ext in items:
        if not isinstance(ext, str) or not ext.strip(".").strip() or any(c in ext for c in "/\\*?"):
            raise ValueError(
                f"extensions must be file name endings such as '.png' or 'png'; got {ext!r} in {extensions!r}."
            )
        normalized.append("." + ext.strip().lstrip(".").lower())
    return tuple(sorted(set(normalized)))


def _list_image_files(root: Path, recursive: bool, extensions: tuple[str, ...]):
    """Image files under ``root`` sorted by their relative path, plus what was passed over.

    Returns ``(files, unlisted, other_suffixes, has_subfolders)``: ``unlisted``
    holds ``(folder, reason)`` of the folders that could not be listed.
    Hidden files and folders (name starting with ``.``) are passed over.
    """
    files, unlisted = [], []
    other_suffixes: Counter = Counter()
    has_subfolders = False

    def on_error(exc: OSError) -> None:
        unlisted.append((Path(exc.filename or root), f"could not list this folder ({type(exc).__name__}: {exc})"))

    walk = os.walk(root, onerror=on_error)
    for dirpath, dirnames, filenames in walk:
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if not recursive:
            has_subfolders = bool(dirnames)
            dirnames[:] = []
        for name in filenames:
            if name.startswith("."):
                continue
            if name.lower().endswith(extensions):
                files.append(Path(dirpath, name))
            else:
                other_suffixes[Path(name).suffix.lower() or "(no extension)"] += 1
    files.sort(key=lambda f: f.relative_to(root).parts)
    return files, unlisted, other_suffixes, has_subfolders


def _read_image(Image, ImageOps, file: Path, color_mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """Decode one file into a float32 ``(C, H, W)`` array in ``[0, 1]``; raise on any problem."""
    with Image.open(file) as opened:
        opened.load()  # decode now: a truncated file fails here, not later
        img = ImageOps.exif_transpose(opened)  # camera orientation, as viewers show it
    channels = 3 if color_mode == "rgb" else 1
    if img.mode in _WIDE_INT_MODES:
        values = np.asarray(img, dtype=np.float32)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ValueError(
                f"integer pixel values outside 0..65535 (Pillow mode {img.mode!r}) cannot be scaled to [0, 1]"
            )
        img = Image.fromarray(values / np.float32(65535))  # mode "F", resized in floating point
        if size is not None:
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        grey = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
        return np.repeat(grey[None], channels, axis=0)
    if img.mode == "F":
        raise ValueError("32-bit float pixels (Pillow mode 'F') have no fixed range to scale to [0, 1]")
    img = img.convert("RGB" if channels == 3 else "L")
    if size is not None:
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    pixels = np.asarray(img, dtype=np.float32) / np.float32(255)
    return pixels.transpose(2, 0, 1) if channels == 3 else pixels[None]


def _listing(problems: list[tuple[Path, str]]) -> str:
    """Up to ``_MAX_LISTED`` lines ``  path: reason``, then a count of the rest."""
    lines = [f"  {str(f)}: {reason}" for f, reason in problems[:_MAX_LISTED]]
    if len(problems) > _MAX_LISTED:
        lines.append(f"  ... and {len(problems) - _MAX_LISTED} more")
    return "\n".join(lines)


def _check_out(out) -> None:
    """Check ``out`` before any file is read (its shape is checked once the images are known)."""
    if out is None:
        return
    if isinstance(out, np.ndarray):
        if out.dtype != np.float32 or out.ndim != 4:
            raise ValueError(
                f"out must be a 4-d float32 array (n_images, C, H, W); got shape {out.shape} and dtype "
                f"{out.dtype}. Pass a path instead to have a .npy file created with the right shape."
            )
        if not out.flags.writeable:
            raise ValueError("out is read-only; open it writable, e.g. np.load(path, mmap_mode='r+').")
        return
    target = Path(out)
    if target.exists():
        raise FileExistsError(
            f"out={str(target)!r} already exists and load_image_folder does not overwrite files. Remove it, "
            f"pass another path, or pass the open array itself: out=np.load({str(target)!r}, mmap_mode='r+')."
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(f"The folder of out={str(target)!r} does not exist; create it first.")


@validate_params(
    {
        "path": [str, os.PathLike],
        "image_size": [Interval(Integral, 1, None, closed="left"), tuple, list, None],
        "color_mode": [StrOptions({"grey", "gray", "rgb"})],
        "recursive": ["boolean"],
        "extensions": [str, list, tuple, set, frozenset, None],
        "return_labels": ["boolean"],
        "on_error": [StrOptions({"raise", "skip"})],
        "out": [str, os.PathLike, np.ndarray, None],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    path: PathLike,
    *,
    image_size: int | tuple[int, int] | None = None,
    color_mode: str = "grey",
    recursive: bool = True,
    extensions=None,
    return_labels: bool = False,
    on_error: str = "raise",
    out: PathLike | np.ndarray | None = None,
):
    """Load a folder of image files as one array of images, ready for any estimator.

    Files are found by their extension, read with Pillow (the ``images``
    extra: ``pip install "deepclust_sklearn[images]"``), converted to grey
    or RGB, optionally resized, and stacked in the order of their sorted
    paths. Every file is checked before anything is returned: a file that
    cannot be read, or whose size differs from the others, either stops the
    load with an error that lists the offending paths (``on_error="raise"``)
    or is skipped with a warning that counts it (``on_error="skip"``).

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the images.
    image_size : int, tuple of (int, int) or None, default=None
        Size ``(height, width)`` every image is resized to; an int gives
        square images. Resizing uses Pillow's bilinear filter (antialiased
        when shrinking) and does not crop, so the aspect ratio changes when
        it differs. ``None`` keeps the files' size, which must then be the
        same for all of them.
    color_mode : {"grey", "gray", "rgb"}, default="grey"
        ``"grey"`` (or ``"gray"``) gives one channel (Pillow's ``"L"``
        conversion), ``"rgb"`` three. Transparency is dropped; palette, CMYK
        and other modes are converted.
    recursive : bool, default=True
        Read the images in every sub-folder too, at any depth. ``False``
        reads only the files directly in ``path``.
    extensions : str, list of str or None, default=None
        File name endings to read, case-insensitive, with or without the
        dot (``"png"`` or ``[".jpg", ".jpeg"]``). ``None`` reads ``.bmp``,
        ``.gif``, ``.jpeg``, ``.jpg``, ``.png``, ``.tif``, ``.tiff`` and
        ``.webp``. Other files, and hidden files and folders (name starting
        with ``.``), are passed over.
    return_labels : bool, default=False
        Also return, for each image, the name of the sub-folder of ``path``
        it lies in (the top-level one for deeper files), e.g. a class name
        for scoring a clustering. Needs ``recursive=True`` and every image
        inside a sub-folder.
    on_error : {"raise", "skip"}, default="raise"
        What to do with files that cannot be read as images, and, when
        ``image_size=None``, with files whose size differs from the most
        common one: ``"raise"`` a ``ValueError`` listing them, or ``"skip"``
        them with a ``UserWarning`` that counts them.
    out : str, os.PathLike, numpy.ndarray or None, default=None
        Where to write the images, for folders larger than memory. A path
        creates a float32 ``.npy`` file there and returns it as a
        ``numpy.memmap`` (reopen it later with ``np.load(path,
        mmap_mode="r")``); an existing file is never overwritten. An array
        (e.g. an ``np.memmap`` opened with ``mode="r+"``) must be writable,
        float32 and of the images' final shape; it is filled and returned.
        ``None`` returns an array in memory.

    Returns
    -------
    X : numpy.ndarray of shape (n_images, C, H, W), dtype float32
        Pixel values in ``[0, 1]``: 8-bit images divided by 255, 16-bit
        ones by 65535. ``C`` is 1 for ``"grey"`` and 3 for ``"rgb"``. The
        ``numpy.memmap`` given or created by ``out`` when it is not None.
    paths : numpy.ndarray of shape (n_images,), dtype str
        File of each image, ``path`` joined with its path inside the folder,
        sorted by the folder names and file name.
    labels : numpy.ndarray of shape (n_images,), dtype str
        Sub-folder name of each image; only returned when
        ``return_labels=True``.

    Raises
    ------
    ImportError
        If Pillow is not installed.
    FileNotFoundError
        If ``path``, or the folder of an ``out`` path, does not exist.
    NotADirectoryError
        If ``path`` is a file.
    FileExistsError
        If ``out`` is a path that already exists.
    ValueError
        If a parameter is invalid, no image files are found, an image lies
        directly in ``path`` with ``return_labels=True``, ``out`` has the
        wrong shape or dtype, or (with ``on_error="raise"``) a file cannot
        be read or its size differs from the others.

    Warns
    -----
    UserWarning
        With ``on_error="skip"``, when files are skipped; the warning counts
        them and names the first few.

    See Also
    --------
    load_digits_images : scikit-learn's 8x8 digits, already as an array.
    load_mnist : MNIST from local IDX files.

    Notes
    -----
    Files are decoded (including EXIF orientation and the first frame of
    animated or multi-page files) and checked in a first pass, before
    ``X`` is allocated or ``out`` created, so that an error leaves nothing
    half-written. In memory the decoded images are then moved into ``X``;
    with ``out`` only sizes are kept and the files are decoded a second
    time while writing, so memory stays at one image whatever the folder's
    size. The estimators train from a ``numpy.memmap`` without copying it.

    Examples
    --------
    Two sub-folders of two 4x6 grey PNGs each:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from deepclust_sklearn import load_image_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for label, value in (("dark", 0), ("light", 255)):
    ...     (Path(tmp.name) / label).mkdir()
    ...     for i in range(2):
    ...         Image.new("L", (6, 4), color=value).save(Path(tmp.name, label, f"{i}.png"))
    >>> X, paths, labels = load_image_folder(tmp.name, return_labels=True)
    >>> X.shape, X.dtype
    ((4, 1, 4, 6), dtype('float32'))
    >>> [Path(p).relative_to(tmp.name).as_posix() for p in paths]
    ['dark/0.png', 'dark/1.png', 'light/0.png', 'light/1.png']
    >>> labels
    array(['dark', 'dark', 'light', 'light'], dtype='<U5')
    >>> X.mean(axis=(1, 2, 3))
    array([0., 0., 1., 1.], dtype=float32)

    Resized to 8x8 RGB and written to a memory-mapped ``.npy`` file:

    >>> X, paths = load_image_folder(tmp.name, image_size=8, color_mode="rgb",
    ...                              out=Path(tmp.name, "images.npy"))
    >>> type(X).__name__, X.shape
    ('memmap', (4, 3, 8, 8))
    >>> del X
    >>> tmp.cleanup()
    """
    size = _check_image_size(image_size)
    endings = _check_extensions(extensions)
    if return_labels and not recursive:
        raise ValueError(
            "return_labels=True takes each image's label from its sub-folder, so it needs recursive=True "
            "(recursive=False reads only the files directly in path, which have no sub-folder)."
        )
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"Image folder not found: {str(root)!r}.")
    if not root.is_dir():
        raise NotADirectoryError(f"path must be a folder of images, but {str(root)!r} is a file.")
    _check_out(out)
    Image, ImageOps = _import_pillow()

    files, unlisted, other_suffixes, has_subfolders = _list_image_files(root, recursive, endings)
    if not files:
        hints = []
        if other_suffixes:
            seen = ", ".join(f"{n} {s}" for s, n in other_suffixes.most_common(5))
            hints.append(f" It holds other files ({seen}); pass extensions= to read them.")
        if has_subfolders:
            hints.append(" It has sub-folders; pass recursive=True to read them.")
        if unlisted:
            hints.append(f" Some folders could not be listed:\n{_listing(unlisted)}")
        raise ValueError(
            f"No image files ({', '.join(endings)}) found in {str(root)!r} (recursive={recursive}).{''.join(hints)}"
        )
    if return_labels:
        loose = [(f, "lies directly in path") for f in files if len(f.relative_to(root).parts) == 1]
        if loose:
            raise ValueError(
                f"return_labels=True takes each image's label from the name of its sub-folder of {str(root)!r}, "
                f"but {len(loose)} image file(s) lie directly in it. Move them into a sub-folder, "
                f"or pass return_labels=False.\n{_listing(loose)}"
            )

    # Pass 1: decode and check every file before anything is allocated or written.
    keep_decoded = out is None
    decoded, shapes, readable, unreadable = [], [], [], list(unlisted)
    for file in files:
        try:
            image = _read_image(Image, ImageOps, file, color_mode, size)
        except MemoryError:
            raise
        except Exception as exc:  # Pillow raises many types for broken files
            unreadable.append((file, f"{type(exc).__name__}: {exc}"))
            continue
        readable.append(file)
        shapes.append(image.shape)
        if keep_decoded:
            decoded.append(image)

    # The most common size wins (ties: the first in path order); only with image_size=None can sizes differ.
    size_counts = Counter(shape[1:] for shape in shapes)
    common = size_counts.most_common(1)[0][0] if size_counts else None
    keep = [shape[1:] == common for shape in shapes]
    mismatched = [(f, f"{s[1]}x{s[2]} (H x W)") for f, s, k in zip(readable, shapes, keep) if not k]
    n_problems = len(unreadable) + len(mismatched)
    if n_problems and on_error == "raise":
        parts = [f"Could not load the images in {str(root)!r}; nothing was loaded."]
        if unreadable:
            parts.append(f"{len(unreadable)} file(s) could not be read as images:\n{_listing(unreadable)}")
        if mismatched:
            sizes_seen = ", ".join(f"{h}x{w} for {n}" for (h, w), n in size_counts.most_common(5))
            parts.append(
                f"The images do not all have the same size (H x W: {sizes_seen} files); "
                f"{len(mismatched)} file(s) differ from the most common size {common[0]}x{common[1]}:\n"
                f"{_listing(mismatched)}\nPass image_size=(height, width) to resize them all."
            )
        parts.append("Or pass on_error='skip' to load the rest and skip these with a warning.")
        raise ValueError("\n".join(parts))
    if not any(keep):
        raise ValueError(
            f"None of the {len(files)} image files in {str(root)!r} could be read:\n{_listing(unreadable)}"
        )
    n_kept = sum(keep)
    if n_problems:
        why = [f"{len(unreadable)} unreadable"] if unreadable else []
        why += [f"{len(mismatched)} not of the most common size {common[0]}x{common[1]}"] if mismatched else []
        warnings.warn(
            f"load_image_folder skipped {n_problems} file(s) in {str(root)!r} ({', '.join(why)}) "
            f"and loaded the other {n_kept}:\n{_listing(unreadable + mismatched)}",
            UserWarning,
            stacklevel=3,  # the caller of validate_params' wrapper
        )

    kept = [f for f, k in zip(readable, keep) if k]
    shape = (n_kept, 3 if color_mode == "rgb" else 1) + common
    given = out if isinstance(out, np.ndarray) else None
    if given is not None and given.shape != shape:
        raise ValueError(
            f"out has shape {given.shape}, but the images need shape {shape}; nothing was written. "
            "Pass a path instead to have a .npy file created with the right shape."
        )
    if keep_decoded:
        X = np.empty(shape, dtype=np.float32)
        i = 0
        for j, k in enumerate(keep):
            if k:
                X[i] = decoded[j]
                i += 1
            decoded[j] = None  # free each decoded image once it is copied
    else:
        # Pass 2: decode again straight into the memmap (or the array given).
        X = given if given is not None else np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=shape)
        try:
            for i, file in enumerate(kept):
                try:
                    image = _read_image(Image, ImageOps, file, color_mode, size)
                except MemoryError:
                    raise
                except Exception as exc:
                    raise ValueError(
                        f"{str(file)!r} could be read in the first pass but not in the second "
                        f"({type(exc).__name__}: {exc}); did it change while loading?"
                        + ("" if given is None else f" The array passed as out holds only the first {i} images.")
                    ) from exc
                if image.shape != shape[1:]:
                    raise ValueError(f"{str(file)!r} changed size while loading: {image.shape} != {shape[1:]}.")
                X[i] = image
        except BaseException:
            if given is None:  # remove the half-written file this call created
                del X
                Path(out).unlink(missing_ok=True)
            raise
        if isinstance(X, np.memmap):
            X.flush()

    paths = np.asarray([str(f) for f in kept], dtype=str)
    if not return_labels:
        return X, paths
    labels = np.asarray([f.relative_to(root).parts[0] for f in kept], dtype=str)
    return X, paths, labels
