"""Tuning dropout (lesson 06): rate sweeps, per-layer rates, L2 grids, k-fold cross-validation.

Every function returns a plain ``Table`` (a list of row dicts) that a notebook displays
as it is and a plot in ``dropout_kit.plots.sweeps`` draws. Comparisons say how large a
difference is *relative to seed noise*: the difference of two means divided by its
standard error, ``sqrt(std_a**2 / n_a + std_b**2 / n_b)``. We call a difference "larger
than seed noise" when it exceeds two standard errors. With 3-5 seeds a side this is a
rough screen, not a significance test (a t-test with so few degrees of freedom needs
more, about 2.8 SE for 95% with 4 degrees of freedom).

Modules, one concern each: ``sweeps`` (sweeps and L2 grids), ``search`` (random configurations,
lesson 12), ``stats`` (standard errors, ``pick_rate`` and comparisons), ``crossval`` (k-fold
cross-validation), ``retrain`` (fresh and re-used models) and ``execution`` (running the
trainings, in one process or several).
"""

from dropout_kit.tuning.crossval import cross_validate, paired_difference, stratified_kfold, summarize_folds
from dropout_kit.tuning.retrain import fit_fresh, parameters_without_reset, reset_parameters, set_dropout_rates
from dropout_kit.tuning.search import random_configs
from dropout_kit.tuning.stats import (NOISE_SE, difference, neighbours, paired_by_seed, pick_rate, standard_error,
                                     std_ratio_band)
from dropout_kit.tuning.sweeps import PERCENT, SWEEP_COLUMNS, grid, sweep

__all__ = [
    "NOISE_SE", "PERCENT", "SWEEP_COLUMNS", "cross_validate", "difference", "fit_fresh", "grid",
    "neighbours", "paired_by_seed", "paired_difference", "parameters_without_reset", "pick_rate",
    "random_configs", "reset_parameters", "set_dropout_rates", "standard_error", "std_ratio_band",
    "stratified_kfold", "summarize_folds", "sweep",
]
