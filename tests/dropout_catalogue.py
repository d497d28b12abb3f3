"""Dropout implementations for the lesson-02 judge's tests (tests/test_exercise_from_scratch*.py):
correct ones written from scratch in several styles, PyTorch's own (right in behaviour, but not
from scratch), and a catalogue of known-wrong ones, each a mistake learners really make.

Every wrong entry names the check that must reject it and a phrase its message must
contain, so the tests assert that the *right* check fails for the right reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def _validate(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


# --- correct functions, five styles, all from scratch ----------------------------------


def dropout_bernoulli(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training or p == 0:
        return x
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mask = torch.empty_like(x).bernoulli_(1.0 - p) * scale
    return x.mul_(mask) if inplace else x * mask


def dropout_rand_gt_p(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    if p == 1:
        return x.zero_() if inplace else x * 0.0
    keep = (torch.rand_like(x) > p).to(x.dtype)
    if inplace:
        return x.mul_(keep).div_(1 - p)
    return x * keep / (1 - p)


def dropout_rand_ge_p(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    keep = (torch.rand_like(x) >= p).to(x.dtype)  # rand is in [0, 1): at p=1 nothing is kept
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return x.mul_(keep * scale) if inplace else x * keep * scale


def dropout_where(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training or p == 0:
        return x
    if p == 1:
        out = torch.zeros_like(x) * x  # * x keeps the output on the autograd graph
    else:
        out = torch.where(torch.rand_like(x) < 1 - p, x / (1 - p), torch.zeros_like(x))
    return x.copy_(out) if inplace else out


def dropout_masked_fill(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training or p == 0:
        return x
    dropped = torch.rand_like(x) < p
    if inplace:
        x.masked_fill_(dropped, 0.0)
        return x if p == 1 else x.div_(1 - p)
    out = x.masked_fill(dropped, 0.0)
    return out if p == 1 else out / (1 - p)


CORRECT_FUNCTIONS = [dropout_bernoulli, dropout_rand_gt_p, dropout_rand_ge_p, dropout_where, dropout_masked_fill]


# --- PyTorch's dropout: right in behaviour, so it passes every check but from_scratch ---------


def dropout_torch(x, p=0.5, training=True, inplace=False):
    return F.dropout(x, p, training, inplace)


LIBRARY_FUNCTIONS = [dropout_torch, F.dropout]


class DropoutModule(nn.Module):
    """A learner-style module over a correct function."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _validate(p)
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout_bernoulli(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class MaskedFillModule(nn.Module):
    """A learner-style module that masks in forward itself, with its own check of p."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, x):
        return dropout_masked_fill(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}"


class InheritsDropout(nn.Dropout):
    pass


CORRECT_MODULES = [DropoutModule, MaskedFillModule]
LIBRARY_MODULES = [nn.Dropout, InheritsDropout]


# --- the catalogue of wrong functions --------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """A wrong implementation, the check that must reject it, and a phrase of its message."""

    name: str
    impl: Callable
    check: str
    hint: str
    question: str

    def __repr__(self) -> str:
        return self.name


def _keep(x, p):
    """A correct 0/1 keep mask, so each mistake below differs from right in one place only."""
    return (torch.rand_like(x) >= p).to(x.dtype)


def _apply(x, mask, inplace):
    """Multiply by ``mask`` the way the contract asks: in place, or into a new tensor."""
    return x.mul_(mask) if inplace else x * mask


def _correct_mask(x, p):
    return _keep(x, p) / (1 - p) if p < 1 else torch.zeros_like(x)


def divide_by_p(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    return _apply(x, _keep(x, p) / p, inplace)


def no_scaling(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    return _apply(x, _keep(x, p), inplace)


def scale_in_eval_too(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return _apply(x, torch.full_like(x, 1 / (1 - p) if p < 1 else 0.0), inplace)
    return _apply(x, _correct_mask(x, p), inplace)


def test_time_scaling(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return _apply(x, torch.full_like(x, 1 - p), inplace)  # the 2012 recipe
    return _apply(x, _keep(x, p), inplace)


def p_as_keep_probability(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    keep = (torch.rand_like(x) < p).to(x.dtype)
    return _apply(x, keep / (1 - p) if p < 1 else keep * 0, inplace)


def keep_with_p_divide_by_p(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    keep = (torch.rand_like(x) < p).to(x.dtype)
    return _apply(x, keep / p if p > 0 else keep, inplace)


def ignores_training(x, p=0.5, training=True, inplace=False):
    _validate(p)
    return _apply(x, _correct_mask(x, p), inplace)


def same_mask_for_batch(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    row = _correct_mask(x[0], p)  # one mask, broadcast over the batch
    return _apply(x, row.expand_as(x), inplace)


def one_mask_per_row(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    per_row = _correct_mask(x.new_empty(x.shape[0], *[1] * (x.dim() - 1)), p)
    return _apply(x, per_row.expand_as(x), inplace)


def channel_mask(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    per_channel = _correct_mask(x.new_empty(x.shape[:2] + (1,) * (x.dim() - 2)), p)
    return _apply(x, per_channel.expand_as(x), inplace)


_cache = {}


def cached_mask(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    key = (x.shape, x.dtype, p)
    if key not in _cache:  # "drawing the mask once is faster"
        _cache[key] = _correct_mask(x, p)
    return _apply(x, _cache[key], inplace)


def seeds_inside(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    torch.manual_seed(0)  # "for reproducibility"
    return _apply(x, _correct_mask(x, p), inplace)


def thresholds_the_input(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    keep = (x > p).to(x.dtype)  # drops by value instead of at random
    return _apply(x, keep / (1 - p) if p < 1 else keep * 0, inplace)


def mutates_input(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    return x.mul_(_correct_mask(x, p))  # in place, whatever inplace says


def inplace_returns_new_tensor(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    x = x * _correct_mask(x, p)  # rebinds the name: the caller's x is untouched
    return x


def inplace_forgets_scale(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    if inplace:
        return x.mul_(_keep(x, p))
    return x * _correct_mask(x, p)


def returns_float32(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    return _apply(x, _correct_mask(x, p), inplace).float()


def flattens(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    flat = x.view(-1)
    return _apply(flat, _correct_mask(flat, p), inplace)


def returns_numpy(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    return _apply(x, _correct_mask(x, p), inplace).detach().numpy()  # "for plotting"


def nan_at_p_one(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    return _apply(x, _keep(x, p) / (1 - p), inplace)  # tensor / 0.0 at p=1: 0/0 = NaN


def zero_division_at_p_one(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    scale = 1.0 / (1.0 - p)  # Python floats: ZeroDivisionError at p=1
    return _apply(x, _keep(x, p) * scale, inplace)


def special_cases_swapped(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    if p == 0:
        return torch.zeros_like(x)  # "p=0: keep nothing" -- p read as the keep probability
    if p == 1:
        return x
    return _apply(x, _correct_mask(x, p), inplace)


def _plain_dropout(x, p, training, inplace):
    if not training:
        return x
    return _apply(x, _correct_mask(x, p), inplace)


def no_validation(x, p=0.5, training=True, inplace=False):
    return _plain_dropout(x, p, training, inplace)


def accepts_nan(x, p=0.5, training=True, inplace=False):
    if p < 0 or p > 1:  # every comparison with NaN is False
        raise ValueError(f"p must be in [0, 1], got {p}")
    return _plain_dropout(x, p, training, inplace)


def asserts_instead(x, p=0.5, training=True, inplace=False):
    assert 0 <= p <= 1, "p must be a probability"
    return _plain_dropout(x, p, training, inplace)


def builds_new_tensor(x, p=0.5, training=True, inplace=False):
    _validate(p)
    out = _plain_dropout(x, p, training, inplace)
    if inplace:
        return out
    return torch.tensor(out.tolist(), dtype=x.dtype)  # a copy with no history


def masks_under_no_grad(x, p=0.5, training=True, inplace=False):
    _validate(p)
    with torch.no_grad():  # "the mask is not a parameter, so no gradient needed"
        return _plain_dropout(x, p, training, inplace)


def masks_through_data(x, p=0.5, training=True, inplace=False):
    _validate(p)
    if not training:
        return x
    out = x if inplace else x.clone()
    out.data.mul_(_correct_mask(x, p))  # autograd never sees the mask
    return out


WRONG_FUNCTIONS = [
    Mistake("divide_by_p", divide_by_p, "scale", "did you divide by p instead of 1-p?",
            "Is dividing by p instead of 1-p caught by the scale check?"),
    Mistake("no_scaling", no_scaling, "scale", "forget to divide the kept values by 1-p",
            "Is forgetting the 1/(1-p) scale caught by the scale check?"),
    Mistake("scale_in_eval_too", scale_in_eval_too, "eval_identity", "x/(1-p)",
            "Is scaling by 1/(1-p) in eval mode too caught by the eval check?"),
    Mistake("test_time_scaling", test_time_scaling, "eval_identity", "(1-p)·x",
            "Is the old recipe, scaling by 1-p at test time, caught by the eval check?"),
    Mistake("p_as_keep_probability", p_as_keep_probability, "keep_fraction", "keep probability",
            "Is keeping with probability p (p as the keep probability) caught by keep_fraction?"),
    Mistake("keep_with_p_divide_by_p", keep_with_p_divide_by_p, "keep_fraction",
            "keep probability",
            "Is keeping with probability p and dividing by p, which preserves the mean, "
            "still caught by keep_fraction?"),
    Mistake("ignores_training", ignores_training, "eval_identity", "training=False",
            "Is a function that ignores training caught by the eval check?"),
    Mistake("same_mask_for_batch", same_mask_for_batch, "independence", "same mask",
            "Is one mask broadcast over the whole batch caught by the independence check?"),
    Mistake("one_mask_per_row", one_mask_per_row, "independence", "row is kept or dropped",
            "Is one mask value per row caught by the independence check?"),
    Mistake("channel_mask", channel_mask, "independence", "nn.Dropout2d",
            "Is a channel-wise (Dropout2d-like) mask caught by the independence check?"),
    Mistake("cached_mask", cached_mask, "fresh_mask", "exactly the same entries",
            "Is a mask cached and reused across calls caught by the fresh_mask check?"),
    Mistake("seeds_inside", seeds_inside, "fresh_mask", "torch.manual_seed",
            "Is calling torch.manual_seed inside the function caught by the fresh_mask check?"),
    Mistake("thresholds_the_input", thresholds_the_input, "fresh_mask", "exactly the same",
            "Is dropping by the input's value (x > p) instead of at random caught by fresh_mask?"),
    Mistake("mutates_input", mutates_input, "no_mutation", "changed",
            "Is mutating the input when inplace=False caught by the no_mutation check?"),
    Mistake("inplace_returns_new_tensor", inplace_returns_new_tensor, "inplace",
            "returned a new tensor",
            "Is returning a new tensor when inplace=True caught by the inplace check?"),
    Mistake("inplace_forgets_scale", inplace_forgets_scale, "inplace", "not x/(1-p)",
            "Is an in-place branch that forgets the 1/(1-p) caught by the inplace check?"),
    Mistake("returns_float32", returns_float32, "shape_dtype", "expected torch.float64",
            "Is returning float32 for a float64 input caught by the shape_dtype check?"),
    Mistake("flattens", flattens, "shape_dtype", "keeps the input's shape",
            "Is flattening the output caught by the shape_dtype check?"),
    Mistake("returns_numpy", returns_numpy, "shape_dtype", "expected a torch.Tensor",
            "Is returning a numpy array instead of a tensor caught by the shape_dtype check?"),
    Mistake("special_cases_swapped", special_cases_swapped, "p_zero", "nothing is dropped",
            "Is treating p=0 as 'drop everything' (p read as keep probability) caught by p_zero?"),
    Mistake("nan_at_p_one", nan_at_p_one, "p_one", "NaN",
            "Is NaN from 0/0 at p=1 caught by the p_one check?"),
    Mistake("zero_division_at_p_one", zero_division_at_p_one, "p_one", "ZeroDivisionError",
            "Is a ZeroDivisionError at p=1 caught by the p_one check, with the exception named?"),
    Mistake("no_validation", no_validation, "invalid_p", "instead of raising ValueError",
            "Is a missing ValueError for p outside [0, 1] caught by the invalid_p check?"),
    Mistake("accepts_nan", accepts_nan, "invalid_p", "NaN slips through",
            "Is `p < 0 or p > 1`, which lets NaN through, caught by the invalid_p check?"),
    Mistake("asserts_instead", asserts_instead, "invalid_p", "AssertionError",
            "Is an assert (AssertionError) instead of ValueError caught by the invalid_p check?"),
    Mistake("builds_new_tensor", builds_new_tensor, "gradient", "cut off from autograd",
            "Is rebuilding the output with torch.tensor(...) caught by the gradient check?"),
    Mistake("masks_under_no_grad", masks_under_no_grad, "gradient", "cut off from autograd",
            "Is applying the mask under torch.no_grad() caught by the gradient check?"),
    Mistake("masks_through_data", masks_through_data, "gradient", "outside autograd",
            "Is applying the mask through .data caught by the gradient check?"),
]


# --- the catalogue of wrong modules ----------------------------------------------------


class IgnoresTraining(DropoutModule):
    def forward(self, x):
        return dropout_bernoulli(x, self.p, True, self.inplace)


class FunctionalWithoutTraining(DropoutModule):
    def forward(self, x):
        return F.dropout(x, self.p)  # training defaults to True: always drops (and not from scratch)


class ForgetsTrainingArgument(DropoutModule):
    def forward(self, x):
        return dropout_bernoulli(x, self.p)  # training defaults to True: always drops


class TrainingTestInverted(DropoutModule):
    def forward(self, x):
        if self.training:
            return x
        return dropout_bernoulli(x, self.p, True, self.inplace)


class StoresRate(DropoutModule):
    def __init__(self, p=0.5, inplace=False):
        super().__init__(p, inplace)
        self.rate = self.__dict__.pop("p")

    def forward(self, x):
        return dropout_bernoulli(x, self.rate, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.rate}, inplace={self.inplace}"


class ForgetsInplace(DropoutModule):
    def __init__(self, p=0.5, inplace=False):
        super().__init__(p)  # inplace never passed on


class WrongDefault(DropoutModule):
    def __init__(self, p=0.1, inplace=False):
        super().__init__(p, inplace)


class NoExtraRepr(DropoutModule):
    extra_repr = nn.Module.extra_repr


class RateInRepr(DropoutModule):
    def extra_repr(self):
        return f"rate={self.p}"  # print(model) would not say p


class ValidatesInForward(DropoutModule):
    def __init__(self, p=0.5, inplace=False):
        nn.Module.__init__(self)
        self.p, self.inplace = p, inplace

    def forward(self, x):
        _validate(self.p)  # too late: the bad layer was built and may sit in a model
        return super().forward(x)


class NoValidation(nn.Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return _plain_dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}"


class MaskInInit(DropoutModule):
    """Draws its mask once, on the first forward, and reuses it."""

    def forward(self, x):
        if not self.training:
            return x
        if getattr(self, "mask", None) is None or self.mask.shape != x.shape:
            self.mask = _correct_mask(x, self.p)
        return _apply(x, self.mask, self.inplace)


class NoSuperInit(nn.Module):
    def __init__(self, p=0.5, inplace=False):
        self.p, self.inplace = p, inplace  # forgot super().__init__()

    def forward(self, x):
        return dropout_bernoulli(x, self.p, self.training, self.inplace)


WRONG_MODULES = [
    Mistake("module_ignores_training", IgnoresTraining, "module_train_eval", "after .eval()",
            "Is a module that ignores self.training caught by the train/eval check?"),
    Mistake("functional_without_training", FunctionalWithoutTraining, "module_train_eval",
            "training=self.training",
            "Is F.dropout(x, self.p) without training=self.training caught by the train/eval check?"),
    Mistake("forgets_training_argument", ForgetsTrainingArgument, "module_train_eval",
            "training=self.training",
            "Is dropout(x, self.p) without training=self.training caught by the train/eval check?"),
    Mistake("training_test_inverted", TrainingTestInverted, "module_train_eval",
            "nothing was dropped in training mode",
            "Is an inverted `if self.training` caught by the train/eval check?"),
    Mistake("stores_rate_not_p", StoresRate, "module_attributes", "no attribute p",
            "Is a module that stores its rate as .rate instead of .p caught by the attributes check?"),
    Mistake("forgets_inplace", ForgetsInplace, "module_attributes", ".inplace is False",
            "Is a module that drops the inplace argument caught by the attributes check?"),
    Mistake("wrong_default_p", WrongDefault, "module_attributes", "the default is p=0.5",
            "Is a default p other than nn.Dropout's 0.5 caught by the attributes check?"),
    Mistake("no_extra_repr", NoExtraRepr, "module_repr", "extra_repr",
            "Is a module without extra_repr caught by the repr check?"),
    Mistake("rate_in_repr", RateInRepr, "module_repr", "extra_repr",
            "Is an extra_repr that does not show p=... caught by the repr check?"),
    Mistake("validates_in_forward", ValidatesInForward, "module_invalid_p", "built without error",
            "Is checking p only in forward, after the layer was built, caught by the invalid-p check?"),
    Mistake("module_no_validation", NoValidation, "module_invalid_p", "built without error",
            "Is a module that accepts p=1.5 caught by the invalid-p check?"),
    Mistake("mask_drawn_once", MaskInInit, "fresh_mask", "exactly the same entries",
            "Is a module that draws its mask once and reuses it caught by the fresh_mask check?"),
    Mistake("no_super_init", NoSuperInit, "module_init", "super().__init__()",
            "Is forgetting super().__init__() caught by the init check, with the exception named?"),
]
