"""The workloads' data: two moons made here (no dependency), the digits from the digits demo."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

MOONS_POINTS = 100
MOONS_NOISE = 0.1


def two_moons(n: int = MOONS_POINTS, noise: float = MOONS_NOISE,
              seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """n points on two interleaved half circles with Gaussian noise; labels +1 and -1."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), 1.0
        else:
            x, y, label = 1.0 - math.cos(t), 0.5 - math.sin(t), -1.0
        xs.append([x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)])
        ys.append(label)
    return xs, ys


@dataclass
class Digits:
    """The digits demo's training set, its hyperparameters and one epoch's batch order."""

    images: list[list[float]]
    labels: list[int]
    batch_order: list[list[int]]
    hidden: int
    lr: float
    batch_size: int


def digits(limit: int | None = None, seed: int = 0) -> Digits:
    """The digits demo's training data (first `limit` images if given) and settings.

    Raises ImportError when scikit-learn (the demos extra) is missing.
    """
    from demos import digits as demo
    from nn import batches

    images, labels, _, _ = demo.load_data()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    # The same shuffled order as demo.train_epoch(..., seed=seed).
    order = list(batches(len(images), demo.BATCH_SIZE, shuffle=True, seed=seed))
    return Digits(images, labels, order, demo.HIDDEN, demo.LR, demo.BATCH_SIZE)
