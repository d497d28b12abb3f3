"""FashionMNIST as in-memory tensors: found offline, checked, and split train / val / test.

The files are looked for in this order (the first folder holding all four wins):

1. an explicit ``root`` argument;
2. the ``DROPOUT_KIT_DATA`` environment variable;
3. a project-local ``data/`` folder (in the working directory, or beside the package);
4. Debian's ``dataset-fashion-mnist`` package at ``/usr/share/datasets/fashion-mnist``
   (the original ``.gz`` files; their md5 differs from torchvision's, the content does not);
5. only then, if allowed, a torchvision download.

In each folder the files may be ``.gz`` or raw IDX, directly in it or in torchvision's
``FashionMNIST/raw/`` layout. They are validated (header and size) and, if compressed,
unpacked once into a cache, and then parsed by torchvision's ``FashionMNIST``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from dropout_kit.errors import CorruptDataError, DataNotFoundError

ENV_VAR = "DROPOUT_KIT_DATA"
CACHE_ENV_VAR = "DROPOUT_KIT_CACHE"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# name -> (IDX magic number, shape of one item). The counts (60,000 / 10,000) are not
# fixed here, so that tests can write tiny files of the same format.
FILES = {
    "train-images-idx3-ubyte": (0x803, (28, 28)),
    "train-labels-idx1-ubyte": (0x801, ()),
    "t10k-images-idx3-ubyte": (0x803, (28, 28)),
    "t10k-labels-idx1-ubyte": (0x801, ()),
}
REMEDIES = (
    "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
    f"set {ENV_VAR} to a folder holding the four files, "
    "or allow a download (download=True, needs the internet)"
)


@dataclass(frozen=True)
class Split:
    """Images ``X`` (N x 1 x 28 x 28, float32 in [0, 1]) and labels ``y`` (N, int64)."""

    X: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def __iter__(self):
        return iter((self.X, self.y))


@dataclass(frozen=True)
class Splits:
    """The three splits of the course.

    ``train`` and ``val`` are carved from the 60,000 training images; ``test`` is the
    official 10,000 and is only for final reports, never for choosing anything.
    """

    train: Split
    val: Split
    test: Split
    classes: tuple = CLASSES
    source: Path | None = None


@dataclass(frozen=True)
class Source:
    """Where the four files were found, and the form they are in."""

    folder: Path
    where: str  # which rule of the lookup order found it
    files: dict  # name -> path of the file as found (.gz or raw)


def candidate_folders(root: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The folders looked in, in order, each with the rule that names it."""
    places: list[tuple[str, Path]] = []
    if root is not None:
        places.append(("explicit root", Path(root)))
    if os.environ.get(ENV_VAR):
        places.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    places.append(("project data/ (working directory)", Path.cwd() / "data"))
    beside = Path(__file__).resolve().parent.parent / "data"
    if beside != Path.cwd() / "data":
        places.append(("project data/ (beside the package)", beside))
    places.append(("Debian dataset-fashion-mnist", DEBIAN_DIR))
    return places


def _files_in(folder: Path) -> dict | None:
    """The four files in ``folder`` (or its FashionMNIST/raw), raw preferred over .gz."""
    for sub in (folder, folder / "FashionMNIST" / "raw"):
        found = {}
        for name in FILES:
            for candidate in (sub / name, sub / f"{name}.gz"):
                if candidate.is_file():
                    found[name] = candidate
                    break
        if len(found) == len(FILES):
            return found
    return None


def locate(root: str | os.PathLike | None = None) -> Source | None:
    """The first folder in the lookup order that holds all four files, or None."""
    for where, folder in candidate_folders(root):
        files = _files_in(folder)
        if files:
            return Source(folder=folder, where=where, files=files)
    return None


def cache_dir() -> Path:
    """Where unpacked files and downloads go (``$DROPOUT_KIT_CACHE`` or ~/.cache/dropout_kit)."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "dropout_kit")


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (EOFError, OSError, zlib.error) as exc:
        raise CorruptDataError(
            f"{path} is not a valid gzip file ({exc}); it is truncated or corrupt. "
            f"Delete it and reinstall or re-download it; remedies: {REMEDIES}"
        ) from None


def idx_problem(name: str, header: bytes, size: int) -> str | None:
    """What is wrong with an IDX file ``name`` of ``size`` bytes starting with ``header``, or None."""
    magic, item = FILES[name]
    n_dims = 1 + len(item)
    header_size = 4 + 4 * n_dims
    if size < header_size or len(header) < header_size:
        return f"it has {size} bytes, fewer than an IDX header"
    got_magic, *dims = struct.unpack(f">{1 + n_dims}I", header[:header_size])
    if got_magic != magic:
        return f"its magic number is {got_magic:#x}, expected {magic:#x}"
    if tuple(dims[1:]) != item:
        return f"its header says items of shape {tuple(dims[1:])}, expected {item}"
    expected = header_size + math.prod(dims)
    if size != expected:
        return f"it has {size} bytes, expected {expected} for {dims[0]} items (truncated?)"
    return None


def validate_idx(name: str, payload: bytes, path: Path) -> None:
    """Raise CorruptDataError naming ``path`` unless ``payload`` is a valid IDX file ``name``."""
    problem = idx_problem(name, payload[:16], len(payload))
    if problem:
        raise CorruptDataError(
            f"{path} is not a valid FashionMNIST file: {problem}. "
            f"Delete it and reinstall or re-download it; remedies: {REMEDIES}"
        )


def _cached_ok(name: str, target: Path, source: Path) -> bool:
    """Is ``target`` an intact copy unpacked from ``source`` (newer, valid header and size)?"""
    if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
        return False
    with open(target, "rb") as handle:
        return idx_problem(name, handle.read(16), target.stat().st_size) is None


def materialize(source: Source) -> Path:
    """A torchvision root whose ``FashionMNIST/raw`` holds the four validated raw files."""
    key = hashlib.sha1(str(source.folder.resolve()).encode()).hexdigest()[:10]
    root = cache_dir() / key
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, path in source.files.items():
        target = raw / name
        if target.resolve() == path.resolve() and path.suffix != ".gz":
            validate_idx(name, path.read_bytes(), path)  # already in torchvision's layout
            continue
        if _cached_ok(name, target, path):
            continue
        payload = _read_bytes(path)
        validate_idx(name, payload, path)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(payload)
        tmp.replace(target)  # atomic: a crash never leaves a half-written file behind
    return root


def _load_raw(torchvision_root: str | Path) -> tuple[torch.Tensor, ...]:
    """uint8 images and int64 labels of (train, test), parsed by torchvision; cached per file version."""
    raw = Path(torchvision_root) / "FashionMNIST" / "raw"
    stamp = tuple((n, (raw / n).stat().st_mtime_ns, (raw / n).stat().st_size) for n in sorted(FILES))
    return _parse(str(torchvision_root), stamp)


@functools.lru_cache(maxsize=2)
def _parse(torchvision_root: str, stamp: tuple) -> tuple[torch.Tensor, ...]:
    from torchvision.datasets import FashionMNIST

    train = FashionMNIST(torchvision_root, train=True, download=False)
    test = FashionMNIST(torchvision_root, train=False, download=False)
    return train.data, train.targets, test.data, test.targets


def _download(places: list[tuple[str, Path]]) -> Path:
    from torchvision.datasets import FashionMNIST

    root = cache_dir() / "download"
    try:
        FashionMNIST(root, train=True, download=True)
        FashionMNIST(root, train=False, download=True)
    except Exception as exc:  # torchvision raises several types; all mean "no data"
        raise DataNotFoundError(_not_found_message(places, f"the download failed too ({exc})")) from None
    return root


def _not_found_message(places: list[tuple[str, Path]], tail: str) -> str:
    looked = "; ".join(f"{folder} ({where})" for where, folder in places)
    return f"FashionMNIST not found in {looked}; {tail}. Remedies: {REMEDIES}."


def find(root: str | os.PathLike | None = None, *, download: bool = True) -> tuple[Path, str]:
    """A torchvision root holding validated raw files, and a sentence saying where they came from."""
    source = locate(root)
    if source is not None:
        kind = "gzip" if any(p.suffix == ".gz" for p in source.files.values()) else "raw IDX"
        return materialize(source), f"{source.folder} ({source.where}, {kind} files)"
    places = candidate_folders(root)
    if not download:
        raise DataNotFoundError(_not_found_message(places, "downloading was not allowed"))
    return _download(places), f"{cache_dir() / 'download'} (downloaded by torchvision)"


def _stratified_take(y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Sorted indices of ``n`` items of ``y`` with each class in proportion (largest remainder)."""
    classes, counts = torch.unique(y, return_counts=True)
    exact = counts.double() * n / len(y)
    take = exact.floor().long()
    short = n - int(take.sum())
    if short:
        order = torch.argsort(exact - take, descending=True, stable=True)
        take[order[:short]] += 1
    chosen = []
    for c, k in zip(classes.tolist(), take.tolist()):
        members = torch.nonzero(y == c).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:k]])
    return torch.sort(torch.cat(chosen)).values


def stratified_split(y: torch.Tensor, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint sorted (train, val) indices of ``y``; ``val`` is class-stratified and seeded."""
    if not 0 <= val_size < len(y):
        raise ValueError(f"val_size must be in [0, {len(y)}), got {val_size}")
    val = _stratified_take(y, val_size, torch.Generator().manual_seed(seed))
    keep = torch.ones(len(y), dtype=torch.bool)
    keep[val] = False
    return torch.nonzero(keep).flatten(), val


def _as_split(images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor | None = None) -> Split:
    if index is not None:
        images, labels = images[index], labels[index]
    X = images.unsqueeze(1).to(torch.float32).div_(255.0)
    return Split(X=X, y=labels.to(torch.int64).clone())


def load_fashion_mnist(
    root: str | os.PathLike | None = None,
    *,
    val_size: int = 10_000,
    subset: int | None = None,
    seed: int = 0,
    download: bool = True,
) -> Splits:
    """Load FashionMNIST as in-memory tensors split into train / val / test.

    Used by every lesson that trains (04 onwards) and by ``dropout-kit experiment``.

    Args:
        root: a folder to look in first (see the module docstring for the lookup order).
        val_size: images carved from the 60,000 training images into ``val``,
            class-stratified and seeded (default 10,000).
        subset: if given, keep a seeded, class-balanced subset of ``train`` of this size
            (the overfitting regime of lesson 04 uses a few thousand images).
        seed: seeds both the val split and the subset, so the same seed gives the same splits.
        download: allow a torchvision download when the files are found nowhere.

    Returns:
        ``Splits`` with ``train``, ``val`` and ``test``; each has ``X`` (N x 1 x 28 x 28,
        float32 in [0, 1]) and ``y`` (N, int64).

    Raises:
        DataNotFoundError: nothing found (the message lists every place looked and the remedies).
        CorruptDataError: a file is truncated or corrupt (the message names it).
    """
    torchvision_root, _ = find(root, download=download)
    train_images, train_labels, test_images, test_labels = _load_raw(torchvision_root)
    train_idx, val_idx = stratified_split(train_labels, val_size, seed)
    if subset is not None:
        if not 0 < subset <= len(train_idx):
            raise ValueError(f"subset must be between 1 and {len(train_idx)} images, got {subset}")
        pick = _stratified_take(train_labels[train_idx], subset, torch.Generator().manual_seed(seed + 1))
        train_idx = train_idx[pick]
    return Splits(
        train=_as_split(train_images, train_labels, train_idx),
        val=_as_split(train_images, train_labels, val_idx),
        test=_as_split(test_images, test_labels),
        source=Path(torchvision_root),
    )


def describe(root: str | os.PathLike | None = None, *, download: bool = False) -> str:
    """A few lines saying where FashionMNIST was found and what it holds (``dropout-kit data``)."""
    torchvision_root, where = find(root, download=download)
    train_images, _, test_images, _ = _load_raw(torchvision_root)
    lines = [
        f"FashionMNIST found in {where}",
        f"parsed from {torchvision_root / 'FashionMNIST' / 'raw'}",
        f"{len(train_images)} training images, {len(test_images)} test images, "
        f"{tuple(train_images.shape[1:])} pixels, {len(CLASSES)} classes",
        "looked in, in order: " + "; ".join(f"{folder} ({rule})" for rule, folder in candidate_folders(root)),
    ]
    return "\n".join(lines)
