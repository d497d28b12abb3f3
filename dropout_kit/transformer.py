"""Where dropout acts in a transformer (lesson 11), read from PyTorch's modules and checked by running them.

``nn.TransformerEncoderLayer(d_model, nhead, dropout=p)`` takes one ``dropout`` argument and
uses it at four sites: inside self-attention on the softmax weights (``self_attn.dropout``, a
float: a functional dropout, not a module), after the attention block before its residual
sum (``dropout1``), between the two feed-forward Linear layers (``dropout``), and after the
feed-forward block before its residual sum (``dropout2``). Embedding dropout is not part of
any PyTorch transformer module: a model applies it to the embeddings itself (``TinyEncoder``).

``dropout_sites`` lists the sites with the modules that run just before and after each one
(found with forward hooks); ``site_effects`` switches the sites on one at a time and measures
what each does. Nothing here is trained.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dropout_kit.tables import Table

_DROPOUT = nn.modules.dropout._DropoutNd


class TinyEncoder(nn.Module):
    """Token and position embeddings, embedding dropout, then ``nn.TransformerEncoder``: a text model's shape.

    ``p`` is every encoder layer's ``dropout`` argument; ``p_embedding`` the rate of the dropout
    this model applies to the summed embeddings (as the original transformer did).
    """

    def __init__(self, *, vocab: int = 100, d_model: int = 32, nhead: int = 4, layers: int = 2,
                 max_len: int = 16, p: float = 0.1, p_embedding: float = 0.1) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Embedding(max_len, d_model)
        self.embed_dropout = nn.Dropout(p_embedding)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model, dropout=p,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        return self.encoder(self.embed_dropout(self.embed(tokens) + self.position(positions)))


def _sites(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(name, module, kind): every dropout module, and every MultiheadAttention's weight dropout."""
    sites = []
    for name, module in model.named_modules():
        if isinstance(module, _DROPOUT):
            sites.append((name, module, "module"))
        elif isinstance(module, nn.MultiheadAttention):
            sites.append((f"{name}.dropout", module, "attention weights"))
    return sites


def _set_rate(module: nn.Module, kind: str, p: float) -> None:
    if kind == "module":
        module.p = p
    else:
        module.dropout = p


def _rate(module: nn.Module, kind: str) -> float:
    return float(module.p if kind == "module" else module.dropout)


def _call_order(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the leaf modules (and attention blocks) in the order they finish, in one train-mode pass."""
    names = {m: n for n, m in model.named_modules() if n and (not list(m.children())
                                                                or isinstance(m, nn.MultiheadAttention))}
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda module, i, o: order.append(names[module])) for m in names]
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]):
            model.train()(x)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return order


def dropout_sites(model: nn.Module, x: torch.Tensor) -> Table:
    """Every dropout site of ``model`` with its rate and the modules that run just before and after it.

    Module sites are placed by forward hooks during one train-mode pass on ``x``; attention-weight
    dropout happens inside ``MultiheadAttention.forward``, so its row names that block.
    """
    order = _call_order(model, x)
    rows = []
    for name, module, kind in _sites(model):
        if kind == "module":
            where = [i for i, n in enumerate(order) if n == name]
            before = order[where[0] - 1] if where and where[0] > 0 else "(the model's input)"
            after = order[where[0] + 1] if where and where[0] + 1 < len(order) else "(the model's output)"
        else:
            before, after = f"softmax inside {name[:-len('.dropout')]}", "the weights' product with the values"
        rows.append({"site": name, "kind": kind, "p": _rate(module, kind), "runs after": before,
                     "runs before": after})
    return Table(rows)


def _only(model: nn.Module, keep: str | None, p: float) -> nn.Module:
    """A copy of ``model`` with every dropout site at rate 0 except ``keep``, which gets ``p``."""
    clone = copy.deepcopy(model)
    for name, module, kind in _sites(clone):
        _set_rate(module, kind, p if name == keep else 0.0)
    return clone


def _block_input(model: nn.Module, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The query tensor ``block`` receives when ``model`` runs on ``x`` (in the model's current mode)."""
    seen = []

    def keep(module, args, kwargs):
        seen.append(args[0] if args else kwargs["query"])  # returns None: the call goes on unchanged

    hook = block.register_forward_pre_hook(keep, with_kwargs=True)
    try:
        model(x)
    finally:
        hook.remove()
    return seen[0]


def _attention_zeros(model: nn.Module, name: str, x: torch.Tensor) -> float:
    """Fraction of zero attention weights of block ``name``, calling it with ``need_weights`` in train mode."""
    block = model.get_submodule(name[:-len(".dropout")])
    q = _block_input(model.train(), block, x)
    _, weights = block(q, q, q, need_weights=True, average_attn_weights=False)
    return float((weights == 0).double().mean())


def site_effects(model: nn.Module, x: torch.Tensor, *, p: float = 0.5, seed: int = 0) -> Table:
    """Switch the dropout sites on one at a time (rate ``p``, all others 0) and measure each (lesson 11).

    Columns: ``zeroed`` (the fraction of the site's output set to 0: for attention, of the
    attention weights, read by calling the block with ``need_weights=True`` on the input it
    received), ``train == eval`` (is the train-mode output identical to the eval-mode one?),
    ``two passes equal`` (do two train-mode passes agree?). The first row has every site off:
    the control. Gradients stay enabled, so PyTorch's fused eval-mode path is not taken and
    eval and train mode run the same code.
    """
    rows = []
    names = [None] + [name for name, _, _ in _sites(model)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in names:
            clone = _only(model, name, p)
            zeroed = float("nan")
            if name is not None and name.endswith(".dropout") and isinstance(
                    clone.get_submodule(name[:-len(".dropout")]), nn.MultiheadAttention):
                zeroed = _attention_zeros(clone, name, x)
            elif name is not None:
                out = {}
                hook = clone.get_submodule(name).register_forward_hook(
                    lambda m, i, o: out.update(zero=float(((o == 0) & (i[0] != 0)).double().sum()
                                                          / (i[0] != 0).double().sum())))
                clone.train()(x)
                hook.remove()
                zeroed = out["zero"]
            first, second = clone.train()(x), clone(x)
            rows.append({"site on": name or "(none: the control)", "zeroed": zeroed,
                         "train == eval": bool(torch.equal(first, clone.eval()(x))),
                         "two passes equal": bool(torch.equal(first, second))})
    return Table(rows, percent=["zeroed"])


def attention_weights(model: nn.Module, name: str, x: torch.Tensor, *, train: bool, seed: int = 0) -> torch.Tensor:
    """The attention weights (heads x queries x keys) of block ``name`` for the input it gets from ``x``.

    With ``train=True`` they are the weights after attention dropout: some are 0 and the rest
    are scaled by ``1/(1-p)``, so rows no longer sum to 1. For a figure of one example.
    """
    block = model.get_submodule(name)
    if not isinstance(block, nn.MultiheadAttention):
        raise ValueError(f"{name!r} is a {type(block).__name__}, not an nn.MultiheadAttention")
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            q = _block_input(model.eval(), block, x)
            model.train(train)
            _, weights = block(q, q, q, need_weights=True, average_attn_weights=False)
    finally:
        model.train(was_training)
    return weights[0]
