"""Adam for ``fit``: PyTorch's own fused kernel, called once per step without the optimizer wrapper.

``torch.optim.Adam(fused=True)`` runs one fused kernel per step, but on a small CPU model
its Python wrapper (profiling hooks, grouping tensors by device and dtype, per-parameter
step counters) costs more than the kernel: 0.3-0.5 ms of a 3-4 ms step here. ``AdamStep``
keeps Adam's state itself and calls the same kernel with the same arguments, so the
parameters it produces are bit-for-bit those of ``torch.optim.Adam(fused=True)``
(``tests/test_adam.py`` checks this, weight decay and missing gradients included).

The same holds on a GPU: with every parameter on one CUDA (or MPS) device, the kernel is
PyTorch's fused CUDA (MPS) kernel, and the step counters live on that device as
``torch.optim.Adam(fused=True)`` keeps them. When the kernel cannot be used (a PyTorch
without it for that device, such as the CPU before 2.4; parameters on several devices; or
parameters that are not all float32 or all float64), it falls back to ``torch.optim.Adam``,
which gives the same maths.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AdamStep"]

BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, which the tutorial uses
EPS = 1e-8


def _fused_kernel_usable(params: list[torch.Tensor]) -> bool:
    dtypes = {p.dtype for p in params}
    devices = {p.device for p in params}
    if not (
        hasattr(torch, "_fused_adam_")
        and len(devices) == 1
        and len(dtypes) == 1 and dtypes <= {torch.float32, torch.float64}
    ):
        return False
    device = devices.pop()
    one = torch.zeros(1, dtype=dtypes.pop(), device=device)
    try:  # PyTorch 2.2 and 2.3 have the kernel for CUDA only; MPS lacks float64
        torch._fused_adam_(
            [one.clone()], [one.clone()], [one.clone()], [one.clone()], [], [torch.ones((), device=device)],
            lr=1e-3, beta1=BETAS[0], beta2=BETAS[1], weight_decay=0.0, eps=EPS, amsgrad=False, maximize=False,
        )
    except (RuntimeError, NotImplementedError, TypeError):
        return False
    return True


class AdamStep:
    """``step()`` applies one Adam update from the parameters' ``.grad``; ``zero_grad()`` clears them.

    Parameters whose ``.grad`` is None are skipped and their step count is not advanced,
    as in ``torch.optim.Adam``.
    """

    def __init__(self, model: nn.Module, *, lr: float, weight_decay: float = 0.0) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.fused = _fused_kernel_usable(self.params)
        if self.fused:
            self._exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
            self._exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
            # One counter per parameter, as views of one vector: the usual step (every parameter
            # has a gradient) advances them all with a single add. On the parameters' device, where
            # the fused kernel reads them (torch.optim.Adam(fused=True) keeps them there too).
            self._step_counts = torch.zeros(len(self.params), dtype=torch.float32, device=self.params[0].device)
            self._steps = list(self._step_counts.unbind())
            self._optimizer = None
        else:
            self._optimizer = torch.optim.Adam(self.params, lr=lr, weight_decay=weight_decay)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        if self._optimizer is not None:
            self._optimizer.step()
            return
        grads = [p.grad for p in self.params]
        if all(g is not None for g in grads):
            params, exp_avg, exp_avg_sq, steps = self.params, self._exp_avg, self._exp_avg_sq, self._steps
            self._step_counts.add_(1)
        else:
            keep = [i for i, g in enumerate(grads) if g is not None]
            if not keep:
                return
            grads = [grads[i] for i in keep]
            params = [self.params[i] for i in keep]
            exp_avg = [self._exp_avg[i] for i in keep]
            exp_avg_sq = [self._exp_avg_sq[i] for i in keep]
            steps = [self._steps[i] for i in keep]
            for count in steps:
                count.add_(1)
        torch._fused_adam_(
            params, grads, exp_avg, exp_avg_sq, [], steps,
            lr=self.lr, beta1=BETAS[0], beta2=BETAS[1], weight_decay=self.weight_decay, eps=EPS,
            amsgrad=False, maximize=False,
        )
