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
wall time of each and their ratio per round, the median ratio, and both final validation
accuracies.
Target (issue 2): fit at least 6x faster, final val accuracy within 0.5 points.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn, optim

from dropout_kit import data as data_module
from dropout_kit.data import Split
from dropout_kit.models import DropoutMLP
from dropout_kit.seeding import seed_everything
from dropout_kit.train import fit


def reference_loop(root, *, epochs: int, p: float, seed: int) -> tuple[float, float]:
    """The tutorial's loop (001), unchanged but for the root folder; returns (seconds, val acc)."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    start = time.perf_counter()
    seed_everything(seed)
    transform = transforms.ToTensor()
    train_dataset = datasets.FashionMNIST(root=root, train=True, download=False, transform=transform)
    val_dataset = datasets.FashionMNIST(root=root, train=False, download=False, transform=transform)
    train_loader = DataLoader(train_dataset, batch_size=64, shuffle=True)
    val_loader = DataLoader(val_dataset, batch_size=64)
    model = DropoutMLP(p)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    for _ in range(epochs):
        model.train()
        running_loss, correct, total = 0.0, 0, 0
        for images, labels in train_loader:
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
                outputs = model(images)
                loss = criterion(outputs, labels)
                val_loss += loss.item() * images.size(0)
                _, predicted = torch.max(outputs, 1)
                val_total += labels.size(0)
                val_correct += (predicted == labels).sum().item()
    return time.perf_counter() - start, val_correct / val_total


def fast_loop(*, epochs: int, p: float, seed: int) -> tuple[float, float]:
    """``fit`` on in-memory tensors with the same recipe; returns (seconds, val acc).

    Its timer starts before the tensors are built, as the reference's starts before its datasets.
    """
    start = time.perf_counter()
    splits = data_module.load_fashion_mnist(val_size=0, download=False)
    # The tutorial's setup: all 60,000 training images, the test split as validation.
    tutorial = type("TutorialSplits", (), {"train": Split(*splits.train), "val": Split(*splits.test)})()
    seed_everything(seed)
    model = DropoutMLP(p)
    history = fit(model, tutorial, epochs=epochs, seed=seed, progress=False)
    return time.perf_counter() - start, history.val_acc[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description="tutorial loop vs fit, alternating")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (seed = round)")
    args = parser.parse_args()

    root, where = data_module.find(download=False)
    print(f"data: {where}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.epochs} epochs, p={args.p}, {args.rounds} round(s)", flush=True)
    ref, fast = [], []
    for seed in range(args.rounds):
        ref.append(reference_loop(str(root), epochs=args.epochs, p=args.p, seed=seed))
        print(f"round {seed}: reference loop {ref[-1][0]:7.1f} s, val acc {ref[-1][1]:.2%}", flush=True)
        fast.append(fast_loop(epochs=args.epochs, p=args.p, seed=seed))
        print(f"round {seed}: fit            {fast[-1][0]:7.1f} s, val acc {fast[-1][1]:.2%}"
              f"  (ratio {ref[-1][0] / fast[-1][0]:.2f}x)", flush=True)
    ref_s = statistics.median(t for t, _ in ref)
    fast_s = statistics.median(t for t, _ in fast)
    ref_acc = statistics.fmean(a for _, a in ref)
    fast_acc = statistics.fmean(a for _, a in fast)
    print(f"\nspeed-up (median wall time): {ref_s / fast_s:.2f}x  ({ref_s:.1f} s -> {fast_s:.1f} s)")
    print(f"final val accuracy: reference {ref_acc:.2%}, fit {fast_acc:.2%} "
          f"(difference {abs(ref_acc - fast_acc) * 100:.2f} points)")


if __name__ == "__main__":
    main()
