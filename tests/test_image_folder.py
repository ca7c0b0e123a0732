"""load_image_folder: a folder of image files as one (N, C, H, W) float32 array in [0, 1].

Every test writes its own few tiny images with Pillow into ``tmp_path``;
nothing is downloaded and nothing trains beyond one tiny epoch.
"""

from __future__ import annotations

import inspect
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from deepclust_sklearn import IICEstimator, load_image_folder
from deepclust_sklearn import image_folder as image_folder_module

Image = pytest.importorskip("PIL.Image", reason='Pillow is not installed; pip install "deepclust_sklearn[images]"')


def _save(path, pixels):
    """Write ``pixels`` (uint8 (H, W) or (H, W, 3), or uint16 (H, W)) as an image file, making folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels)).save(path)
    return path


def _grey(value, h=4, w=6):
    return np.full((h, w), value, dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    """Two labelled sub-folders, written in non-sorted order, plus files that are not images."""
    root = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for rel in ("b/2.png", "a/10.png", "b/1.png", "a/2.png", "a/deeper/0.png"):
        _save(root / rel, rng.integers(0, 256, size=(4, 6), dtype=np.uint8))
    (root / "a" / "notes.txt").write_text("not an image")
    _save(root / ".hidden" / "x.png", _grey(0))  # hidden folders are passed over
    _save(root / "a" / ".x.png", _grey(0))  # and hidden files
    return root


# ------------------------------------------------------------------ loading
def test_loads_grey_images_sorted_with_exact_values(folder):
    X, paths = load_image_folder(folder)
    rel = [p[len(str(folder)) + 1 :] for p in paths]
    # sorted by folder names, then file name (string order: "10.png" < "2.png")
    assert rel == ["a/10.png", "a/2.png", "a/deeper/0.png", "b/1.png", "b/2.png"]
    assert X.shape == (5, 1, 4, 6) and X.dtype == np.float32 and type(X) is np.ndarray
    for x, p in zip(X, paths):
        np.testing.assert_array_equal(x[0], np.asarray(Image.open(p), dtype=np.float32) / 255)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_labels_are_top_level_sub_folder_names(folder):
    X, paths, labels = load_image_folder(folder, return_labels=True)
    assert labels.tolist() == ["a", "a", "a", "b", "b"]
    assert labels.dtype.kind == "U" and paths.dtype.kind == "U" and len(X) == 5


def test_same_result_twice_and_from_a_path_object_or_str(folder):
    X1, p1 = load_image_folder(folder)
    X2, p2 = load_image_folder(str(folder))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(p1, p2)


def test_recursive_false_reads_only_top_level_files(folder):
    _save(folder / "top.png", _grey(255))
    X, paths = load_image_folder(folder, recursive=False)
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["top.png"]
    np.testing.assert_array_equal(X, np.ones((1, 1, 4, 6), dtype=np.float32))


def test_extensions_case_insensitive_with_or_without_dot(tmp_path):
    _save(tmp_path / "x.PNG", _grey(0))
    _save(tmp_path / "y.bmp", _grey(255))
    assert [p[-5:] for p in load_image_folder(tmp_path, extensions="png")[1]] == ["x.PNG"]
    assert len(load_image_folder(tmp_path, extensions=[".BMP", "png"])[1]) == 2
    assert len(load_image_folder(tmp_path)[1]) == 2  # both among the defaults


def test_rgb_channels_in_order_and_grey_is_pillow_luma(tmp_path):
    pixel = np.array([255, 0, 128], dtype=np.uint8)
    _save(tmp_path / "c.png", np.tile(pixel, (3, 5, 1)))
    X, _ = load_image_folder(tmp_path, color_mode="rgb")
    assert X.shape == (1, 3, 3, 5)
    np.testing.assert_allclose(X[0, :, 0, 0], pixel / 255, rtol=1e-6)
    grey = load_image_folder(tmp_path, color_mode="gray")[0]  # "gray" is an alias of "grey"
    luma = np.asarray(Image.open(tmp_path / "c.png").convert("L"), dtype=np.float32) / 255
    np.testing.assert_array_equal(grey[0, 0], luma)
    # grey images repeat over the three channels
    _save(tmp_path / "g.png", _grey(51, 3, 5))
    X, paths = load_image_folder(tmp_path, color_mode="rgb")
    np.testing.assert_allclose(X[1], np.full((3, 3, 5), 0.2), rtol=1e-6)


def test_image_size_resizes_bilinear_int_or_pair(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, size=(12, 16), dtype=np.uint8)
    _save(tmp_path / "a.png", pixels)
    _save(tmp_path / "b.png", pixels[:8, :8])  # another size: fine once resized
    X, _ = load_image_folder(tmp_path, image_size=(6, 4))
    assert X.shape == (2, 1, 6, 4)
    expected = np.asarray(Image.fromarray(pixels).resize((4, 6), Image.Resampling.BILINEAR), dtype=np.float32) / 255
    np.testing.assert_array_equal(X[0, 0], expected)
    assert load_image_folder(tmp_path, image_size=5)[0].shape == (2, 1, 5, 5)


def test_16_bit_images_scaled_by_65535(tmp_path):
    values = np.array([[0, 65535, 32768]], dtype=np.uint16)
    _save(tmp_path / "deep.png", values)
    X, _ = load_image_folder(tmp_path)
    np.testing.assert_allclose(X[0, 0], values / 65535, rtol=1e-6)
    X, _ = load_image_folder(tmp_path, image_size=(2, 6), color_mode="rgb")
    assert X.shape == (1, 3, 2, 6) and 0.0 <= X.min() and X.max() <= 1.0


def test_palette_and_transparent_images_are_converted(tmp_path):
    Image.new("P", (6, 4), color=3).save(tmp_path / "p.png")
    Image.new("RGBA", (6, 4), color=(255, 255, 255, 0)).save(tmp_path / "t.png")
    X, _ = load_image_folder(tmp_path, color_mode="rgb")
    assert X.shape == (2, 3, 4, 6)
    np.testing.assert_array_equal(X[1], np.ones((3, 4, 6), dtype=np.float32))  # alpha dropped


def test_exif_orientation_applied_and_first_frame_of_animations(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("L", (6, 4), color=255).save(tmp_path / "photo.jpg", exif=exif)
    X, _ = load_image_folder(tmp_path)
    assert X.shape == (1, 1, 6, 4)  # 6 high, 4 wide, as a viewer shows it
    frames = [Image.new("L", (6, 4), color=c) for c in (0, 255)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    X, paths = load_image_folder(tmp_path, extensions="gif")
    np.testing.assert_array_equal(X, np.zeros((1, 1, 4, 6), dtype=np.float32))


# ---------------------------------------------------------------- out= / memmap
def test_out_path_creates_npy_memmap_equal_to_in_memory(folder, tmp_path):
    X, paths = load_image_folder(folder)
    target = tmp_path / "X.npy"
    M, mpaths = load_image_folder(folder, out=target)
    assert isinstance(M, np.memmap) and str(M.filename) == str(target.resolve())
    np.testing.assert_array_equal(M, X)
    np.testing.assert_array_equal(mpaths, paths)
    reopened = np.load(target, mmap_mode="r")
    assert reopened.dtype == np.float32
    np.testing.assert_array_equal(reopened, X)


def test_out_array_is_filled_and_returned_not_copied(folder, tmp_path):
    target = tmp_path / "pre.npy"
    np.lib.format.open_memmap(target, mode="w+", dtype=np.float32, shape=(5, 1, 4, 6))
    given = np.load(target, mmap_mode="r+")
    X, _ = load_image_folder(folder, out=given)
    assert X is given
    np.testing.assert_array_equal(np.load(target), load_image_folder(folder)[0])


def test_estimator_trains_from_the_memmap(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(16):
        _save(
            tmp_path / "imgs" / f"{i:02d}.png", _grey(0 if i % 2 else 255, 8, 8) | rng.integers(0, 40, (8, 8), np.uint8)
        )
    X, _ = load_image_folder(tmp_path / "imgs", out=tmp_path / "X.npy")
    est = IICEstimator(n_clusters=2, overcluster=None, n_subheads=1, repeats=1, max_epochs=1, batch_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert est.set_params(random_state=0).fit(X).predict(X).shape == (16,)


def test_out_existing_file_is_not_overwritten(folder, tmp_path):
    target = tmp_path / "X.npy"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match=r"already exists.*mmap_mode='r\+'"):
        load_image_folder(folder, out=target)
    assert target.read_bytes() == b"keep me"


def test_out_folder_missing(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="The folder of out=.* does not exist"):
        load_image_folder(folder, out=tmp_path / "nope" / "X.npy")


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((5, 1, 4, 6), dtype=np.float64), r"4-d float32 array.*dtype float64"),
        (np.zeros((5, 24), dtype=np.float32), r"4-d float32 array.*shape \(5, 24\)"),
        (
            np.zeros((4, 1, 4, 6), dtype=np.float32),
            r"out has shape \(4, 1, 4, 6\), but the images need shape \(5, 1, 4, 6\)",
        ),
    ],
)
def test_out_array_of_wrong_kind(folder, array, match):
    with pytest.raises(ValueError, match=match):
        load_image_folder(folder, out=array)
    assert not array.any()


def test_out_read_only(folder):
    array = np.zeros((5, 1, 4, 6), dtype=np.float32)
    array.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        load_image_folder(folder, out=array)


def test_bad_file_leaves_no_out_file(folder, tmp_path):
    (folder / "a" / "broken.png").write_bytes(b"not a png at all")
    target = tmp_path / "X.npy"
    with pytest.raises(ValueError, match="could not be read"):
        load_image_folder(folder, out=target)
    assert not target.exists()


def test_file_failing_in_second_pass_removes_created_out(folder, tmp_path, monkeypatch):
    real, calls = image_folder_module._read_image, []

    def flaky(*args):
        calls.append(args[2])
        if len(calls) == 7:  # 5 files in pass 1, then the 2nd of pass 2
            raise OSError("disk went away")
        return real(*args)

    monkeypatch.setattr(image_folder_module, "_read_image", flaky)
    target = tmp_path / "X.npy"
    with pytest.raises(ValueError, match=r"could be read in the first pass but not in the second.*disk went away"):
        load_image_folder(folder, out=target)
    assert not target.exists()


# ---------------------------------------------------- unreadable and mixed files
def test_unreadable_files_listed_in_error(folder):
    bad = [folder / "a" / "broken.png", folder / "b" / "empty.jpg"]
    bad[0].write_bytes(b"not a png at all")
    bad[1].write_bytes(b"")
    with pytest.raises(ValueError, match="2 file\\(s\\) could not be read as images") as info:
        load_image_folder(folder)
    for path in bad:
        assert str(path) in str(info.value)
    assert "on_error='skip'" in str(info.value) and "nothing was loaded" in str(info.value)


def test_truncated_file_is_unreadable(tmp_path):
    full = _save(tmp_path / "full.png", np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8))
    (tmp_path / "cut.png").write_bytes(full.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"cut\.png"):
        load_image_folder(tmp_path)


def test_on_error_skip_warns_with_count_and_loads_the_rest(folder):
    (folder / "a" / "broken.png").write_bytes(b"not a png at all")
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\) .*\(1 unreadable\) and loaded the other 5") as record:
        X, paths, labels = load_image_folder(folder, on_error="skip", return_labels=True)
    assert record[0].filename == __file__  # points at the caller's line
    assert X.shape == (5, 1, 4, 6) and len(paths) == len(labels) == 5
    assert not any("broken" in p for p in paths)


def test_mixed_sizes_error_names_sizes_files_and_fix(folder):
    odd = _save(folder / "b" / "odd.png", _grey(0, 5, 5))
    with pytest.raises(
        ValueError, match=r"do not all have the same size \(H x W: 4x6 for 5, 5x5 for 1 files\)"
    ) as info:
        load_image_folder(folder)
    message = str(info.value)
    assert str(odd) in message and "5x5 (H x W)" in message and "image_size=(height, width)" in message


def test_mixed_sizes_skip_keeps_the_most_common_size(folder):
    _save(folder / "b" / "odd.png", _grey(0, 5, 5))
    with pytest.warns(UserWarning, match=r"1 not of the most common size 4x6"):
        X, paths = load_image_folder(folder, on_error="skip")
    assert X.shape == (5, 1, 4, 6) and not any("odd" in p for p in paths)


def test_skip_with_nothing_readable(tmp_path):
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"None of the 1 image files .* could be read"):
        load_image_folder(tmp_path, on_error="skip")


def test_16_bit_out_of_range_and_float_images_are_unreadable(tmp_path):
    Image.fromarray(np.full((2, 2), 70000, dtype=np.int32)).save(tmp_path / "wide.tif")
    Image.fromarray(np.full((2, 2), 0.5, dtype=np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(ValueError, match=r"outside 0\.\.65535[\s\S]*mode 'F'|mode 'F'[\s\S]*outside 0\.\.65535"):
        load_image_folder(tmp_path)


# ------------------------------------------------------------- folder errors
def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="Image folder not found: .*nope"):
        load_image_folder(tmp_path / "nope")


def test_path_is_a_file(tmp_path):
    file = _save(tmp_path / "a.png", _grey(0))
    with pytest.raises(NotADirectoryError, match="must be a folder of images, but .*a.png' is a file"):
        load_image_folder(file)


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match=r"No image files \(\.bmp, .*\) found in .*recursive=True"):
        load_image_folder(tmp_path)


def test_no_images_hints_other_extensions_and_sub_folders(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    _save(tmp_path / "sub" / "x.png", _grey(0))
    with pytest.raises(ValueError, match=r"other files \(1 \.txt\); pass extensions=.*pass recursive=True"):
        load_image_folder(tmp_path, recursive=False)


def test_labels_need_every_image_in_a_sub_folder(folder):
    _save(folder / "loose.png", _grey(0))
    with pytest.raises(ValueError, match=r"1 image file\(s\) lie directly in it.*return_labels=False[\s\S]*loose\.png"):
        load_image_folder(folder, return_labels=True)


def test_labels_need_recursive(folder):
    with pytest.raises(ValueError, match="return_labels=True .* needs recursive=True"):
        load_image_folder(folder, return_labels=True, recursive=False)


def test_missing_pillow_names_the_extra(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # "import PIL" now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "deepclust_sklearn\[images\]"'):
        load_image_folder(folder)


def test_pillow_is_imported_only_inside_the_loader():
    """Static check (a fresh interpreter importing torch would take ~10 s on busy cores)."""
    package = Path(image_folder_module.__file__).parent
    imports = {
        f"{py.name}:{i}": line.strip()
        for py in sorted(package.glob("*.py"))
        for i, line in enumerate(py.read_text().splitlines(), 1)
        if re.match(r"\s*(from PIL[ .]|import PIL)", line)
    }
    assert len(imports) == 1 and list(imports.values()) == ["from PIL import Image, ImageOps"], imports
    source = inspect.getsource(image_folder_module._import_pillow)
    assert "from PIL import Image, ImageOps" in source


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"color_mode": "RGB"}, r"The 'color_mode' parameter of load_image_folder must be a str among .*Got 'RGB'"),
        ({"on_error": "ignore"}, r"The 'on_error' parameter of load_image_folder must be a str among"),
        ({"recursive": "yes"}, r"The 'recursive' parameter of load_image_folder must be an instance of 'bool'"),
        ({"return_labels": 1}, r"The 'return_labels' parameter of load_image_folder must be an instance of 'bool'"),
        ({"image_size": 0}, r"The 'image_size' parameter of load_image_folder must be an int in the range \[1, inf\)"),
        ({"image_size": 2.5}, r"The 'image_size' parameter"),
        ({"image_size": True}, r"image_size must be None .*a pair \(height, width\) of positive ints; got True"),
        ({"image_size": (0, 3)}, r"image_size must be .*; got \(0, 3\)"),
        ({"image_size": (2, 3, 4)}, r"image_size must be .*; got \(2, 3, 4\)"),
        ({"image_size": (2.0, 3)}, r"image_size must be .*; got \(2\.0, 3\)"),
        ({"extensions": []}, r"extensions is empty; pass endings such as"),
        ({"extensions": [""]}, r"extensions must be file name endings such as '\.png' or 'png'; got ''"),
        ({"extensions": ["*.png"]}, r"extensions must be file name endings .*got '\*\.png'"),
        ({"extensions": [3]}, r"extensions must be file name endings .*got 3"),
        ({"extensions": 3}, r"The 'extensions' parameter of load_image_folder must be"),
        ({"out": 3}, r"The 'out' parameter of load_image_folder must be"),
    ],
)
def test_bad_parameters(folder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_image_folder(folder, **kwargs)


def test_bad_path_type():
    with pytest.raises(TypeError, match=r"The 'path' parameter of load_image_folder must be .*Got 3 instead"):
        load_image_folder(3)
