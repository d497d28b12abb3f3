"""``DropoutFunction`` classes for tests/test_exercise_backward*.py, as source text.

Correct ones in several styles, and a catalogue of known-wrong ones, each a mistake learners
really make in a hand-written backward pass. Every entry is code (a learner's cell), built
with ``build``, so the judge's source rule reads exactly what runs. Every wrong entry names
the check that must reject it and a phrase its message must contain, so the tests assert that
the *right* check fails for the right reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

TEMPLATE = """class DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, training):
{forward}

    @staticmethod
    def backward(ctx, grad_output):
{backward}
"""

FORWARD = """        ctx.p = p
        if not training or p == 0:
            ctx.save_for_backward(torch.ones_like(x))
            ctx.scale = 1.0
            return x.clone()
        ctx.scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
        mask = torch.empty_like(x).bernoulli_(1.0 - p)
        ctx.save_for_backward(mask)
        return x * mask * ctx.scale"""
BACKWARD = """        mask, = ctx.saved_tensors
        return grad_output * mask * ctx.scale, None, None"""


def code(forward: str = FORWARD, backward: str = BACKWARD) -> str:
    """A learner's cell defining DropoutFunction with these method bodies (8-space indented)."""
    return TEMPLATE.format(forward=forward, backward=backward)


def build(text: str):
    """Run a learner's cell and return the DropoutFunction it defines."""
    namespace = {"torch": torch, "F": F, "nn": nn}
    exec(compile(text, "<learner cell>", "exec"), namespace)
    return namespace["DropoutFunction"]


SOLUTION = code()

CORRECT = {
    "bernoulli_saved": SOLUTION,
    "rand_ge_p_on_ctx": code(
        """        ctx.p, ctx.training = p, training
        if not training:
            return x.clone()
        ctx.mask = (torch.rand_like(x) >= p).to(x.dtype)
        return x * ctx.mask / (1 - p) if p < 1 else x * 0.0""",
        """        if not ctx.training:
            return grad_output, None, None
        if ctx.p == 1:
            return torch.zeros_like(grad_output), None, None
        return grad_output * ctx.mask / (1 - ctx.p), None, None"""),
    "scaled_mask_saved": code(
        """        if training and p == 1:
            scaled = torch.zeros_like(x)
        elif training:
            scaled = (torch.rand_like(x) > p).to(x.dtype) / (1 - p)
        else:
            scaled = torch.ones_like(x)
        ctx.save_for_backward(scaled)
        return x * scaled""",
        """        scaled, = ctx.saved_tensors
        grad_x = grad_output * scaled if ctx.needs_input_grad[0] else None
        return grad_x, None, None"""),
}


@dataclass(frozen=True)
class Wrong:
    """A known mistake: its cell, the check that must fail, and a phrase of that check's message."""

    code: str
    check: str
    phrase: str


def _back(line: str) -> str:
    return "        mask, = ctx.saved_tensors\n        " + line


WRONG = {
    # --- backward mistakes ---
    "no_scale_in_backward": Wrong(code(backward=_back("return grad_output * mask, None, None")),
                                  "gradient", "the 1/(1-p) is missing"),
    "divide_by_p_in_backward": Wrong(code(backward=_back("return grad_output * mask / ctx.p, None, None")),
                                     "gradient", "did you divide by p instead of 1-p?"),
    "mask_of_ones": Wrong(code(backward="        return grad_output * ctx.scale, None, None"),
                          "gradient", "mask not reused"),
    "fresh_mask_in_backward": Wrong(code(backward=(
        "        mask = torch.empty_like(grad_output).bernoulli_(1.0 - ctx.p)\n"
        "        return grad_output * mask * ctx.scale, None, None")),
        "gradient", "Did you draw a new mask in backward?"),
    "passes_gradient_through": Wrong(code(backward="        return grad_output, None, None"),
                                     "gradient", "the gradient passed through unmasked"),
    "forgets_grad_output": Wrong(code(backward=_back("return mask * ctx.scale, None, None")),
                                 "gradient", "without grad_output"),
    "gradient_of_ones": Wrong(code(backward="        return torch.ones_like(grad_output), None, None"),
                              "gradient", "x.grad is all ones"),
    "too_few_one": Wrong(code(backward=_back("return grad_output * mask * ctx.scale")),
                         "backward_returns", "backward returned a single Tensor; return a tuple"),
    "too_few_two": Wrong(code(backward=_back("return grad_output * mask * ctx.scale, None")),
                         "backward_returns", "backward returned 2 values, too few"),
    "too_many": Wrong(code(backward=_back("return grad_output * mask * ctx.scale, None, None, None")),
                      "backward_returns", "backward returned 4 values, too many"),
    "gradient_for_p": Wrong(code(backward=_back(
        "return grad_output * mask * ctx.scale, torch.zeros(()), None")),
        "backward_returns", "as the gradients for p and training: they are not tensors"),
    "none_for_x": Wrong(code(backward="        return None, None, None"),
                        "backward_returns", "backward returned NoneType as the gradient for x"),
    "in_place_grad_output": Wrong(code(backward=_back("return grad_output.mul_(mask).mul_(ctx.scale), None, None")),
                                  "grad_output_untouched", "backward changed grad_output in place"),
    "mask_on_the_class": Wrong(code(
        FORWARD.replace("        ctx.save_for_backward(mask)", "        DropoutFunction.mask = mask").replace(
            "            ctx.save_for_backward(torch.ones_like(x))",
            "            DropoutFunction.mask = torch.ones_like(x)"),
        "        return grad_output * DropoutFunction.mask * ctx.scale, None, None"),
        "gradient", "the mask of the other call of its pair"),
    "eval_backward_scaled": Wrong(code(
        FORWARD.replace("            ctx.scale = 1.0", "            ctx.scale = 1.0 / (1.0 - p)")),
        "eval_mode", "x.grad differs from grad_output in eval mode"),
    "wrong_shape_gradient": Wrong(code(backward=_back("return (grad_output * mask * ctx.scale).sum(0), None, None")),
                                  "backward_returns", "autograd refused what backward returned"),
    # --- forward mistakes ---
    "divide_by_p_everywhere": Wrong(code(FORWARD.replace("1.0 / (1.0 - p)", "1.0 / p")),
                                    "scale", "did you divide by p instead of 1-p?"),
    "no_scale_anywhere": Wrong(code(FORWARD.replace("0.0 if p == 1 else 1.0 / (1.0 - p)", "1.0")),
                               "scale", "did you forget to divide the kept values by 1-p"),
    "keep_probability_p": Wrong(code(FORWARD.replace("bernoulli_(1.0 - p)", "bernoulli_(p)")),
                                "keep_fraction", "kept"),
    "mask_drawn_once": Wrong(code(FORWARD.replace(
        "        mask = torch.empty_like(x).bernoulli_(1.0 - p)",
        "        mask = (torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) >= p).to(x.dtype)")),
        "fresh_mask", "dropped exactly the same entries"),
    "eval_scales": Wrong(code(FORWARD.replace("            return x.clone()", "            return x / (1 - p)")),
                         "eval_mode", "the output is x/(1-p)"),
    "p_one_nan": Wrong(code(FORWARD.replace("0.0 if p == 1 else 1.0 / (1.0 - p)",
                                            "1.0 / torch.tensor(1.0 - p, dtype=x.dtype)")),
                       "p_one", "contains NaN: that is 0/0"),
    "p_one_nan_in_backward": Wrong(code(backward=_back(
        "return grad_output * mask / torch.tensor(1.0 - ctx.p, dtype=grad_output.dtype), None, None")),
        "p_one", "x.grad holds NaN: that is 0/0"),
    "returns_the_mask_too": Wrong(code(FORWARD.replace("return x * mask * ctx.scale",
                                                       "return x * mask * ctx.scale, mask")),
                                  "forward_output", "expected a torch.Tensor"),
    # --- not by hand ---
    "library_dropout": Wrong(code(
        """        ctx.save_for_backward(x)
        ctx.p, ctx.training = p, training
        return F.dropout(x, p, training)""",
        """        x, = ctx.saved_tensors
        with torch.enable_grad():
            x = x.detach().requires_grad_()
            y = F.dropout(x, ctx.p, ctx.training)
            return torch.autograd.grad(y, x, grad_output)[0], None, None"""),
        "by_hand", "uses F.dropout"),
    "autograd_does_the_backward": Wrong(code(
        FORWARD.replace("        ctx.save_for_backward(mask)", "        ctx.save_for_backward(mask, x)").replace(
            "            ctx.save_for_backward(torch.ones_like(x))",
            "            ctx.save_for_backward(torch.ones_like(x), x)"),
        """        mask, x = ctx.saved_tensors
        with torch.enable_grad():
            x = x.detach().requires_grad_()
            y = x * mask * ctx.scale
            return torch.autograd.grad(y, x, grad_output)[0], None, None"""),
        "by_hand", "DropoutFunction.backward calls torch.autograd.grad"),
}
