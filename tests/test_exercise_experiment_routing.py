"""The routing network and mask statistics of lesson 05's judge (routing.py, masks.py, identify.measure)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dropout_kit.exercises.experiment import masks
from dropout_kit.exercises.experiment.identify import Design, baseline_logits, measure
from dropout_kit.exercises.experiment.probing import random_case
from dropout_kit.exercises.experiment.routing import PARAM_SHAPES, outcome_probabilities, routing
from dropout_kit.models import SiteDropoutMLP


def _routed_train(rates, seed: int = 0, rows: int = 4096, calls: int = 4) -> tuple[np.ndarray, object]:
    """Train-mode logits of SiteDropoutMLP(rates) on the routing of ``seed``: real dropout, as a probe would see it."""
    routed = routing(seed)
    model = SiteDropoutMLP(rates)
    with torch.no_grad():
        for param, value in zip(model.parameters(), routed.params):
            param.copy_(torch.from_numpy(value))
        torch.manual_seed(seed)
        X = torch.from_numpy(np.repeat(routed.x.reshape(1, 1, 28, 28), rows, axis=0))
        out = np.stack([model.train()(X).numpy() for _ in range(calls)])
    return out, routed


def test_routing_is_the_baseline_with_whole_number_outputs():
    """Has the routing the baseline's shapes, and does the baseline give each logit the sum of its coefficients?"""
    routed = routing(5)
    assert [p.shape for p in routed.params] == list(PARAM_SHAPES)
    logits = baseline_logits(list(routed.params), routed.x.reshape(1, 1, 28, 28))
    assert np.array_equal(logits[0], routed.eval_levels) and len(routed.routes) == 10


def test_routing_depends_on_the_seed_only():
    """Does one seed give the same routing twice, and another seed other units?"""
    a, b, c = routing(1), routing(1), routing(2)
    assert all(np.array_equal(x, y) for x, y in zip(a.params, b.params)) and a.routes == b.routes
    assert a.routes != c.routes


def test_every_route_passes_the_same_sites_on_every_path():
    """Does each logit's every term pass the same sites, so that one unit scale fits the whole logit?"""
    for route in routing(0).routes:
        assert len({tuple(sorted(s for s, _ in masks_)) for _, masks_ in route.terms}) == 1, route.name


def test_outcome_probabilities_are_exact():
    """Are a chain's and a fan-in's outcome probabilities the products of keep probabilities, summing to 1?"""
    chain = ((1, ((1, 0), (2, 0))),)
    probs = outcome_probabilities([chain], {1: 0.5, 2: 0.8})
    assert probs == pytest.approx({(0,): 0.6, (1,): 0.4})
    fanin = ((1, ((0, 0),)), (2, ((0, 1),)))
    probs = outcome_probabilities([fanin], {0: 0.7})
    assert probs == pytest.approx({(0,): 0.09, (1,): 0.21, (2,): 0.21, (3,): 0.49})


@pytest.mark.parametrize("rates", [(0.2, 0.5, 0.5, 0), (0, 0.3, 0.3, 0), (0.1, 0, 0.25, 0.4), (0.9, 0.9, 0, 0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_real_dropout_is_measured_exactly_and_passes_the_mask_tests(rates, seed):
    """Does nn.Dropout at known sites give exactly its rates, and pass the binomial tests (false failure <= 1e-6)?"""
    out, routed = _routed_train(rates, seed)
    problem, design, levels = measure(out, routed.routes)
    assert problem is None and design == Design(*rates)
    assert masks.problem(levels, routed.routes, design) is None


def test_wrong_rates_fail_the_mask_tests():
    """Would the counts of real dropout at 0.5 refuse a claim of 0.4 (the frequencies contradict it)?"""
    out, routed = _routed_train((0, 0.5, 0, 0))
    _, _, levels = measure(out, routed.routes)
    problem = masks.problem(levels, routed.routes, Design(hidden1=0.4))
    assert problem is not None and "the measured rates keep 60.0%" in problem


def test_a_rate_near_one_everywhere_cannot_be_measured():
    """Is a design that lets nothing through reported as such, not measured as a rate?"""
    out, routed = _routed_train((0, 0, 0, 1.0))
    problem, design, _ = measure(out, routed.routes)
    assert design is None and "no value passed the logits" in problem


def test_random_case_uses_pytorchs_initialisation_ranges():
    """Are the random parameters within PyTorch's default ranges +-1/sqrt(fan_in), and the images in [0, 1)?"""
    params, X = random_case(3, 16)
    for value, shape, fan_in in zip(params, PARAM_SHAPES, (784, 784, 256, 256, 128, 128)):
        assert value.shape == shape and np.abs(value).max() <= 1 / np.sqrt(fan_in)
    assert X.shape == (16, 1, 28, 28) and 0 <= X.min() and X.max() < 1
