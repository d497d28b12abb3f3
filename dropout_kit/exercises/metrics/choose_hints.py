"""The judge's catalogue of ``choose_p`` mistakes: the wrong rule each applies, and what to tell the learner.

A wrong rule is recomputed on the judge's own table; when it gives the learner's answer (and
the rule does not), its message is the likely mistake. Each table kind lists the mistakes it
was built to separate (see ``choose_tables``), so a message never blames a mistake that the
table cannot tell apart from another.
"""

from __future__ import annotations

import math

from dropout_kit.tuning.stats import standard_error

RULE = ("The rule: best = the highest val_acc_mean; SE = its val_acc_std / sqrt(n) (0 when n = 1); return the "
        "largest p with val_acc_mean >= best - SE")
CHANGED = ("your function changed the table it was given (table.sort(...) sorts in place; row[...] = ... adds keys): "
           "use sorted(table, key=...) or build new values")

SITUATIONS = {
    "columns": "in a table where one rate is clearly best on validation while the train, test and loss columns "
               "favour other rates",
    "within": "in a table where several rates lie within one standard error of the best mean",
    "std": "in a table where a larger rate is within one standard deviation of the best mean, but not within one "
           "standard error",
    "own_bars": "in a table where a larger rate has a wide error bar of its own that reaches the best mean",
    "unsorted": "in a table whose rows are not sorted by p",
    "tie": "in a table where two rates share the best mean exactly",
    "boundary": "in a table where a rate lies exactly one standard error below the best mean",
    "single_run": "in a table of one run per rate (n = 1, val_acc_std is NaN)",
    "one_row": "in a table of one row",
}

# (check name, the table kinds it judges, what it requires)
CHECKS = [
    ("validation_column", ("columns",), "chooses with val_acc_mean: not train accuracy, not test accuracy, not val "
                                        "loss"),
    ("within_one_se", ("within",), "takes the largest p within one standard error of the best mean, not the best "
                                   "itself"),
    ("standard_error", ("std", "own_bars"), "the margin is the best row's standard error, val_acc_std / sqrt(n)"),
    ("unsorted", ("unsorted",), "works when the rows are not in order of p"),
    ("ties", ("tie",), "two rates tied for the best mean: both count, and the larger p wins"),
    ("boundary", ("boundary",), "a rate exactly one standard error below the best counts as within (>=)"),
    ("single_run", ("single_run",), "n = 1 (std NaN): the standard error counts as 0, so the best mean wins"),
    ("one_row", ("one_row",), "a table of one row gives its rate"),
]


def _best(table) -> dict:
    return max(table, key=lambda r: r["val_acc_mean"])  # the first of a tie, as max() gives it


def _candidates(table, margin) -> list[dict]:
    """Rows (in table order) whose mean is >= best - margin(best row)."""
    best = _best(table)
    line = best["val_acc_mean"] - margin(best)
    return [r for r in table if r["val_acc_mean"] >= line]


def _std(row) -> float:
    return 0.0 if math.isnan(row["val_acc_std"]) else row["val_acc_std"]


def _own_bars(table) -> float:
    best = _best(table)["val_acc_mean"]
    return max(r["p"] for r in table if r["val_acc_mean"] + standard_error(r) >= best)


def _strict(table) -> float:
    best = _best(table)
    line = best["val_acc_mean"] - standard_error(best)
    return max(r["p"] for r in table if r["val_acc_mean"] > line or r is best)


# name -> (wrong rule, what to tell the learner)
MISTAKES = {
    "test column": (lambda t: max(t, key=lambda r: r["test_acc_mean"])["p"],
                    "you picked the p with the highest test accuracy: the test column is for the final report only; "
                    "choose with val_acc_mean"),
    "train accuracy": (lambda t: max(t, key=lambda r: r["train_acc_mean"])["p"],
                       "you picked the p with the highest train accuracy: the more a network fits its training data, "
                       "the higher that is; choose with val_acc_mean"),
    "eval-mode train accuracy": (lambda t: max(t, key=lambda r: r["train_eval_acc_mean"])["p"],
                                 "you picked the p with the highest train accuracy (eval mode): choose with "
                                 "val_acc_mean"),
    "val loss": (lambda t: min(t, key=lambda r: r["val_loss_mean"])["p"],
                 "you picked the p with the lowest val loss: the rule of this exercise uses val_acc_mean"),
    "highest mean": (lambda t: _best(t)["p"],
                     "you returned the rate with the highest mean val accuracy; the rule takes the largest p whose "
                     "mean is within one standard error of that best mean"),
    "smallest p within": (lambda t: min(r["p"] for r in _candidates(t, standard_error)),
                          "you returned the smallest p within one standard error; the one-standard-error rule takes "
                          "the largest, the most regularised network among those that cannot be told apart from the "
                          "best"),
    "std as margin": (lambda t: max(r["p"] for r in _candidates(t, _std)),
                      "you allowed one standard deviation below the best; the margin is one standard *error*, "
                      "std / sqrt(n) (the uncertainty of a mean of n runs, smaller than the spread of single runs)"),
    "std over n": (lambda t: max(r["p"] for r in _candidates(t, lambda b: _std(b) / b["n"])),
                   "you divided the std by n; the standard error is std / sqrt(n)"),
    "own error bars": (_own_bars,
                       "you compared each row's own error bar with the best mean; the rule uses the best row's "
                       "standard error only: keep rates whose mean is >= best mean - SE(best)"),
    "last in table order": (lambda t: _candidates(t, standard_error)[-1]["p"],
                            "you returned the last candidate in the table's order; the rows are not sorted by p, so "
                            "take the largest p among the candidates (max(...))"),
    "first in table order": (lambda t: _candidates(t, standard_error)[0]["p"],
                             "you returned the first candidate in the table's order; take the largest p among the "
                             "candidates (max(...))"),
    "strict inequality": (_strict, "a rate exactly one standard error below the best counts as within: use >=, not >"),
    "largest p of the table": (lambda t: max(r["p"] for r in t),
                               "you returned the largest p of the whole table, as if every row were within one "
                               "standard error"),
}

# The mistakes each kind of table was built to tell apart from the rule, most specific first.
SEPARATES = {
    "columns": ("test column", "train accuracy", "eval-mode train accuracy", "val loss"),
    "within": ("highest mean", "smallest p within", "std as margin", "std over n"),
    "std": ("std as margin", "smallest p within"),
    "own_bars": ("own error bars", "smallest p within"),
    "unsorted": ("last in table order", "first in table order", "highest mean", "smallest p within", "std as margin",
                 "std over n"),
    "tie": ("highest mean", "smallest p within"),
    "boundary": ("strict inequality", "smallest p within"),
    "single_run": ("largest p of the table",),
    "one_row": (),
}


def wrong_answer(name: str, table) -> float | None:
    """What mistake ``name`` gives on ``table`` (None when it cannot be applied, e.g. no candidates)."""
    try:
        return MISTAKES[name][0](table)
    except (ValueError, TypeError, KeyError):
        return None


def likely(kind: str, table, got: float, want: float) -> str:
    """'Likely: ...' naming every mistake of this table kind that gives ``got``, or the rule itself."""
    found = [MISTAKES[name][1] for name in SEPARATES[kind] if wrong_answer(name, table) == got != want]
    return "Likely: " + ". Or: ".join(found) if found else RULE


def single_run_note(kind: str, *, raised: bool) -> str:
    """The extra advice of the n = 1 table."""
    if kind != "single_run":
        return ""
    if raised:
        return (". With n = 1 the std is NaN (no spread can be measured from one run) and best - NaN is NaN, so "
                "nothing compares >= it: treat the standard error as 0 when n < 2 or the std is NaN")
    return " (with n = 1 the std is NaN: treat the standard error as 0)"


def returned_problem(kind: str, table) -> str:
    """Why an answer of type ``kind`` is not a rate."""
    if kind == "dict":
        return "choose_p returned a whole row; return just the rate, row['p']"
    return f"choose_p returned a {kind}; expected one of the table's rates, a number such as {table[0]['p']}"


def not_a_rate(got: float, table) -> str:
    """Why a number that is no row's p is not an answer."""
    rates = sorted(r["p"] for r in table)
    hint = (" It looks like a row index: return table[i]['p'], not i."
            if math.isfinite(got) and got.is_integer() and 0 <= got <= len(table) else "")
    return f"choose_p returned {got}, which is not one of the table's rates {rates}.{hint}"


def show_table(table) -> str:
    """The table's decisive columns, in its own order, for the learner to redo by hand."""
    cells = [f"p={r['p']}: {r['val_acc_mean']:.5f} ± {r['val_acc_std']:.5f} (n={r['n']})" for r in table]
    return "the table (val_acc_mean ± val_acc_std): " + "; ".join(cells)
