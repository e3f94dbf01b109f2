"""A folder of PNG/JPEG images as a Dataset: uint8 [N, C, H, W] with 256 levels.

Images are the .png, .jpg or .jpeg files below the folder (others, and hidden ones, skipped
with a warning), decoded as PNG or JPEG only, EXIF orientation applied. C = 1 when every image
is grey (16-bit grey keeps its top 8 bits), else RGB; alpha is dropped. With `image_size=S`
each is centre-cropped square and resized to S x S (Lanczos); without, sizes must agree.
Labels: when every image lies in a first-level sub-folder, the index of its name in the sorted
names. Splits: `train/` and `test/` when both exist (names sorted over both), else a fixed 10%
held out (numpy default_rng(0)). The dataset is named after the folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import VaekitError
from .dataset import Dataset

EXTENSIONS = (".png", ".jpg", ".jpeg")
GREY_MODES = {"1", "L", "LA", "La"}
WIDE_GREY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}   # 16-bit grey: keep the top 8 bits


def load_image_folder(path: str | Path, image_size: int | None = None) -> Dataset:
    root = Path(path)
    if not root.exists():
        raise VaekitError(f"{root}: no such folder")
    if not root.is_dir():
        raise VaekitError(f"{root}: not a folder")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < 1):
        raise VaekitError(f"{root}: image size {image_size!r} is not a positive integer")
    images, skipped = _scan(root)
    _warn(root, f"skipped {len(skipped)} file(s) that are not .png/.jpg/.jpeg images", skipped)
    if not images:
        raise VaekitError(f"{root}: no .png/.jpg/.jpeg images found")
    name = root.resolve().name
    if (root / "train").is_dir() and (root / "test").is_dir():
        return _given_splits(root, name, images, image_size)
    return _held_out_split(root, name, images, image_size)


def _scan(root: Path) -> tuple[list[Path], list[Path]]:
    """Image files and skipped files below root, each sorted (a fixed order)."""
    try:
        files = sorted(p for p in root.rglob("*") if p.is_file())
    except OSError as e:
        raise VaekitError(f"{root}: cannot be listed ({e})") from None
    images, skipped = [], []
    for f in files:
        hidden = any(part.startswith(".") for part in f.relative_to(root).parts)
        is_image = f.suffix.lower() in EXTENSIONS and not hidden
        (images if is_image else skipped).append(f)
    return images, skipped


def _warn(root: Path, what: str, files: list[Path]) -> None:
    if files:
        print(f"vaekit: {root}: {what} (e.g. {files[0].relative_to(root)})", file=sys.stderr)


def _given_splits(root: Path, name: str, images: list[Path], size: int | None) -> Dataset:
    """The train/ and test/ sub-folders are the splits; labels from their own sub-folders."""
    top = [f.relative_to(root).parts[0] for f in images]
    train = [f for f, t in zip(images, top) if t == "train"]
    test = [f for f, t in zip(images, top) if t == "test"]
    elsewhere = [f for f, t in zip(images, top) if t not in ("train", "test")]
    _warn(root, f"ignored {len(elsewhere)} image(s) outside train/ and test/", elsewhere)
    for part, files in (("train", train), ("test", test)):
        if not files:
            raise VaekitError(f"{root / part}: no .png/.jpg/.jpeg images found")
    x = _load_images(train + test, size)
    train_names = _class_names(root / "train", train)
    test_names = _class_names(root / "test", test)
    train_y = test_y = None
    if train_names is not None and test_names is not None:
        names = sorted(set(train_names) | set(test_names))
        train_y = _labels(root / "train", train, names)
        test_y = _labels(root / "test", test, names)
    return Dataset(name, x[:len(train)], x[len(train):], train_y, test_y, 256)


def _held_out_split(root: Path, name: str, images: list[Path], size: int | None) -> Dataset:
    """A fixed 10% of the images (numpy default_rng(0)) is the test split."""
    if len(images) < 10:
        raise VaekitError(f"{root}: {len(images)} images are too few to split off a test set "
                          "(need 10, or train/ and test/ sub-folders)")
    x = _load_images(images, size)
    names = _class_names(root, images)
    y = None if names is None else _labels(root, images, names)
    perm = np.random.default_rng(0).permutation(len(x))
    cut = max(1, len(x) // 10)
    test, train = perm[:cut], perm[cut:]
    return Dataset(name, x[train], x[test], None if y is None else y[train],
                   None if y is None else y[test], 256)


def _class_names(root: Path, files: list[Path]) -> list[str] | None:
    """The sorted first-level sub-folder names, or None if an image lies directly in root."""
    firsts = [f.relative_to(root).parts for f in files]
    if any(len(parts) < 2 for parts in firsts):
        return None
    return sorted({parts[0] for parts in firsts})


def _labels(root: Path, files: list[Path], names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[f.relative_to(root).parts[0]] for f in files], dtype=np.int64)


def _load_images(files: list[Path], size: int | None) -> np.ndarray:
    """Decode, fit and stack: uint8 [N, C, H, W], C = 1 if every image is grey, else 3."""
    arrays, first = [], None
    for f in files:
        a = _decode(f)
        if size is not None:
            a = _centre_square(a, size)
        elif first is None:
            first = (f, a.shape[:2])
        elif a.shape[:2] != first[1]:
            (h0, w0), (h, w) = first[1], a.shape[:2]
            raise VaekitError(f"{first[0]} is {w0}x{h0} but {f} is {w}x{h} (width x height): "
                              "images differ in size; pass --image-size S to centre-crop and "
                              "resize them to S x S")
        arrays.append(a)
    if all(a.ndim == 2 for a in arrays):
        return np.stack(arrays)[:, None]
    rgb = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
    return np.ascontiguousarray(np.stack(rgb).transpose(0, 3, 1, 2))


def _decode(file: Path) -> np.ndarray:
    """One image as uint8 [H, W] (grey) or [H, W, 3] (RGB); VaekitError if it is unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with Image.open(file, formats=("PNG", "JPEG")) as img:
            return _to_array(ImageOps.exif_transpose(img))
    except UnidentifiedImageError:
        reason = "not PNG or JPEG data"
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
    raise VaekitError(f"{file}: not a readable image ({reason})")


def _to_array(img) -> np.ndarray:
    if img.mode in WIDE_GREY_MODES:
        wide = np.asarray(img).astype(np.int64)
        return (np.clip(wide, 0, 65535) >> 8).astype(np.uint8)
    if img.mode in GREY_MODES:
        return np.asarray(img.convert("L"))
    return np.asarray(img.convert("RGB"))


def _centre_square(a: np.ndarray, size: int) -> np.ndarray:
    """The largest centred square of `a`, resized to size x size (Lanczos)."""
    from PIL import Image
    h, w = a.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = Image.fromarray(np.ascontiguousarray(a[top:top + s, left:left + s]))
    if s == size:
        return np.asarray(square)
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))
