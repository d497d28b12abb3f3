"""What a machine with a GPU must show: fit's speed there, lessons 04 and 06 under nbmake, the grading calibration.

    python benchmarks/gpu_check.py                   # on a GPU machine: one run, about 5-8 minutes on one H200
    python benchmarks/gpu_check.py --smoke           # every code path on the CPU at tiny sizes (3 min on 2 cores)
    python benchmarks/gpu_check.py --only speed      # sections again: adam, calibration, speed, notebooks

Needs torch, torchvision, numpy, matplotlib, tqdm, pytest, nbmake, nbclient, ipykernel and this repository (it
puts the repository on the path itself; nothing is installed, nothing downloaded); ``--wheels DIR`` installs
missing ones offline from a folder of wheels first. FashionMNIST comes from $DROPOUT_KIT_DATA or
/usr/share/datasets/fashion-mnist. Everything printed also goes to ``--out`` (default gpu_check.txt).
Exit status: 0 when every check meets its target, 1 when one misses, 2 when something needed is missing
(no GPU without --smoke, a module, the data).

The checks, each a row of the final table:

- **adam**: ``AdamStep`` on the GPU takes PyTorch's fused kernel and equals ``torch.optim.Adam(fused=True)``
  bit for bit over 25 steps; ``fit`` runs there (its History names the GPU) and hands the model back on the
  CPU. Whether the same seed gives the same History twice on the GPU is printed as information.
- **speed**: ``fit`` against the tutorial's own loop (``fit_speed.reference_loop``: per-image ``ToTensor``,
  ``DataLoader``, model and batches moved to the GPU as a user would) on the tutorial's setup (60,000 images,
  10 epochs, batch 64, Adam 1e-3, p=0.3), alternating for ``--rounds`` rounds after a warm-up run; ms per
  step (wall time over training steps, data loading and evaluation included) of both, and of ``fit`` on this
  machine's CPU for one epoch. Target: fit at least 10x faster than the tutorial loop on the same GPU.
- **notebooks**: ``solutions/04_overfitting`` and ``solutions/06_tuning`` through ``pytest --nbmake`` (a
  copy, run with ``--overwrite`` so that its device line can be read back), each timed. Target: passes, ran
  on the GPU, under 90 s. ``--smoke`` runs only each lesson's cells up to its device line.
- **calibration**: lesson 05's judge run (``exercises.experiment.result.runs``: the recipe, val loss over the
  last 10 epochs) for the designs of ``CALIBRATION_DESIGNS`` on the seeds of ``dropout_kit/calibration.csv``
  (designs, seeds, target and CPU figures read from the package at run time), in ``--workers`` processes
  sharing the GPU. Each design's mean val loss must lie in its band: **CPU mean ± 3 × max(that design's CPU
  seed std, the seed std pooled over every calibrated design)**, and its mean over the graded seeds must get
  the verdict the calibration expects (pass or fail the target): the grade must not depend on the machine.
  Were the GPU's runs distributed like the CPU's (normal, independent seeds, one spread for all designs), a
  mean would leave its band with probability at most P(|t| > 3 / sqrt(1/n_gpu + 1/n_cpu)), t with the pooled
  std's degrees of freedom; the script prints that figure per comparison and for all of them together.
  Designs whose mean differs by more than that point to a real difference between the devices.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

from calibration_band import BAND_SDS, band, pooled_std, t_two_sided  # noqa: E402

NEEDED = ("torch", "torchvision", "numpy", "matplotlib", "tqdm", "pytest", "nbmake", "nbclient", "ipykernel")
SECTIONS = ("adam", "calibration", "speed", "notebooks")
LESSONS = ("04_overfitting", "06_tuning")
# The closest designs on each side of lesson 05's target, and the lesson's solution.
CALIBRATION_DESIGNS = ("hidden 0.3 (the tutorial's)", "hidden 0.6", "input 0.2 + hidden 0.5", "input 0.3 + hidden 0.3")
TARGETS = {"speed_ratio": 10.0, "notebook_seconds": 90.0}


class Log:
    """Prints each line and appends it to the ``--out`` file at once (a run cut short keeps what it said)."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "w", encoding="utf-8")

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.handle.write(text + "\n")
        self.handle.flush()


def row(check: str, measured: str, target: str, ok: bool | None) -> dict:
    """One line of the summary: ``ok`` None is information, without a target."""
    return {"check": check, "measured": measured, "target": target, "ok": ok}


def missing_modules() -> list[str]:
    """The modules of NEEDED that this Python cannot import."""
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


# --- the sections -------------------------------------------------------------------------------------


def check_adam(device, log: Log) -> list[dict]:
    """AdamStep is torch's fused Adam on the device; fit runs there and returns the model to the CPU."""
    import torch

    from dropout_kit.adam import AdamStep
    from dropout_kit.data import load_fashion_mnist
    from dropout_kit.models import DropoutMLP
    from dropout_kit.seeding import seed_everything
    from dropout_kit.train import fit

    torch.manual_seed(0)
    ours = DropoutMLP(0.3).to(device)
    theirs = copy.deepcopy(ours)
    step = AdamStep(ours, lr=1e-3, weight_decay=1e-4)
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-3, weight_decay=1e-4, fused=True)
    for k in range(25):
        g = torch.Generator().manual_seed(1000 + k)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.grad = torch.randn(p.shape, generator=g).to(device)
            q.grad = p.grad.clone()
        step.step()
        reference.step()
    same = all(torch.equal(p, q) for p, q in zip(ours.parameters(), theirs.parameters()))
    rows = [row("AdamStep", f"{'fused' if step.fused else 'NOT fused'}, "
                f"{'bit-identical to' if same else 'DIFFERS from'} torch.optim.Adam(fused=True) over 25 steps",
                "fused, bit-identical", step.fused and same)]

    data = load_fashion_mnist(subset=2000, download=False)
    histories, placement = [], []
    for _ in range(2):
        seed_everything(0)
        model = DropoutMLP(0.3)
        before = model.fc1.weight.detach().clone()
        histories.append(fit(model, data, epochs=2, seed=0, progress=False, device=device))
        placement.append(model.fc1.weight.device.type == "cpu" and not torch.equal(before, model.fc1.weight))
    where = histories[0].device
    rows.append(row("fit on the device", f"History says {where!r}; model back on the CPU, trained: {all(placement)}",
                    f"History names {device.type}", where.startswith(device.type) and all(placement)))
    same_twice = histories[0].metrics() == histories[1].metrics()
    rows.append(row("same seed twice", "identical History" if same_twice else "Histories differ (GPU kernels "
                    "are not all deterministic)", "information", None))
    log(f"adam: fused {step.fused}, identical {same}; fit on {where}; reproducible {same_twice}")
    return rows


def check_speed(device, args, log: Log) -> list[dict]:
    """fit vs the tutorial's loop on the device, alternating; fit on this machine's CPU for one epoch."""
    import fit_speed

    from dropout_kit import data as data_module
    from dropout_kit.device import describe_device

    epochs, images = (1, 2000) if args.smoke else (args.epochs, None)
    root, where = data_module.find(download=False)
    log(f"speed: data {where}; {epochs} epoch(s), {images or 60_000} images, p={args.p}, {args.rounds} round(s)")
    fit_speed.fast_loop(epochs=1, p=args.p, seed=99, device=device, images=images or 6400)  # warm-up, not timed
    ref, fast = [], []
    for seed in range(args.rounds):
        ref.append(fit_speed.reference_loop(str(root), epochs=epochs, p=args.p, seed=seed, device=device,
                                            images=images))
        log(f"  round {seed}: tutorial loop {ref[-1][0]:7.1f} s, {fit_speed.ms_per_step(ref[-1][0], epochs, images):6.3f}"
            f" ms/step, val acc {ref[-1][1]:.2%}")
        fast.append(fit_speed.fast_loop(epochs=epochs, p=args.p, seed=seed, device=device, images=images))
        log(f"  round {seed}: fit           {fast[-1][0]:7.1f} s, {fit_speed.ms_per_step(fast[-1][0], epochs, images):6.3f}"
            f" ms/step, val acc {fast[-1][1]:.2%}")
    cpu_seconds, _ = fit_speed.fast_loop(epochs=1, p=args.p, seed=0, device="cpu", images=images)
    ref_ms = fit_speed.ms_per_step(statistics.median(t for t, _ in ref), epochs, images)
    fast_ms = fit_speed.ms_per_step(statistics.median(t for t, _ in fast), epochs, images)
    cpu_ms = fit_speed.ms_per_step(cpu_seconds, 1, images)
    ratio = ref_ms / fast_ms
    gap = abs(statistics.fmean(a for _, a in ref) - statistics.fmean(a for _, a in fast)) * 100
    name = describe_device(device)
    enforce = not args.smoke
    return [
        row(f"tutorial loop on {name}", f"{ref_ms:.3f} ms/step (median of {len(ref)})", "information", None),
        row(f"fit on {name}", f"{fast_ms:.3f} ms/step (median of {len(fast)})", "information", None),
        row(f"fit on this machine's CPU, {describe_device('cpu')}", f"{cpu_ms:.3f} ms/step (1 epoch)",
            "information", None),
        row("fit vs tutorial loop, same device", f"{ratio:.1f}x faster",
            f">= {TARGETS['speed_ratio']:g}x" + ("" if enforce else " (not enforced in --smoke)"),
            ratio >= TARGETS["speed_ratio"] if enforce else None),
        row("val acc, fit vs tutorial loop", f"{gap:.2f} points apart (seed noise ~0.3)", "information", None),
    ]


def check_notebook(lesson: str, device, args, log: Log) -> list[dict]:
    """One lesson through pytest --nbmake, timed; which device it found, read from its own output."""
    source = json.loads((REPO / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    device_cell = next(i for i, c in enumerate(source["cells"]) if c.get("id", "").endswith("-device"))
    if args.smoke:  # the lesson's own first cells, through its device line
        source["cells"] = source["cells"][:device_cell + 1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / lesson / f"{lesson}.ipynb"
        path.parent.mkdir()
        path.write_text(json.dumps(source, indent=1, ensure_ascii=False) + "\n")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "pytest", str(path), "--nbmake", f"--nbmake-timeout={args.notebook_timeout}",
                   "--overwrite", "-p", "no:cacheprovider", "-q"]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp,
                                  timeout=args.notebook_timeout + 60)
            status, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            status, output = "timeout", f"{exc.stdout or ''}{exc.stderr or ''}"
        seconds = time.perf_counter() - start
        ran = json.loads(path.read_text())["cells"][device_cell].get("outputs", [])
    said = "".join("".join(o.get("text", "")) for o in ran).strip()
    on_device = said.startswith(f"Running on {device.type}")
    passed = status == 0
    log(f"notebook {lesson}: pytest exit {status} after {seconds:.0f} s; it said: {said or '(nothing)'}")
    if not passed:
        log(output[-4000:])
    enforce = not args.smoke
    fast = seconds < TARGETS["notebook_seconds"]
    return [row(f"lesson {lesson} (nbmake{', first cells' if args.smoke else ''})",
                f"{'passed' if passed else f'FAILED ({status})'} in {seconds:.0f} s, on {said[11:].split('.')[0] or '?'}",
                f"passes on {device.type}, < {TARGETS['notebook_seconds']:g} s"
                + ("" if enforce else " (time not enforced in --smoke)"),
                passed and on_device and (fast or not enforce))]


def check_calibration(device, args, log: Log) -> list[dict]:
    """Lesson 05's judge runs on the device against the CPU calibration's bands and expected verdicts."""
    from dropout_kit.data import load_fashion_mnist
    from dropout_kit.exercises.experiment import calibration as lesson05, result
    from dropout_kit.recipe import RECIPE

    cpu = {label: {int(run["seed"]): run for run in runs} for label, runs in lesson05.read().items()}  # by seed
    designs = {label: (rates, expected) for label, rates, expected in lesson05.DESIGNS}
    labels = CALIBRATION_DESIGNS[:1] if args.smoke else CALIBRATION_DESIGNS
    seeds = sorted(set.intersection(*(set(cpu[label]) for label in labels)))
    seeds = seeds[:2] if args.smoke else seeds
    target = result.TARGET.max_val_loss
    data = load_fashion_mnist(subset=RECIPE.subset, seed=RECIPE.data_seed, download=False)
    log(f"calibration: {RECIPE}; designs {list(labels)}, seeds {seeds}, {args.workers} worker(s); target {target}")
    pooled, dof = pooled_std(cpu, "val_loss")
    rows, chances = [], []
    for label in labels:
        rates, expected = designs[label]
        start = time.perf_counter()
        runs = result.runs(rates, seeds, data=data, workers=args.workers, device=device)
        values = [r["val_loss"] for r in runs]
        cpu_values = [cpu[label][s]["val_loss"] for s in sorted(cpu[label])]
        low, high = band(cpu_values, pooled)
        mean = statistics.fmean(values)
        chances.append(t_two_sided(BAND_SDS / math.sqrt(1 / len(values) + 1 / len(cpu_values)), dof))
        log(f"  {label}: {len(values)} runs in {time.perf_counter() - start:.0f} s; "
            f"val loss {[round(v, 4) for v in values]}, mean {mean:.4f}; CPU mean {statistics.fmean(cpu_values):.4f} ± {statistics.stdev(cpu_values):.4f} "
            f"(n={len(cpu_values)}), pooled std {pooled:.4f} ({dof} dof); band {low:.4f} to {high:.4f}")
        rows.append(row(f"calibration {label}: mean val loss", f"{mean:.4f} (n={len(values)})",
                        f"{low:.4f} to {high:.4f}", low <= mean <= high))
        graded_seeds = [s for s in RECIPE.seeds if s in seeds]  # all three, but in --smoke
        graded = statistics.fmean(r["val_loss"] for r in runs if r["seed"] in graded_seeds)
        verdict = "pass" if graded <= target else "fail"
        rows.append(row(f"calibration {label}: verdict on seeds {graded_seeds}",
                        f"{verdict} ({graded:.4f})", f"{expected} (target {target})", verdict == expected))
    log(f"  false-failure probability if the device's runs are distributed like the CPU's: at most "
        f"{max(chances):.1e} per comparison, {min(1.0, sum(chances)):.1e} for all {len(chances)} (union bound)")
    return rows


# --- the run ------------------------------------------------------------------------------------------


def header(device, log: Log) -> None:
    import torch

    from dropout_kit.device import describe_device

    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    log(f"gpu_check on {describe_device(device)}; torch {torch.__version__} (CUDA {torch.version.cuda}); "
        f"python {platform.python_version()}; {os.cpu_count()} CPU cores; repo {commit or 'unknown commit'}; "
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}")


def summary(rows: list[dict], log: Log) -> int:
    """Print the table; 1 when a checked row missed its target, else 0."""
    from dropout_kit.tables import Table

    shown = [{**r, "result": {True: "ok", False: "MISSED", None: "info"}[r["ok"]]} for r in rows]
    log(str(Table(shown, columns=["check", "measured", "target", "result"])))
    missed = [r["check"] for r in rows if r["ok"] is False]
    log(f"\n{len(missed)} check(s) missed: {', '.join(missed)}" if missed else "\nevery check met its target")
    return 1 if missed else 0


def install_wheels(folder: Path, names: list[str]) -> None:
    """Install ``names`` offline from a folder of wheels (no index, no internet)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(folder), *names],
                   check=False)


def main(argv: list[str] | None = None) -> int:
    """Run the sections asked for; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU: every code path, quickly")
    parser.add_argument("--device", default="auto", help="the GPU to check (default: auto)")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.txt"), help="a copy of everything printed")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating speed rounds (default 2)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the speed runs (the tutorial's 10)")
    parser.add_argument("--p", type=float, default=0.3, help="dropout rate of the speed runs (0.3)")
    parser.add_argument("--workers", type=int, default=2, help="calibration training processes sharing the GPU")
    parser.add_argument("--notebook-timeout", dest="notebook_timeout", type=int, default=200,
                        help="seconds allowed per lesson (default 200)")
    parser.add_argument("--wheels", type=Path, help="a folder of wheels to install missing modules from, offline")
    args = parser.parse_args(argv)
    if args.smoke:
        args.device, args.rounds = "cpu", 1
    log = Log(args.out)
    missing = missing_modules()
    if missing and args.wheels:
        install_wheels(args.wheels, missing)
        missing = missing_modules()
    if missing:
        log(f"gpu_check: missing Python modules {missing}; install them (pip install {' '.join(missing)}, or "
            f"offline: --wheels DIR) or run from the project's environment")
        return 2

    import torch

    from dropout_kit.device import resolve_device
    from dropout_kit.errors import DropoutKitError

    try:
        device = resolve_device(args.device)
    except DropoutKitError as exc:
        log(f"gpu_check: {exc}")
        return 2
    if device.type == "cpu" and not args.smoke:
        log(f"gpu_check: no GPU here (torch.cuda.is_available() is {torch.cuda.is_available()}, torch "
            f"{torch.__version__}); this script checks a GPU; --smoke runs it on the CPU at tiny sizes")
        return 2
    header(device, log)
    started, rows = time.perf_counter(), []
    for section in SECTIONS:
        if section not in args.only:
            continue
        begun = time.perf_counter()
        try:
            if section == "adam":
                rows += check_adam(device, log)
            elif section == "calibration":
                rows += check_calibration(device, args, log)
            elif section == "speed":
                rows += check_speed(device, args, log)
            else:
                for lesson in LESSONS:
                    rows += check_notebook(lesson, device, args, log)
        except DropoutKitError as exc:  # the data missing, typically: say so and stop
            log(f"gpu_check: {section}: {exc}")
            return 2
        log(f"[{section}: {time.perf_counter() - begun:.0f} s; {time.perf_counter() - started:.0f} s in all]\n")
    status = summary(rows, log)
    if "notebooks" in args.only and not args.smoke:
        log("For dropout_kit/device.py LESSON_TIMES (the notebooks' expected-time line), measured here:")
        for r in rows:
            if r["check"].startswith("lesson "):
                log(f"  {r['check']}: {r['measured']}")
    log(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
