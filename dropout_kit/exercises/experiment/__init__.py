"""Lesson 05, graded: add only dropout to the tutorial's MLP, and reach a target found by measuring.

Identify, don't trust. Under the rules (only dropout layers may be added), the learner's
``Net`` in eval mode computes exactly the baseline's function, and in train mode the
baseline's function with activations multiplied by independent masks of 0 or 1/(1-p) at
up to four sites: the input pixels, after each hidden ReLU, and the logits. Such a network
is fully described by its four rates. The probe (``probing.py``, in the learner's kernel, no
dataset) loads parameters the judge chose and returns outputs; the judge (``identify.py``,
``masks.py``) checks the properties above on them and *measures* the rates from the exact
scale of routed outputs, then (``result.py``) trains its own ``SiteDropoutMLP`` with those
rates, with the fixed recipe, on the grader's data, and judges the target.

Why this is the same as training the learner's model under the rules: training uses only
the model's train-mode function (and its gradient) on the recipe's batches, and its
eval-mode function for the metrics. With the same initial parameters, both functions of a
network that passes the checks equal those of ``SiteDropoutMLP`` at the measured rates for
every input, up to which random masks are drawn: masks of the same law, so the two
trainings differ as two seeds do (two dropouts in a row at one site are one dropout at rate
1-(1-p1)(1-p2), and the judge trains exactly that). Nothing the learner's process says is
trusted: a forged reply can at best make the judge train some *legal* design, which the
learner could as well have written.

What it does not accept: anything that is not standard dropout with a fixed rate per site,
e.g. Gaussian or uniform noise, noise on inputs or weights, DropConnect, a mask shared by
the batch or by several units, unscaled or eval-time-scaled dropout, or a rate that changes
between the probe's calls (a rate schedule, which the rules forbid anyway; one that does
not change while the probe runs is measured at its current rate).
"""

from __future__ import annotations

import functools

from dropout_kit.exercises.base import Exercise
from dropout_kit.exercises.experiment.identify import Design, rules
from dropout_kit.exercises.experiment.probing import challenge, probe
from dropout_kit.exercises.experiment.result import TARGET, Target, runs, sweep
from dropout_kit.recipe import RECIPE, Recipe
from dropout_kit.verdict import Check, Verdict

LESSON = "05_experiment"
RULES_TITLE = "Lesson 05 · only dropout added"
RESULT_TITLE = "Lesson 05 · the trained result"


def judge_rules(requests, reply, *, source=None, key: str = "experiment_rules") -> Verdict:
    """The rules, without training (seconds): the measured design is shown in the notes."""
    checks, design = rules(requests, reply)
    notes = (f"Measured dropout: {design}.",) if design is not None else ()
    return Verdict(key, checks, title=RULES_TITLE, notes=notes)


def judge_result(requests, reply, *, source=None, recipe: Recipe = RECIPE, target: Target = TARGET,
                 data=None, key: str = "experiment_result") -> Verdict:
    """The rules, then the judge's own training of the measured design, and the target."""
    checks, design = rules(requests, reply)
    if design is None:
        return Verdict(key, checks, title=RESULT_TITLE)
    measured = runs(design.rates, recipe.seeds, recipe=recipe, window=target.window, data=data)
    loss = sum(m["val_loss"] for m in measured) / len(measured)
    per_seed = ", ".join(f"{m['val_loss']:.3f}" for m in measured)
    acc = sum(m["val_acc"] for m in measured) / len(measured)
    gap = sum(m["gap"] for m in measured) / len(measured)
    passed = loss <= target.max_val_loss
    report = (f"trained with your design ({design}): val loss {loss:.3f} (seeds: {per_seed}); "
              f"val accuracy {acc:.1%}, train-val gap {gap * 100:.1f} points")
    if not passed:
        hint = " Dropout on the logits drops class scores, not features." if design.logits else ""
        report += f" — above the target {target.max_val_loss:.3f}: measure other designs.{hint}"
    checks.append(Check("val_loss", passed, report, target.describe(recipe)))
    return Verdict(key, checks, title=RESULT_TITLE, notes=(f"Measured dropout: {design}.", report))


EXERCISES = [
    Exercise("experiment_rules", LESSON, "Net", RULES_TITLE, challenge, probe, judge_rules, timeout=60.0),
    Exercise("experiment_result", LESSON, "Net", RESULT_TITLE, challenge, probe,
             functools.partial(judge_result, recipe=RECIPE, target=TARGET), timeout=60.0),
]

__all__ = ["Design", "EXERCISES", "RECIPE", "TARGET", "Target", "judge_result", "judge_rules", "runs", "sweep"]
