"""A folder of PNG/JPEG images as a Dataset: uint8 [N, C, H, W] with 256 levels.

Images are the .png, .jpg or .jpeg files below the folder (others, and hidden ones, skipped
and listed in one warning), decoded as PNG or JPEG only, EXIF orientation applied; unreadable
ones are collected and named in one error. C = 1 when every image is grey (16-bit grey keeps its
top 8 bits), else RGB. With `image_size=S` each is centre-cropped square and resized to S x S
(Lanczos; announced with the count cropped from non-square); without, sizes must agree.

Transparency (RGBA, grey + alpha, a palette or grey/RGB PNG with a tRNS transparency): every
such image is composited onto `background` (white | black | "R,G,B"; default white: icons and
sprites are drawn for light backgrounds, and the colour stored under a fully transparent pixel
is never data -- many editors leave black, white or leftovers there, so dropping alpha put the
same kind of icon on a random background). out = (c a + bg (255 - a)) / 255, rounded; grey +
alpha composites onto the background's grey (ITU-R 601 luma, as Pillow's "L"). The count of
images with any transparent pixel is announced once per load. Images without alpha are
unaffected, bit for bit.
Labels: when every image lies in a first-level sub-folder, the index of its name in the sorted
names (the dataset's `class_names`). Splits: `train/` and `test/` when both exist (names
sorted over both), else a fixed 10% held out (numpy default_rng(0)). The dataset is named
after the folder.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from ..errors import VaekitError
from .dataset import Dataset

EXTENSIONS = (".png", ".jpg", ".jpeg")
GREY_MODES = {"1", "L", "LA", "La"}
WIDE_GREY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}   # 16-bit grey: keep the top 8 bits
ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
NAMED_BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0)}
SHOWN = 3          # files named in a message listing many; the rest counted


def background_rgb(text) -> tuple[int, int, int] | None:
    """"white", "black" or "R,G,B" (ints 0..255) as an (R, G, B) tuple; None if not one."""
    if not isinstance(text, str):
        return None
    if text.strip().lower() in NAMED_BACKGROUNDS:
        return NAMED_BACKGROUNDS[text.strip().lower()]
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def _some(names: list[str]) -> str:
    """The first few names, and how many more."""
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def load_image_folder(path: str | Path, image_size: int | None = None,
                      background: str = "white") -> Dataset:
    """`background`: what transparent pixels are composited onto (see the module docstring)."""
    root = Path(path)
    if not root.exists():
        raise VaekitError(f"{root}: no such folder")
    if not root.is_dir():
        raise VaekitError(f"{root}: not a folder")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < 1):
        raise VaekitError(f"{root}: image size {image_size!r} is not a positive integer")
    if background_rgb(background) is None:
        raise VaekitError(f"background {background!r} is not white, black or R,G,B "
                          "(integers 0..255)")
    fit = _Fit(root, image_size, background)
    images, skipped = _scan(root)
    _warn(root, "skipped", "(not .png/.jpg/.jpeg, or hidden)", skipped)
    if not images:
        raise VaekitError(f"{root}: no .png/.jpg/.jpeg images found")
    name = root.resolve().name
    if (root / "train").is_dir() and (root / "test").is_dir():
        return _given_splits(root, name, images, fit)
    return _held_out_split(root, name, images, fit)


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


def _warn(root: Path, verb: str, why: str, files: list[Path]) -> None:
    """One line for all the files: "skipped 12 files (why): a, b, c and 9 more"."""
    if files:
        n = len(files)
        names = [str(f.relative_to(root)) for f in files]
        _say(root, f"{verb} {n} file{'s' if n > 1 else ''} {why}: {_some(names)}")


def _say(root: Path, line: str) -> None:
    print(f"vaekit: {root}: {line}", file=sys.stderr)


class _Fit:
    """How each image is made to fit: the folder, the size S (or None) and the background."""

    def __init__(self, root: Path, size: int | None, background: str):
        self.root, self.size = root, size
        self.background = background.strip().lower() if background.strip().lower() in \
            NAMED_BACKGROUNDS else background.replace(" ", "")
        self.rgb = background_rgb(background)


def _given_splits(root: Path, name: str, images: list[Path], fit: _Fit) -> Dataset:
    """The train/ and test/ sub-folders are the splits; labels from their own sub-folders."""
    top = [f.relative_to(root).parts[0] for f in images]
    train = [f for f, t in zip(images, top) if t == "train"]
    test = [f for f, t in zip(images, top) if t == "test"]
    elsewhere = [f for f, t in zip(images, top) if t not in ("train", "test")]
    _warn(root, "ignored", "outside train/ and test/", elsewhere)
    for part, files in (("train", train), ("test", test)):
        if not files:
            raise VaekitError(f"{root / part}: no .png/.jpg/.jpeg images found")
    x = _load_images(train + test, fit)
    train_names = _class_names(root / "train", train)
    test_names = _class_names(root / "test", test)
    train_y = test_y = names = None
    if train_names is not None and test_names is not None:
        names = sorted(set(train_names) | set(test_names))
        train_y = _labels(root / "train", train, names)
        test_y = _labels(root / "test", test, names)
    return Dataset(name, x[:len(train)], x[len(train):], train_y, test_y, 256, names)


def _held_out_split(root: Path, name: str, images: list[Path], fit: _Fit) -> Dataset:
    """A fixed 10% of the images (numpy default_rng(0)) is the test split."""
    if len(images) < 10:
        raise VaekitError(f"{root}: {len(images)} images are too few to split off a test set "
                          "(need 10, or train/ and test/ sub-folders)")
    x = _load_images(images, fit)
    names = _class_names(root, images)
    y = None if names is None else _labels(root, images, names)
    perm = np.random.default_rng(0).permutation(len(x))
    cut = max(1, len(x) // 10)
    test, train = perm[:cut], perm[cut:]
    return Dataset(name, x[train], x[test], None if y is None else y[train],
                   None if y is None else y[test], 256, names)


def _class_names(root: Path, files: list[Path]) -> list[str] | None:
    """The sorted first-level sub-folder names, or None if an image lies directly in root."""
    firsts = [f.relative_to(root).parts for f in files]
    if any(len(parts) < 2 for parts in firsts):
        return None
    return sorted({parts[0] for parts in firsts})


def _labels(root: Path, files: list[Path], names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[f.relative_to(root).parts[0]] for f in files], dtype=np.int64)


def _load_images(files: list[Path], fit: _Fit) -> np.ndarray:
    """Decode, fit and stack: uint8 [N, C, H, W], C = 1 if every image is grey, else 3.
    Announces (stderr) the images with transparency and those cropped or resized."""
    arrays, first, unreadable = [], None, []
    transparent = resized = cropped = 0
    size = fit.size
    for f in files:
        try:
            a, seen = _decode(f, fit.rgb)
        except VaekitError as e:
            unreadable.append((f, e))
            continue
        transparent += seen
        if size is not None:
            h, w = a.shape[:2]
            resized += (h, w) != (size, size)
            cropped += h != w
            a = _centre_square(a, size)
        elif first is None:
            first = (f, a.shape[:2])
        elif a.shape[:2] != first[1]:
            (h0, w0), (h, w) = first[1], a.shape[:2]
            raise VaekitError(f"{first[0]} is {w0}x{h0} but {f} is {w}x{h} (width x height): "
                              "images differ in size; pass --image-size S to centre-crop and "
                              "resize them to S x S")
        arrays.append(a)
    if len(unreadable) == 1:
        raise unreadable[0][1]
    if unreadable:
        named = [f"{f.relative_to(fit.root)} ({e.reason})" for f, e in unreadable]
        raise VaekitError(f"{fit.root}: {len(unreadable)} of {len(files)} image files are not "
                          f"readable images (PNG or JPEG): {_some(named)}")
    if transparent:
        _say(fit.root, f"{transparent} of {len(files)} images have transparency: composited "
                       f"onto {fit.background} (--background)")
    if resized:
        _say(fit.root, f"resized {resized} images to {size} x {size} ({cropped} centre-cropped "
                       "from non-square)")
    if all(a.ndim == 2 for a in arrays):
        return np.stack(arrays)[:, None]
    rgb = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
    return np.ascontiguousarray(np.stack(rgb).transpose(0, 3, 1, 2))


class _Unreadable(VaekitError):
    def __init__(self, file: Path, reason: str):
        super().__init__(f"{file}: not a readable image ({reason})")
        self.reason = reason


def _decode(file: Path, background: tuple[int, int, int]) -> tuple[np.ndarray, bool]:
    """One image as uint8 [H, W] (grey) or [H, W, 3] (RGB), and whether it had transparent
    pixels (composited onto `background`); _Unreadable if it is unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with Image.open(file, formats=("PNG", "JPEG")) as img:
            return _to_array(ImageOps.exif_transpose(img), background)
    except UnidentifiedImageError:
        reason = "not PNG or JPEG data"
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
    raise _Unreadable(file, reason)


def _to_array(img, background: tuple[int, int, int]) -> tuple[np.ndarray, bool]:
    if img.mode in WIDE_GREY_MODES:
        wide = np.asarray(img).astype(np.int64)
        return (np.clip(wide, 0, 65535) >> 8).astype(np.uint8), False
    grey = img.mode in GREY_MODES
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        with warnings.catch_warnings():    # Pillow's "Palette images with Transparency" note
            warnings.filterwarnings("ignore", message="Palette images with Transparency")
            a = np.asarray(img.convert("LA" if grey else "RGBA"))
        return _composite(a, background, grey)
    return np.asarray(img.convert("L" if grey else "RGB")), False


def _composite(a: np.ndarray, background: tuple[int, int, int], grey: bool):
    """[H, W, C + 1] colour + alpha composited onto `background` (its luma for grey): the
    image, and whether any pixel was transparent (alpha < 255)."""
    colour, alpha = a[..., :-1].astype(np.int64), a[..., -1:].astype(np.int64)
    r, g, b = background
    bg = np.array([(r * 299 + g * 587 + b * 114 + 500) // 1000] if grey else [r, g, b])
    out = (colour * alpha + bg * (255 - alpha) + 127) // 255
    out = out.astype(np.uint8)
    return (out[..., 0] if grey else out), bool((alpha < 255).any())


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
