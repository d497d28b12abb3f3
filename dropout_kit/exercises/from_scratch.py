"""Lesson 02 ("dropout from scratch"): the learner's ``dropout`` function and ``Dropout`` layer.

Two exercises, each a challenge, a probe and a judge (see ``dropout_kit.exercises.base``):

- ``dropout_function``: ``dropout(x, p=0.5, training=True, inplace=False)``;
- ``dropout_module``: ``Dropout(p=0.5, inplace=False)``, an ``nn.Module``.

The judge draws ~50 calls (``from_scratch_requests``), the probe runs them on the learner's
code in the kernel and returns arrays (``from_scratch_probe``), and the judge validates the
reply field by field (``from_scratch_reply``) and decides from its own inputs: the contract
checks (``from_scratch_checks``), the statistical mask checks (``from_scratch_masks``), the
layer's own checks (``from_scratch_module``) and the rule that gives the lesson its name,
``from_scratch``: no PyTorch dropout, read from the learner's source as text (``scan``), from
the class's bases and from the probe's run-time detector.

False failures: each check fails a correct implementation with probability at most 1e-6
(its docstring says why). Only a few can fail one at all: keep_fraction, mean_preserved,
fresh_mask, independence (1e-6 each) and p_zero (< 7.2e-7, `rand_like(x) > p` only); scale
(< 4e-11: a mask all kept or all dropped where that has probability < 1e-12), inplace and
module_train_eval (a dropped entry among 256 or 1024: < 1e-70). The others are deterministic.
So a correct function or layer fails its verdict with probability at most 5e-6 (union bound).
"""

from __future__ import annotations

from dropout_kit.exercises import scan, wire
from dropout_kit.exercises.base import Exercise
from dropout_kit.exercises.from_scratch_checks import (
    check_eval_identity, check_gradient, check_inplace, check_invalid_p, check_no_mutation, check_p_one,
    check_p_zero, check_scale, check_shape_dtype, run,
)
from dropout_kit.exercises.from_scratch_masks import (
    check_fresh_mask, check_independence, check_keep_fraction, check_mean_preserved,
)
from dropout_kit.exercises.from_scratch_module import (
    check_module_attributes, check_module_init, check_module_invalid_p, check_module_repr, check_module_train_eval,
)
from dropout_kit.exercises.from_scratch_probe import probe_function, probe_module
from dropout_kit.exercises.from_scratch_reply import read_calls, read_class, read_instance, read_library_calls
from dropout_kit.exercises.from_scratch_requests import function_requests, module_requests
from dropout_kit.verdict import Check, Verdict

# Names that reach PyTorch's dropout: functions (in-place variants too) and the nn.Dropout family.
FORBIDDEN = frozenset({
    "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "native_dropout", "alpha_dropout",
    "feature_alpha_dropout", "dropout_", "feature_dropout_", "alpha_dropout_", "feature_alpha_dropout_",
    "_fused_dropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "_DropoutNd",
})
TORCH_DROPOUT_CLASSES = "torch.nn.modules.dropout."
WRITE_IT = "write the masking yourself: the exercise is to implement what F.dropout does"

VALUE_CHECKS = [
    ("shape_dtype", "returns a tensor of the input's shape and dtype (1-D to 4-D, float32 and float64)",
     check_shape_dtype),
    ("eval_identity", "training=False returns the input unchanged", check_eval_identity),
    ("p_zero", "p=0 returns the input unchanged (in value)", check_p_zero),
    ("p_one", "p=1 returns all zeros, without NaN", check_p_one),
    ("invalid_p", "p outside [0, 1] raises ValueError (for NaN, ValueError or RuntimeError)", check_invalid_p),
    ("keep_fraction", "about a fraction 1-p of the entries is kept", check_keep_fraction),
    ("scale", "kept entries are exactly x/(1-p), dropped entries exactly 0", check_scale),
    ("mean_preserved", "the mean is preserved: E[dropout(x)] = x", check_mean_preserved),
    ("fresh_mask", "a new mask is drawn on every call", check_fresh_mask),
    ("independence", "entries are dropped independently (no mask shared across batch, rows, columns, channels)",
     check_independence),
    ("no_mutation", "inplace=False never changes the input", check_no_mutation),
    ("inplace", "inplace=True modifies x itself and returns it", check_inplace),
    ("gradient", "the gradient is mask/(1-p) times the upstream gradient", check_gradient),
]
# Eval mode and invalid p of a layer are judged by module_train_eval and module_invalid_p.
MODULE_VALUE_CHECKS = [c for c in VALUE_CHECKS if c[0] not in ("eval_identity", "invalid_p")]
MODULE_CHECKS = [
    ("module_init", "Dropout(p=..., inplace=...) builds an nn.Module, with defaults p=0.5, inplace=False",
     check_module_init),
    ("module_attributes", "p and inplace are stored as the attributes .p and .inplace", check_module_attributes),
    ("module_repr", "extra_repr mentions p, so print(model) shows the rate", check_module_repr),
    ("module_invalid_p", "p outside [0, 1] raises ValueError when the module is built (NaN too)",
     check_module_invalid_p),
    ("module_train_eval", "train() drops entries, eval() makes the module the identity", check_module_train_eval),
]
NEEDS_CALLS = (check_module_invalid_p, check_module_train_eval)  # module checks that read forward calls too
FROM_SCRATCH = "from_scratch"
FROM_SCRATCH_SUMMARY = "no PyTorch dropout: no F.dropout, torch.dropout or nn.Dropout, called or inherited"


def check_from_scratch(source: str | None, library_calls: list[str], mro: tuple[str, ...] = ()) -> Check:
    """Fail when the source uses PyTorch's dropout, the class derives from it, or the probe saw it run.

    Deterministic: the source is read as text (``scan.findings``), never run. A cell the scan
    cannot read (it does not parse, or it registers an IPython input transformer) fails too,
    because the grader cannot tell what it does.
    """
    reasons = []
    for finding in scan.findings(source, attrs=FORBIDDEN):
        if finding.kind in ("unparseable", "transformer"):
            reasons.append(f"the grader cannot read your code: {finding}")
        else:
            reasons.append(f"{finding}")
    bases = [name for name in mro if name.startswith(TORCH_DROPOUT_CLASSES)]
    if bases:
        reasons.append(f"Dropout derives from {', '.join(bases)}")
    if library_calls:
        reasons.append(f"while your code ran, it called {', '.join(library_calls)}")
    if not reasons:
        return Check(FROM_SCRATCH, True, "", FROM_SCRATCH_SUMMARY)
    return Check(FROM_SCRATCH, False, "; ".join(reasons) + f": {WRITE_IT}", FROM_SCRATCH_SUMMARY)


def describe_function_call(call: dict) -> str:
    """A function call as messages show it, e.g. ``dropout(x of shape (64, 64), float32, p=0.3, ...)``."""
    x = call["x"]
    return (f"dropout(x of shape {x.shape}, {x.dtype.name}, p={call['p']}, training={call['training']}, "
            f"inplace={call['inplace']})")


def describe_module_call(call: dict) -> str:
    """A forward call as messages show it, e.g. ``Dropout(p=0.3, inplace=False) in train mode, on x of ...``."""
    x, mode = call["x"], "train" if call["training"] else "eval"
    return (f"Dropout(p={call['p']}, inplace={call['inplace']}) in {mode} mode, on x of shape {x.shape}, "
            f"{x.dtype.name}")


def judge_function(requests: dict, reply, *, source: str | None = None) -> Verdict:
    """The verdict on a ``dropout`` function from its probe's reply (and its source, for the rule)."""
    reply = wire.mapping(reply, "reply", ["calls", "library_calls"])
    outcomes = read_calls(reply, requests["calls"], describe_function_call)
    checks = [run(name, summary, body, outcomes) for name, summary, body in VALUE_CHECKS]
    checks.append(check_from_scratch(source, read_library_calls(reply)))
    return Verdict(FUNCTION.key, checks, title=FUNCTION.title)


def judge_module(requests: dict, reply, *, source: str | None = None) -> Verdict:
    """The verdict on a ``Dropout`` class from its probe's reply (and its source, for the rule)."""
    reply = wire.mapping(reply, "reply", ["class", "instances", "calls", "library_calls"])
    cls = read_class(reply["class"])
    library_calls = read_library_calls(reply)
    if not cls["is_type"]:
        message = f"got a {cls['type']} object, expected the class itself: pass Dropout, not Dropout()"
        checks = [Check("module_init", False, message, MODULE_CHECKS[0][1])]
        return Verdict(MODULE.key, [*checks, check_from_scratch(source, library_calls)], title=MODULE.title)
    names = list(requests["instances"])
    records = wire.mapping(reply["instances"], "instances", names)
    if len(records) != len(names):
        raise wire.ReplyError(f"instances must hold exactly {', '.join(names)}")
    instances = {name: read_instance(records[name], f"instances[{name!r}]") for name in names}
    outcomes = read_calls(reply, requests["calls"], describe_module_call)
    checks = [run(name, summary, body, requests, instances, *([outcomes] if body in NEEDS_CALLS else []))
              for name, summary, body in MODULE_CHECKS]
    checks += [run(name, summary, body, outcomes) for name, summary, body in MODULE_VALUE_CHECKS]
    checks.append(check_from_scratch(source, library_calls, tuple(cls["mro"])))
    return Verdict(MODULE.key, checks, title=MODULE.title)

FUNCTION = Exercise("dropout_function", "02_from_scratch", "dropout", "Part 1: dropout(x, p, training, inplace)",
                    function_requests, probe_function, judge_function)
MODULE = Exercise("dropout_module", "02_from_scratch", "Dropout", "Part 2: the Dropout layer",
                  module_requests, probe_module, judge_module)
EXERCISES = [FUNCTION, MODULE]
