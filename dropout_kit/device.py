"""Where training runs: the learner's accelerator when there is one, the CPU otherwise.

``resolve_device("auto")`` picks CUDA, then Apple's MPS, then the CPU; an explicit choice is
checked against what this machine has, with an error that says what was found.
``describe_device`` names a device for progress lines and result tables, and
``expected_time`` tells a lesson how long it takes on the device it found.

Every function that trains or runs a model (``fit``, ``evaluate``, ``runs``, ``tuning``,
``uncertainty``, ``experiment``) takes ``device="auto"``, moves the model and the data there
once, and hands results back as Python numbers or CPU tensors, with the model back on the
device it came from (``placed``).
"""

from __future__ import annotations

import contextlib
import itertools

import torch
from torch import nn

from dropout_kit.errors import DeviceError

__all__ = ["LESSON_TIMES", "describe_device", "expected_time", "model_device", "placed", "private_rng", "resolve_device"]

FORMS = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
REMEDY = "use device='auto' or 'cpu'"

# Measured wall times of the long lessons (seconds), by device type: (seconds, how measured).
# None: not measured yet. The CPU figures are the nbmake durations of one `make test` run from a
# fresh clone on an otherwise idle 2-core x86 machine (README, "The lessons"); with other jobs
# sharing the cores the same lessons took up to about twice as long (the second figure).
# `python benchmarks/gpu_check.py` measures the CUDA ones and prints them for this table.
_CPU = "2 otherwise idle CPU cores, pytest --nbmake"
LESSON_TIMES = {
    "04_overfitting": {"cpu": (218, f"{_CPU}; 401 s with other jobs sharing the cores"), "cuda": None, "mps": None},
    "06_tuning": {"cpu": (177, f"{_CPU}; 569 s with other jobs sharing the cores"), "cuda": None, "mps": None},
    "11_dropout_family": {"cpu": (76, f"{_CPU}; 164 s with other jobs sharing the cores"), "cuda": None, "mps": None},
    "12_pitfalls": {"cpu": (94, f"{_CPU}; 189 s with other jobs sharing the cores"), "cuda": None, "mps": None},
}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _missing(device, check: str) -> DeviceError:
    return DeviceError(f"device={device!r} was asked for, but {check} is False on this machine "
                       f"(torch {torch.__version__}); {REMEDY}")


def resolve_device(device="auto") -> torch.device:
    """The ``torch.device`` to use: ``"auto"`` picks CUDA, then MPS, then the CPU.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``.

    Returns:
        ``cpu``, ``cuda:N`` (``"cuda"`` is the current CUDA device) or ``mps:0``.

    Raises:
        DeviceError: for a string that is not a device, or a device this machine lacks.
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps", 0)
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise DeviceError(f"device must be {FORMS} or a torch.device, got {type(device).__name__} {device!r}")
    try:
        asked = torch.device(device)
    except RuntimeError:
        raise DeviceError(f"device={device!r} is not a device torch knows; use {FORMS}") from None
    if asked.type == "cpu":
        return torch.device("cpu")
    if asked.type == "cuda":
        if not torch.cuda.is_available():
            raise _missing(device, "torch.cuda.is_available()")
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if asked.index is None else asked.index
        if index >= count:
            have = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
            raise DeviceError(f"device={device!r} was asked for, but this machine has {count} CUDA "
                              f"device{'s' if count != 1 else ''} ({have}); use one of those, or device='auto'")
        return torch.device("cuda", index)
    if asked.type == "mps":
        if not _mps_available():
            raise _missing(device, "torch.backends.mps.is_available()")
        if asked.index not in (None, 0):
            raise DeviceError(f"device={device!r} was asked for, but a Mac has one MPS device, 'mps'")
        return torch.device("mps", 0)
    raise DeviceError(f"device={device!r} is not supported here; use {FORMS}")


def describe_device(device="auto") -> str:
    """A short name of the device for progress lines and tables: "cpu (2 threads)", "cuda:0 (NVIDIA H200)"."""
    device = resolve_device(device)
    if device.type == "cuda":
        return f"cuda:{device.index} ({torch.cuda.get_device_name(device.index)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def expected_time(lesson: str, device="auto") -> str:
    """A sentence saying how long ``lesson`` takes on ``device``, from ``LESSON_TIMES`` (lessons 04, 06, 11, 12)."""
    if lesson not in LESSON_TIMES:
        raise ValueError(f"no measured time for lesson {lesson!r}; known: {sorted(LESSON_TIMES)}")
    device = resolve_device(device)
    times = LESSON_TIMES[lesson]
    where = f"Running on {describe_device(device)}."
    measured = times.get(device.type)
    if measured is not None:
        seconds, how = measured
        return f"{where} This lesson takes about {_minutes(seconds)} here (measured: {how})."
    cpu = times["cpu"]
    return (f"{where} Its run time on {device.type} is not measured yet; on the CPU it takes about "
            f"{_minutes(cpu[0])} (measured: {cpu[1]}).")


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    return f"{seconds / 60:.0f} minutes"


def model_device(model: nn.Module) -> torch.device | None:
    """The one device holding ``model``'s parameters and buffers (None when it has neither)."""
    devices = {t.device for t in itertools.chain(model.parameters(), model.buffers())}
    if len(devices) > 1:
        raise DeviceError(f"the model's tensors are on several devices ({sorted(map(str, devices))}); "
                          "put it on one with model.to(...) first")
    return devices.pop() if devices else None


@contextlib.contextmanager
def placed(model: nn.Module, device: torch.device):
    """Inside the block ``model`` is on ``device``; afterwards it is back where it was.

    A model already on ``device`` is not touched, so the CPU path does exactly what it did
    before devices existed. The parameters stay the same objects (``Module.to`` moves their data).
    """
    home = model_device(model)
    moved = home is not None and home != device
    if moved:
        model.to(device)
    try:
        yield model
    finally:
        if moved:
            model.to(home)


@contextlib.contextmanager
def private_rng(device: torch.device):
    """Random draws inside the block, on the CPU and on ``device``, leave the caller's streams as they were."""
    with torch.random.fork_rng(devices=[]):
        if device.type == "cuda":
            state = torch.cuda.get_rng_state(device)
        elif device.type == "mps":
            state = torch.mps.get_rng_state()
        try:
            yield
        finally:
            if device.type == "cuda":
                torch.cuda.set_rng_state(state, device)
            elif device.type == "mps":
                torch.mps.set_rng_state(state)
