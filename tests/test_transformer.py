"""Tests of dropout_kit.transformer: the dropout sites of PyTorch's transformer layers, found by running them."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dropout_kit import transformer

pytestmark = pytest.mark.usefixtures("one_thread")


def encoder_layer(**kwargs):
    torch.manual_seed(0)
    return nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.1, batch_first=True,
                                      **kwargs)


def x16():
    return torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(1))


def neighbours(table):
    return {r["site"]: (r["runs after"], r["runs before"]) for r in table}


def test_post_norm_layer_sites_in_pytorchs_order():
    """Are the four sites of a post-norm layer found, each between the modules PyTorch's forward puts around it?"""
    table = transformer.dropout_sites(encoder_layer(), x16())
    assert neighbours(table) == {
        "self_attn.dropout": ("softmax inside self_attn", "the weights' product with the values"),
        "dropout": ("linear1", "linear2"),
        "dropout1": ("self_attn", "norm1"),
        "dropout2": ("linear2", "norm2"),
    }
    assert all(r["p"] == 0.1 for r in table)
    assert {r["kind"] for r in table} == {"module", "attention weights"}


def test_pre_norm_layer_moves_the_norms_not_the_dropouts():
    """With norm_first=True, does dropout1 still follow self_attn and dropout2 linear2, with the norms before the blocks?"""
    sites = neighbours(transformer.dropout_sites(encoder_layer(norm_first=True), x16()))
    assert sites["dropout1"] == ("self_attn", "norm2")
    assert sites["dropout2"] == ("linear2", "(the model's output)")
    assert sites["dropout"] == ("linear1", "linear2")


def test_tiny_encoder_adds_embedding_dropout_and_layer_sites():
    """Does TinyEncoder's embedding dropout follow the embeddings, beside four sites per encoder layer?"""
    model = transformer.TinyEncoder(layers=2, p=0.2, p_embedding=0.3)
    tokens = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(2))
    table = transformer.dropout_sites(model, tokens)
    assert len(table) == 1 + 2 * 4
    assert neighbours(table)["embed_dropout"] == ("position", "encoder.layers.0.self_attn")
    assert {r["site"]: r["p"] for r in table}["embed_dropout"] == 0.3
    assert {r["p"] for r in table if r["site"] != "embed_dropout"} == {0.2}
    assert model(tokens).shape == (2, 7, 32)


def test_site_effects_one_site_at_a_time():
    """Does each site alone zero about p of its output and make train mode differ from eval, the control neither?

    Seeded. Each site drops at least 5 * 16 = 80 values (attention: 3 * 2 * 5 * 5 = 150 weights); the bound
    p ± 0.25 is over 4 binomial standard deviations wide (false-failure probability below 1e-4 per site).
    """
    model = encoder_layer()
    table = transformer.site_effects(model, x16(), p=0.5, seed=0)
    control, sites = table[0], table[1:]
    assert control["site on"].startswith("(none") and math.isnan(control["zeroed"])
    assert control["train == eval"] and control["two passes equal"]
    assert [r["site on"] for r in sites] == ["self_attn.dropout", "dropout", "dropout1", "dropout2"]
    for row in sites:
        assert abs(row["zeroed"] - 0.5) < 0.25
        assert not row["train == eval"] and not row["two passes equal"]
    assert model.dropout1.p == 0.1 and model.self_attn.dropout == 0.1  # the model itself is left alone
    assert sites == transformer.site_effects(model, x16(), p=0.5, seed=0)[1:]  # seeded (the control holds NaN)


def test_attention_weights_rows_sum_to_one_only_in_eval_mode():
    """Do eval-mode attention weights sum to 1 per query, and train-mode ones hold zeros and 1/(1-p)-scaled rest?"""
    model = encoder_layer()
    model.self_attn.dropout = 0.5
    x = x16()
    evaluated = transformer.attention_weights(model, "self_attn", x, train=False)
    trained = transformer.attention_weights(model, "self_attn", x, train=True, seed=3)
    assert evaluated.shape == (2, 5, 5) and model.training
    assert torch.allclose(evaluated.sum(dim=-1), torch.ones(2, 5), atol=1e-6)
    kept = trained != 0
    assert 0 < float((~kept).float().mean()) < 1
    assert torch.allclose(trained[kept], evaluated[kept] * 2, atol=1e-6)
    with pytest.raises(ValueError, match="not an nn.MultiheadAttention"):
        transformer.attention_weights(model, "linear1", x, train=True)
