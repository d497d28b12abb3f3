"""Benchmark: the tutorial's DataLoader loop vs ``dropout_kit.train.fit``, alternating, in one run.

    python benchmarks/fit_speed.py                 # 10 epochs, p=0.3, 1 round (about 4 min here)
    python benchmarks/fit_speed.py --rounds 3      # what `make benchmark` runs; README's figures
    python benchmarks/fit_speed.py --epochs 2 --rounds 2

Run it on an idle machine: the two loops alternate so that both see the same conditions, but
on a shared 2-core machine fit's time still varies by a third from minute to minute.

Both train the tutorial's network (dropout 0.3 after each hidden ReLU) with the tutorial's
recipe on the same data: all 60,000 training images, batch 64, Adam 1e-3, validated on
the 10,000 test images as the tutorial did. The reference is the tutorial's loop as written
(``ToTensor`` per image, a shuffling ``DataLoader``, ``.item()`` per batch). Reported: the
wall time of each, its milliseconds per training step (wall time over epochs x 938 steps,
data loading and evaluation included: a figure that compares machines), their ratio per
round, the median ratio, and both final validation accuracies.
Target: fit at least 6x faster on the CPU, final val accuracy within 0.5 points.

``reference_loop`` and ``fast_loop`` take a ``device``: ``benchmarks/gpu_check.py`` runs
both on a GPU, the reference moving its model and each batch there as a user would.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from torch import nn, optim

from dropout_kit import data as data_module
from dropout_kit.data import Split
from dropout_kit.device import describe_device
from dropout_kit.models import DropoutMLP
from dropout_kit.seeding import seed_everything
from dropout_kit.train import fit

TRAIN_IMAGES, BATCH = 60_000, 64


def ms_per_step(seconds: float, epochs: int, images: int | None = None) -> float:
    """A run's wall time over its training steps (``images``, default 60,000, in batches of 64 per epoch), in ms."""
    return 1000 * seconds / (epochs * math.ceil((images or TRAIN_IMAGES) / BATCH))


def reference_loop(root, *, epochs: int, p: float, seed: int, device="cpu",
                   images: int | None = None) -> tuple[float, float]:
    """The tutorial's loop (001), unchanged but for the root folder; returns (seconds, val acc).

    On another device the model and each batch move there, as a user would write it
    (``.to(device)`` of a CPU tensor on the CPU is the tensor itself: the CPU loop is unchanged).
    ``images``: train on the first this many training images and validate on the first sixth
    as many test images (quick smoke runs only; default all of them).
    """
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    start = time.perf_counter()
    seed_everything(seed)
    transform = transforms.ToTensor()
    train_dataset = datasets.FashionMNIST(root=root, train=True, download=False, transform=transform)
    val_dataset = datasets.FashionMNIST(root=root, train=False, download=False, transform=transform)
    if images is not None:
        from torch.utils.data import Subset

        train_dataset, val_dataset = Subset(train_dataset, range(images)), Subset(val_dataset, range(images // 6))
    train_loader = DataLoader(train_dataset, batch_size=64, shuffle=True)
    val_loader = DataLoader(val_dataset, batch_size=64)
    model = DropoutMLP(p).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    for _ in range(epochs):
        model.train()
        running_loss, correct, total = 0.0, 0, 0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * images.size(0)
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
        model.eval()
        val_loss, val_correct, val_total = 0.0, 0, 0
        with torch.no_grad():
            for images, labels in val_loader:
                images, labels = images.to(device), labels.to(device)
                outputs = model(images)
                loss = criterion(outputs, labels)
                val_loss += loss.item() * images.size(0)
                _, predicted = torch.max(outputs, 1)
                val_total += labels.size(0)
                val_correct += (predicted == labels).sum().item()
    return time.perf_counter() - start, val_correct / val_total


def fast_loop(*, epochs: int, p: float, seed: int, device="cpu", images: int | None = None) -> tuple[float, float]:
    """``fit`` on in-memory tensors with the same recipe; returns (seconds, val acc).

    Its timer starts before the tensors are built, as the reference's starts before its datasets.
    ``images`` as for ``reference_loop``.
    """
    start = time.perf_counter()
    splits = data_module.load_fashion_mnist(val_size=0, download=False)
    # The tutorial's setup: all 60,000 training images, the test split as validation.
    n_val = None if images is None else images // 6
    tutorial = type("TutorialSplits", (), {"train": Split(*(t[:images] for t in splits.train)),
                                           "val": Split(*(t[:n_val] for t in splits.test))})()
    seed_everything(seed)
    model = DropoutMLP(p)
    history = fit(model, tutorial, epochs=epochs, seed=seed, progress=False, device=device)
    return time.perf_counter() - start, history.val_acc[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description="tutorial loop vs fit, alternating")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (seed = round)")
    parser.add_argument("--device", default="cpu",
                        help="where both loops train (default: cpu; benchmarks/gpu_check.py covers GPUs)")
    args = parser.parse_args()

    root, where = data_module.find(download=False)
    print(f"data: {where}; torch {torch.__version__}, {describe_device(args.device)}; "
          f"{args.epochs} epochs, p={args.p}, {args.rounds} round(s)", flush=True)
    ref, fast = [], []
    for seed in range(args.rounds):
        ref.append(reference_loop(str(root), epochs=args.epochs, p=args.p, seed=seed, device=args.device))
        print(f"round {seed}: reference loop {ref[-1][0]:7.1f} s ({ms_per_step(ref[-1][0], args.epochs):5.2f} "
              f"ms/step), val acc {ref[-1][1]:.2%}", flush=True)
        fast.append(fast_loop(epochs=args.epochs, p=args.p, seed=seed, device=args.device))
        print(f"round {seed}: fit            {fast[-1][0]:7.1f} s ({ms_per_step(fast[-1][0], args.epochs):5.2f} "
              f"ms/step), val acc {fast[-1][1]:.2%}  (ratio {ref[-1][0] / fast[-1][0]:.2f}x)", flush=True)
    ref_s = statistics.median(t for t, _ in ref)
    fast_s = statistics.median(t for t, _ in fast)
    ref_acc = statistics.fmean(a for _, a in ref)
    fast_acc = statistics.fmean(a for _, a in fast)
    print(f"\nspeed-up (median wall time): {ref_s / fast_s:.2f}x  ({ref_s:.1f} s -> {fast_s:.1f} s; "
          f"reference {ms_per_step(ref_s, args.epochs):.2f} ms/step, fit {ms_per_step(fast_s, args.epochs):.2f} ms/step)")
    print(f"final val accuracy: reference {ref_acc:.2%}, fit {fast_acc:.2%} "
          f"(difference {abs(ref_acc - fast_acc) * 100:.2f} points)")


if __name__ == "__main__":
    main()
