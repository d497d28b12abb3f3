"""Tests of dropout_kit.tuning on a tiny synthetic dataset (one or two epochs: seconds in all)."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from torch import nn

from dropout_kit import leakage, regularization, tuning
from dropout_kit.data import Split, Splits
from dropout_kit.models import DropoutMLP, build_mlp
from dropout_kit.runs import summarize, train_runs
from dropout_kit.seeding import seed_everything
from dropout_kit.train import evaluate

FIT = {"epochs": 1, "batch_size": 32, "progress": False}


def blobs(n, seed):
    """Ten separable classes of 28x28 'images' (class centre plus noise)."""
    y = torch.arange(n) % 10
    centres = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    X = (centres[y] + 0.3 * torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)
    return Split(X, y)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    return Splits(train=blobs(120, 0), val=blobs(60, 1), test=blobs(60, 2))


def row(p, mean, std, n=3, label=None):
    return {"label": label or f"p={p}", "p": p, "n": n, "val_acc_mean": mean, "val_acc_std": std}


# --- sweep ---------------------------------------------------------------------------------


def test_sweep_one_row_per_config_with_the_runs_mean_and_std(tiny, capsys):
    """Does sweep give one row per config whose mean/std are those of train_runs + summarize on the same seeds?"""
    configs = [0.0, 0.5, (0.2, 0.5), {"p": 0.3, "weight_decay": 1e-3}]
    table = tuning.sweep(configs, tiny, seeds=[0, 1], **FIT)
    assert [r["label"] for r in table] == ["p=0.0", "p=0.5", "p=(0.2, 0.5)", "p=0.3, wd=0.001"]
    assert [r["p"] for r in table] == [0.0, 0.5, (0.2, 0.5), 0.3]
    assert [r["weight_decay"] for r in table] == [0.0, 0.0, 0.0, 1e-3]
    assert all(r["n"] == 2 for r in table)
    histories = train_runs(lambda: build_mlp(0.5), tiny, seeds=[0, 1], **FIT)
    accs = [h.final["val_acc"] for h in histories]
    assert table[1]["val_acc_mean"] == pytest.approx(statistics.fmean(accs), abs=1e-12)
    assert table[1]["val_acc_std"] == pytest.approx(statistics.stdev(accs), abs=1e-12)
    expected = summarize("p=0.5", histories)
    for key in ("train_eval_acc_mean", "val_loss_mean", "val_loss_std", "gap_mean"):
        assert table[1][key] == pytest.approx(expected[key], abs=1e-12)
    assert capsys.readouterr().out.count(" runs, ") == 4
    assert all(r["seconds"] > 0 for r in table)
    assert table[1]["seeds"] == [0, 1] and table[1]["val_acc_runs"] == accs
    assert "| label |" in str(table)


def test_sweep_weight_decay_reaches_fit(tiny):
    """Does a config's weight_decay change the result (it is passed to fit), and the same config reproduce it?"""
    a = tuning.sweep([{"p": 0.0, "weight_decay": 0.5}], tiny, seeds=[0], verbose=False, **FIT)
    b = tuning.sweep([{"p": 0.0, "weight_decay": 0.5}], tiny, seeds=[0], verbose=False, **FIT)
    c = tuning.sweep([0.0], tiny, seeds=[0], verbose=False, **FIT)
    assert a[0]["val_loss_mean"] == b[0]["val_loss_mean"] != c[0]["val_loss_mean"]
    assert math.isnan(a[0]["val_acc_std"])  # one seed: no std


@pytest.mark.slow  # starts worker processes twice: about 10 s
def test_workers_give_the_same_tables_as_one_process(tiny):
    """Do 2 worker processes give exactly the sweep and CV tables of 1 process?"""
    configs = [0.0, {"p": (0.2, 0.5), "weight_decay": 1e-3}]
    one = tuning.sweep(configs, tiny, seeds=[0, 1], verbose=False, **FIT)
    two = tuning.sweep(configs, tiny, seeds=[0, 1], workers=2, verbose=False, **FIT)
    drop_time = [{k: v for k, v in r.items() if k != "seconds"} for r in one]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in two] == drop_time
    cv_one = tuning.cross_validate([0.3], tiny.train, k=3, verbose=False, **FIT)
    cv_two = tuning.cross_validate([0.3], tiny.train, k=3, workers=2, verbose=False, **FIT)
    assert cv_two == cv_one


def test_workers_refuse_a_lambda_and_bad_counts(tiny):
    """With workers > 1, is a lambda make_model refused with a hint, and workers < 1 refused?"""
    with pytest.raises(ValueError, match="not a lambda"):
        tuning.sweep([0.1], tiny, seeds=[0, 1], workers=2, make_model=lambda p: build_mlp(p), **FIT)
    with pytest.raises(ValueError, match="workers must be"):
        tuning.sweep([0.1], tiny, seeds=[0, 1], workers=0, **FIT)


def test_sweep_records_test_accuracy_only_when_asked(tiny):
    """Does test=True add test_acc_mean/std to the rows (for a final report), and leave it out otherwise?"""
    with_test = tuning.sweep([0.2], tiny, seeds=[0, 1], test=True, verbose=False, **FIT)
    without = tuning.sweep([0.2], tiny, seeds=[0, 1], verbose=False, **FIT)
    assert "test_acc_mean" in with_test[0] and "test_acc_mean" not in without[0]
    assert with_test[0]["val_acc_mean"] == without[0]["val_acc_mean"]


def test_sweep_refuses_bad_configs(tiny):
    """Are an unknown config key and weight_decay given outside the configs refused with a hint?"""
    with pytest.raises(ValueError, match="'weight_decay'"):
        tuning.sweep([{"p": 0.1, "lr": 1}], tiny, seeds=[0], **FIT)
    with pytest.raises(ValueError, match="inside the configs"):
        tuning.sweep([0.1], tiny, seeds=[0], weight_decay=1e-3, **FIT)


def test_a_config_may_bring_its_own_model(tiny):
    """Does a config's make_model build that config's networks (sweeps and cross-validation), others the default's?"""
    import functools

    wide = functools.partial(build_mlp, hidden=(32, 16))
    configs = [{"p": 0.5, "label": "default"}, {"p": 0.5, "label": "wide", "make_model": wide}]
    table = tuning.sweep(configs, tiny, seeds=[0, 1], verbose=False, **FIT)
    by_hand = train_runs(functools.partial(wide, 0.5), tiny, seeds=[0, 1], **FIT)
    assert table[1]["val_acc_runs"] == [h.final["val_acc"] for h in by_hand]
    assert table[0]["val_acc_runs"] != table[1]["val_acc_runs"]
    folds = tuning.cross_validate(configs[1:], tiny.train, k=2, seed=0, verbose=False, **FIT)
    train_idx, val_idx = tuning.stratified_kfold(tiny.train.y, 2, seed=0)[0]
    X, y = tiny.train
    model, _ = tuning.fit_fresh(functools.partial(wide, 0.5), ((X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])),
                                seed=0, **FIT)
    assert model.fc1.out_features == 32 and folds[0]["val_acc"] == evaluate(model, X[val_idx], y[val_idx]).accuracy


def test_grid_is_the_product_rates_slowest():
    """Does grid give every (p, weight_decay) pair, rates varying slowest?"""
    assert tuning.grid([0, 0.3], [1e-4, 1e-3]) == [
        {"p": 0, "weight_decay": 1e-4}, {"p": 0, "weight_decay": 1e-3},
        {"p": 0.3, "weight_decay": 1e-4}, {"p": 0.3, "weight_decay": 1e-3}]


def test_sweep_rows_carry_the_measures(tiny):
    """With measure=, does each row hold every measure per run in seed order, and mean/std of the numeric ones?"""
    table = tuning.sweep([0.0, 0.5], tiny, seeds=[0, 1], verbose=False,
                         measure=[regularization.weight_stats, leakage.val_correct], **FIT)
    for row in table:
        assert len(row["sparsity_runs"]) == 2 and len(row["val_correct_runs"][0]) == len(tiny.val)
        assert row["sparsity_mean"] == pytest.approx(statistics.fmean(row["sparsity_runs"]), abs=1e-12)
        assert row["val_acc_runs"] == pytest.approx([sum(c) / len(c) for c in row["val_correct_runs"]])
        assert "val_correct_mean" not in row and "input_map_mean" not in row


# --- choosing and comparing -----------------------------------------------------------------


def test_pick_rate_takes_the_largest_p_within_one_se():
    """Is the pick the largest p whose mean is >= best - std_best/sqrt(n), not the best itself (the one-SE rule)?"""
    table = [row(0.1, 0.84, 0.01, 4), row(0.2, 0.852, 0.01, 4), row(0.3, 0.856, 0.01, 4), row(0.4, 0.853, 0.01, 4),
             row(0.5, 0.848, 0.01, 4)]
    assert tuning.pick_rate(table) == 0.4  # line 0.856 - 0.005 = 0.851; 0.5 is within one std, not one SE
    assert tuning.pick_rate(table[::-1]) == 0.4  # the order of the rows does not matter
    assert tuning.pick_rate([row(0.1, 0.84, math.nan, 1), row(0.2, 0.85, math.nan, 1),
                             row(0.3, 0.83, math.nan, 1)]) == 0.2  # n = 1: SE 0, the best wins


def test_pick_rate_counts_ties_and_the_line_as_within():
    """Do a tie for the best and a row exactly one SE below it (exact in binary) count as within?"""
    assert tuning.pick_rate([row(0.2, 0.875, 0.0625, 4), row(0.4, 0.875, 0.0625, 4),
                             row(0.6, 0.8, 0.0625, 4)]) == 0.4
    assert tuning.pick_rate([row(0.2, 0.875, 0.0625, 4), row(0.4, 0.84375, 0.0625, 4),
                             row(0.6, 0.84374, 0.0625, 4)]) == 0.4  # 0.875 - 0.0625 / 2 = 0.84375


def test_pick_rate_refuses_test_metrics_pairs_and_empty_tables():
    """Are test metrics, per-layer pairs and an empty table refused with a reason?"""
    with pytest.raises(ValueError, match="final report"):
        tuning.pick_rate([row(0.1, 0.8, 0.01)], metric="test_acc")
    with pytest.raises(TypeError, match="pairs"):
        tuning.pick_rate([row((0.2, 0.5), 0.8, 0.01)])
    with pytest.raises(ValueError, match="empty"):
        tuning.pick_rate([])


def test_difference_is_welch_standard_error():
    """Is the difference b - a, with SE sqrt(sa²/na + sb²/nb) and the 2-SE verdict?"""
    table = [row(0.2, 0.850, 0.006, 4, "a"), row(0.5, 0.860, 0.008, 4, "b")]
    d = tuning.difference(table, "a", "b")
    se = math.sqrt(0.006**2 / 4 + 0.008**2 / 4)
    assert d["difference"] == pytest.approx(0.010)
    assert d["se"] == pytest.approx(se)
    assert d["z"] == pytest.approx(0.010 / se)
    assert d["beyond_noise"] and "larger than seed noise" in d["verdict"]
    close = tuning.difference([row(0.2, 0.850, 0.006, 4, "a"), row(0.5, 0.853, 0.008, 4, "b")], "a", "b")
    assert not close["beyond_noise"] and "within seed noise" in close["verdict"]
    single = tuning.difference([row(0.2, 0.85, math.nan, 1), row(0.5, 0.86, math.nan, 1)], 0.2, 0.5)
    assert math.isnan(single["z"]) and "cannot be judged" in single["verdict"]


def test_paired_by_seed_uses_per_seed_differences(tiny):
    """Is the paired difference the mean of per-seed differences, with SE std/sqrt(n), and unequal seeds refused?"""
    table = tuning.sweep([(0.2, 0.5), (0.5, 0.2)], tiny, seeds=[0, 1, 2], verbose=False, **FIT)
    pair = tuning.paired_by_seed(table, "p=(0.2, 0.5)", "p=(0.5, 0.2)")
    diffs = [b - a for a, b in zip(table[0]["val_acc_runs"], table[1]["val_acc_runs"])]
    assert pair["per_seed"] == pytest.approx(diffs)
    assert pair["difference"] == pytest.approx(statistics.fmean(diffs))
    assert pair["se"] == pytest.approx(statistics.stdev(diffs) / math.sqrt(3))
    other = tuning.sweep([0.3], tiny, seeds=[5, 6, 7], verbose=False, **FIT)
    with pytest.raises(ValueError, match="different seeds"):
        tuning.paired_by_seed(table + other, "p=(0.2, 0.5)", "p=0.3")


def test_neighbours_compare_adjacent_rates_in_order_of_p():
    """Does neighbours give one row per adjacent pair, sorted by p, with the same numbers as difference?"""
    table = [row(0.3, 0.85, 0.01), row(0.1, 0.83, 0.01), row(0.2, 0.84, 0.02)]
    out = tuning.neighbours(table)
    assert [(r["from"], r["to"]) for r in out] == [("p=0.1", "p=0.2"), ("p=0.2", "p=0.3")]
    assert out[0]["se"] == pytest.approx(tuning.difference(table, 0.1, 0.2)["se"])


def test_std_ratio_band_is_the_trigamma_band():
    """Is the band exp(z * sqrt(trigamma((n-1)/2) / 2)), e.g. exp(2 sqrt((pi²/6 - 1) / 2)) for n = 5?"""
    assert tuning.std_ratio_band(5) == pytest.approx(math.exp(2 * math.sqrt((math.pi**2 / 6 - 1) / 2)))
    # trigamma(1/2) = pi²/2: two stds of two values each.
    assert tuning.std_ratio_band(2, z=1.0) == pytest.approx(math.exp(math.sqrt(math.pi**2 / 4)))
    assert tuning.std_ratio_band(47) < tuning.std_ratio_band(5) < tuning.std_ratio_band(3)


@pytest.mark.parametrize("n", [5, 47])
def test_std_ratio_band_holds_about_95_percent_of_chance_ratios(n):
    """Do about 95% of ratios of two stds of n normal values (same true spread) fall inside the band?

    Exactly (F distribution) 4.9% fall outside for n = 5 and 4.6% for n = 47. With 20,000 seeded pairs
    the observed share has a standard error of 0.15 points, so the 3.5-6.5% window fails by chance with
    probability below 1e-14 for any seed.
    """
    generator = torch.Generator().manual_seed(n)
    a, b = (torch.randn(20_000, n, generator=generator, dtype=torch.float64).std(dim=1) for _ in range(2))
    band = tuning.std_ratio_band(n)
    outside = ((a / b > band) | (a / b < 1 / band)).double().mean().item()
    assert 0.035 < outside < 0.065


@pytest.mark.parametrize("n", [1, 0, 2.5, True, "5"])
def test_std_ratio_band_refuses_fewer_than_two_values(n):
    """Is an n that cannot give a standard deviation refused with the reason?"""
    with pytest.raises(ValueError, match="at least 2 values"):
        tuning.std_ratio_band(n)


# --- cross-validation -------------------------------------------------------------------------


@pytest.mark.parametrize("n, k", [(100, 5), (103, 4), (57, 3), (30, 10)])
def test_stratified_kfold_disjoint_covering_and_stratified(n, k):
    """Are the folds disjoint, do they cover every index once, and is each class split evenly (±1)?"""
    y = torch.tensor([0] * (n // 2) + [1] * (n // 3) + [2] * (n - n // 2 - n // 3))
    y = y[torch.randperm(n, generator=torch.Generator().manual_seed(1))]
    folds = tuning.stratified_kfold(y, k, seed=3)
    assert len(folds) == k
    vals = torch.cat([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(n))  # disjoint and covering
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert set(train.tolist()).isdisjoint(val.tolist()) and len(train) + len(val) == n
    for c in range(3):
        counts = [int((y[v] == c).sum()) for _, v in folds]
        assert max(counts) - min(counts) <= 1, (c, counts)


def test_stratified_kfold_is_seeded_and_refuses_bad_k():
    """Does the same seed give the same folds, another seed others, and is k outside [2, n] refused?"""
    y = torch.arange(40) % 4
    a, b, c = (tuning.stratified_kfold(y, 4, seed=s) for s in (0, 0, 1))
    assert all(torch.equal(x[1], z[1]) for x, z in zip(a, b))
    assert not all(torch.equal(x[1], z[1]) for x, z in zip(a, c))
    for k in (1, 41, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            tuning.stratified_kfold(y, k)


def test_cross_validate_rows_folds_and_paired_difference(tiny):
    """Does cross_validate give one row per config and fold on the same folds, and summaries/pairs agree?"""
    table = tuning.cross_validate([0.0, 0.5], tiny.train, k=3, seed=0, verbose=False, **FIT)
    assert [(r["label"], r["fold"]) for r in table] == [(f"p={p}", i) for p in (0.0, 0.5) for i in range(3)]
    assert all(r["n_train"] + r["n_val"] == 120 and r["n_val"] == 40 for r in table)
    # Refit fold 1 of p=0.5 by hand: same folds, same seed, same numbers.
    train_idx, val_idx = tuning.stratified_kfold(tiny.train.y, 3, seed=0)[1]
    X, y = tiny.train
    model, _ = tuning.fit_fresh(lambda: build_mlp(0.5), ((X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])),
                                seed=0, **FIT)
    assert table[4]["val_acc"] == evaluate(model, X[val_idx], y[val_idx]).accuracy
    summary = tuning.summarize_folds(table)
    assert [r["n"] for r in summary] == [3, 3]
    assert summary[1]["val_acc_mean"] == pytest.approx(statistics.fmean(r["val_acc"] for r in table[3:]))
    pair = tuning.paired_difference(table, 0.0, 0.5)
    diffs = [b["val_acc"] - a["val_acc"] for a, b in zip(table[:3], table[3:])]
    assert pair["per_fold"] == pytest.approx(diffs)
    assert pair["difference"] == pytest.approx(statistics.fmean(diffs))
    assert pair["se"] == pytest.approx(statistics.stdev(diffs) / math.sqrt(3))


# --- fresh parameters -------------------------------------------------------------------------


def test_fit_fresh_is_reproducible_and_fit_again_continues(tiny):
    """Does fit_fresh reproduce with a seed, while fitting a trained model again starts from its trained weights?"""
    model_a, hist_a = tuning.fit_fresh(lambda: DropoutMLP(0.2), tiny, seed=0, **FIT)
    model_b, hist_b = tuning.fit_fresh(lambda: DropoutMLP(0.2), tiny, seed=0, **FIT)
    assert hist_a.metrics() == hist_b.metrics()
    assert all(torch.equal(a, b) for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()))
    trained_acc = evaluate(model_a, *tiny.val).accuracy
    from dropout_kit.train import fit
    again = fit(model_a, tiny, seed=0, **FIT)  # the forum's mistake: no re-initialisation
    assert again.metrics() != hist_a.metrics()
    assert again.train_acc[0] > hist_a.train_acc[0]  # it starts where the first run ended
    assert trained_acc > 0.3


def test_reset_parameters_reinitialises_every_layer_reproducibly():
    """Does reset_parameters re-draw every Linear (3 in the MLP), reproducibly after seed_everything?"""
    seed_everything(0)
    model = build_mlp(0.3)
    before = [p.clone() for p in model.parameters()]
    seed_everything(5)
    assert tuning.reset_parameters(model) == 3
    after = [p.clone() for p in model.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    seed_everything(5)
    tuning.reset_parameters(model)
    assert all(torch.equal(a, b) for a, b in zip(after, model.parameters()))


def test_reset_parameters_changes_every_parameter_of_a_trained_mlp():
    """After a reset, does every parameter of a (perturbed, as if trained) MLP differ from before?"""
    model = build_mlp((0.2, 0.5))
    with torch.no_grad():
        for w in model.parameters():
            w.add_(1.0)
    trained = {name: w.clone() for name, w in model.named_parameters()}
    assert tuning.parameters_without_reset(model) == []
    tuning.reset_parameters(model)
    assert [name for name, w in model.named_parameters() if torch.equal(w, trained[name])] == []


def attention_model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True))


def test_parameters_without_reset_finds_multihead_attention_weights():
    """Are MultiheadAttention's in_proj weight and bias (reached by no public reset_parameters) listed, and only they?

    The reference is PyTorch itself: a loop calling reset_parameters() wherever it exists leaves
    exactly those parameters as they were.
    """
    model = attention_model()
    assert not hasattr(nn.MultiheadAttention, "reset_parameters")
    missed = tuning.parameters_without_reset(model)
    assert missed == ["1.self_attn.in_proj_weight", "1.self_attn.in_proj_bias"]
    with torch.no_grad():
        for w in model.parameters():
            w.add_(1.0)
    trained = {name: w.clone() for name, w in model.named_parameters()}
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    assert [name for name, w in model.named_parameters() if torch.equal(w, trained[name])] == missed


def test_reset_parameters_refuses_a_model_it_cannot_fully_reset_and_leaves_it_untouched():
    """Does reset_parameters refuse a model with MultiheadAttention, naming the parameters and the remedy, and change nothing?"""
    model = attention_model()
    before = {name: w.clone() for name, w in model.named_parameters()}
    with pytest.raises(ValueError, match=r"in_proj_weight.*MultiheadAttention.*build a new model"):
        tuning.reset_parameters(model)
    assert all(torch.equal(w, before[name]) for name, w in model.named_parameters())


def test_set_dropout_rates_per_layer_and_errors():
    """Does set_dropout_rates set each nn.Dropout's p in order, and refuse a wrong count or rate?"""
    model = DropoutMLP((0.2, 0.5))
    assert tuning.set_dropout_rates(model, (0.5, 0.2)) == [0.5, 0.2]
    assert (model.dropout1.p, model.dropout2.p) == (0.5, 0.2)
    assert tuning.set_dropout_rates(model, 0.1) == [0.1, 0.1]
    with pytest.raises(ValueError, match="2 dropout layers"):
        tuning.set_dropout_rates(model, (0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        tuning.set_dropout_rates(model, 1.5)
    assert tuning.set_dropout_rates(nn.Linear(2, 2), ()) == []
