import math

import pytest
import torch
import torch.nn.functional as F

from dropout_kit.data import Split, Splits
from dropout_kit.device import describe_device
from dropout_kit.models import BaselineMLP, DropoutMLP
from dropout_kit.seeding import seed_everything
from dropout_kit.train import History, evaluate, fit


def blobs(n=600, seed=0):
    """Ten well-separated classes of 28x28 'images': a learnable task of known difficulty."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    centers = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    X = (centers[y] + 0.3 * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)
    return Split(X, y)


@pytest.fixture
def tiny():
    return Splits(train=blobs(600, 0), val=blobs(200, 1), test=blobs(200, 2))


def _run(data, seed, p=0.3, **kw):
    seed_everything(seed)
    model = DropoutMLP(p)
    return model, fit(model, data, epochs=kw.pop("epochs", 2), seed=seed, progress=False, **kw)


def test_same_seed_identical_history(tiny):
    """Does the same seed give an identical History (every metric, every epoch)?"""
    _, a = _run(tiny, 3)
    _, b = _run(tiny, 3)
    _, c = _run(tiny, 4)
    assert a.metrics() == b.metrics()
    assert a.metrics() != c.metrics()


def test_fit_really_learns(tiny):
    """Does fit take a model from chance to high accuracy on a learnable task?"""
    seed_everything(0)
    model = BaselineMLP()
    before = evaluate(model, *tiny.val)
    history = fit(model, tiny, epochs=3, seed=0, progress=False)
    assert before.accuracy < 0.3
    assert history.val_acc[-1] > 0.95
    assert history.train_loss[-1] < history.train_loss[0]


def test_history_fields_are_per_epoch_fractions(tiny):
    """Does History hold one value per epoch for every metric, accuracies in [0, 1]?"""
    _, h = _run(tiny, 0, epochs=3)
    assert len(h) == 3
    for name in ("train_loss", "train_acc", "train_eval_acc", "val_loss", "val_acc", "seconds"):
        assert len(getattr(h, name)) == 3
    for name in ("train_acc", "train_eval_acc", "val_acc"):
        assert all(0.0 <= v <= 1.0 for v in getattr(h, name))
    assert h.final["epoch"] == 3 and "val_acc" in str(h) and "<table>" in h._repr_html_()


def test_eval_every_leaves_nan_but_evaluates_last_epoch(tiny):
    """With eval_every=2 over 3 epochs, is epoch 2 and the last evaluated, epoch 1 NaN?"""
    _, h = _run(tiny, 0, epochs=3, eval_every=2)
    assert math.isnan(h.val_acc[0]) and not math.isnan(h.val_acc[1]) and not math.isnan(h.val_acc[2])


def test_eval_from_skips_early_epochs_without_changing_training(tiny):
    """With eval_from=3 over 4 epochs, are epochs 1-2 NaN, 3-4 evaluated, and the training the same?"""
    _, every = _run(tiny, 0, epochs=4)
    _, late = _run(tiny, 0, epochs=4, eval_from=3)
    assert math.isnan(late.val_loss[0]) and math.isnan(late.val_loss[1])
    assert late.val_loss[2:] == every.val_loss[2:] and late.train_loss == every.train_loss


@pytest.mark.parametrize("batch_size", [100, 128])  # 128: the last of 5 batches holds 88 images
def test_fit_replays_a_plain_loop_exactly(tiny, batch_size):
    """Is fit the plain loop (same order, torch's fused Adam), with train_acc and train_loss its
    fraction of correct predictions and its mean loss per image, the short last batch included?"""
    seed_everything(1)
    model = BaselineMLP()  # no dropout: the plain loop can replay it bit for bit
    reference = BaselineMLP()
    reference.load_state_dict(model.state_dict())
    history = fit(model, tiny, epochs=1, seed=1, progress=False, batch_size=batch_size)
    generator = seed_everything(1)
    order = torch.randperm(len(tiny.train), generator=generator)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, fused=True)
    correct, loss_sum = 0, 0.0
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        logits = reference(tiny.train.X[idx])
        loss = F.cross_entropy(logits, tiny.train.y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        correct += int((logits.argmax(1) == tiny.train.y[idx]).sum())
        loss_sum += loss.item() * len(idx)
    assert history.train_acc[0] == correct / len(tiny.train)
    assert history.train_loss[0] == pytest.approx(loss_sum / len(tiny.train), rel=1e-9)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)


def _todays_fit_as_a_plain_loop(data, *, seed, p, epochs, batch_size, train_eval_size):
    """The CPU fit as it was before devices existed, written out as a plain loop with torch's own
    fused Adam: shuffling by the seeded generator, dropout from the global stream, the loss per image
    weighted by batch length, evaluation in batches of 4096 summed in float64."""
    seed_everything(seed)
    model = DropoutMLP(p)
    generator = seed_everything(seed)
    (X, y), (X_val, y_val) = data.train, data.val
    n = len(y)
    probe = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:train_eval_size]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

    @torch.no_grad()
    def evaluate_plainly(X, y):
        model.eval()
        loss, correct = torch.zeros((), dtype=torch.float64), 0
        for i in range(0, len(y), 4096):
            logits = model(X[i:i + 4096])
            loss += F.cross_entropy(logits, y[i:i + 4096], reduction="sum").double()
            correct += int((logits.argmax(1) == y[i:i + 4096]).sum())
        return float(loss) / len(y), correct / len(y)

    record = {name: [] for name in ("train_loss", "train_acc", "train_eval_acc", "val_loss", "val_acc")}
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        losses, sizes, correct = [], [], 0
        for idx in order.split(batch_size):
            logits = model(X[idx])
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            sizes.append(len(idx))
            correct += int((logits.argmax(1) == y[idx]).sum())
        weighted = torch.tensor(losses, dtype=torch.float64) * torch.tensor(sizes, dtype=torch.float64)
        record["train_loss"].append(float(weighted.sum()) / n)
        record["train_acc"].append(correct / n)
        val_loss, val_acc = evaluate_plainly(X_val, y_val)
        record["train_eval_acc"].append(evaluate_plainly(X[probe], y[probe])[1])
        record["val_loss"].append(val_loss)
        record["val_acc"].append(val_acc)
    return record, model


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_cpu_history_is_todays_bit_for_bit(tiny, monkeypatch, device):
    """On the CPU ("cpu", and "auto" on a machine without an accelerator), is every History metric of a
    dropout run, short last batch and a probe subset included, exactly what the pre-device fit computed?"""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    settings = {"seed": 7, "epochs": 3, "batch_size": 128, "train_eval_size": 250}
    expected, reference = _todays_fit_as_a_plain_loop(tiny, p=0.3, **settings)
    seed_everything(settings["seed"])
    model = DropoutMLP(0.3)
    history = fit(model, tiny, progress=False, device=device, **settings)
    assert history.metrics() == expected
    assert history.device == f"cpu ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''})"
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))


def test_evaluate_matches_torch_on_the_whole_set(tiny):
    """Does evaluate give cross-entropy and accuracy equal to one full-batch computation?"""
    seed_everything(0)
    model = DropoutMLP(0.5).eval()
    X, y = tiny.val
    result = evaluate(model, X, y, batch_size=64)
    with torch.no_grad():
        logits = model(X)
    assert result.loss == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert result.accuracy == int((logits.argmax(1) == y).sum()) / len(y)


@pytest.mark.parametrize("start_in_train", [True, False])
def test_mode_is_restored(tiny, start_in_train):
    """Are fit and evaluate leaving the model in the train/eval mode it was given in?"""
    seed_everything(0)
    model = DropoutMLP(0.3).train(start_in_train)
    fit(model, tiny, epochs=1, seed=0, progress=False)
    assert model.training is start_in_train
    evaluate(model, *tiny.val)
    assert model.training is start_in_train


def test_quiet_when_not_interactive(tiny, capsys):
    """With progress=None outside a terminal or notebook, does fit print nothing?"""
    seed_everything(0)
    fit(BaselineMLP(), tiny, epochs=1, seed=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_when_asked(tiny, capsys):
    """With progress=True, is a tqdm bar drawn on stderr, naming the device it trains on?"""
    seed_everything(0)
    fit(BaselineMLP(), tiny, epochs=1, seed=0, progress=True, device="cpu")
    err = capsys.readouterr().err
    assert "epoch" in err and f"fit on {describe_device('cpu')}" in err


def test_history_names_its_device_in_text_and_html(tiny):
    """Do a History's text and HTML tables say where it was trained, outside the per-epoch rows?"""
    _, h = _run(tiny, 0, epochs=1, device="cpu")
    assert h.device == describe_device("cpu")
    assert str(h).endswith(f"trained on {h.device}") and f"<caption>trained on {h.device}</caption>" in h._repr_html_()
    assert "device" not in h.rows()[0] and "device" not in h.metrics()


def test_accepts_a_pair_of_splits(tiny):
    """Can data be a plain ((X, y), (X_val, y_val)) pair?"""
    seed_everything(0)
    h = fit(BaselineMLP(), ((tiny.train.X, tiny.train.y), (tiny.val.X, tiny.val.y)), epochs=1, seed=0,
            progress=False)
    assert len(h) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a whole number >= 1"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"batch_size": 0}, "batch_size must be"),
    ({"eval_from": 0}, "eval_from must be a whole number >= 1"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"weight_decay": -0.1}, "weight_decay must be a number >= 0"),
])
def test_bad_arguments_are_clear_errors(tiny, kwargs, message):
    """Are impossible training settings refused before any training, with a message?"""
    args = {"epochs": 1, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit(BaselineMLP(), tiny, **args)


def test_bad_data_is_a_clear_error():
    """Is data without train/val splits refused with a message saying what is expected?"""
    with pytest.raises(TypeError, match=r"\.train and \.val"):
        fit(BaselineMLP(), torch.zeros(3), epochs=1, seed=0)
    with pytest.raises(ValueError, match="images and .* labels"):
        fit(BaselineMLP(), ((torch.zeros(3, 1, 28, 28), torch.zeros(2)), blobs(10)), epochs=1, seed=0)


def test_weight_decay_shrinks_weights(tiny):
    """Does weight_decay (L2) give smaller weights than none, all else equal?"""
    norms = []
    for wd in (0.0, 0.1):
        seed_everything(0)
        model = BaselineMLP()
        fit(model, tiny, epochs=2, seed=0, weight_decay=wd, progress=False)
        norms.append(float(model.fc1.weight.detach().norm()))
    assert norms[1] < norms[0]


def test_history_is_a_plain_record():
    """Does an empty History have no final row and length 0?"""
    assert len(History()) == 0 and History().final == {}
