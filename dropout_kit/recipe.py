"""The overfitting regime of lessons 04-08: one fixed training recipe, and lesson 05 grades in it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """The fixed training recipe of the overfitting experiment (chosen by measurement in lesson 04)."""

    subset: int = 3000       # class-balanced training images
    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3         # Adam
    data_seed: int = 0       # the course's val split and subset
    seeds: tuple = (0, 1, 2)  # the graded runs of lesson 05

    def fit_kwargs(self) -> dict:
        """Arguments of ``fit`` for one run, evaluated after the last epoch only."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "eval_every": self.epochs, "train_eval_size": None, "progress": False}


RECIPE = Recipe()
