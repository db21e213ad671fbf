"""Neural networks built from Values: modules, losses, optimizers, mini-batches, accuracy.

>>> from nn import MLP
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> out = model([0.5, -1.0])
>>> len(model.parameters()), len(out)
(337, 1)
"""

from .data import batches
from .layers import ACTIVATIONS, MLP, Layer, Neuron, init_bound
from .losses import bce_with_logits, binary_cross_entropy, cross_entropy, hinge_loss, mse_loss
from .metrics import accuracy
from .module import Module
from .optim import SGD, Adam, Optimizer, linear_decay

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "SGD",
    "Adam",
    "Layer",
    "Module",
    "Neuron",
    "Optimizer",
    "accuracy",
    "batches",
    "bce_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "hinge_loss",
    "init_bound",
    "linear_decay",
    "mse_loss",
]
