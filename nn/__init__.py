"""Neural networks built from Values: modules, losses, optimizers, mini-batches, accuracy.

>>> from nn import MLP
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> out = model([0.5, -1.0])
>>> len(model.parameters()), len(out)
(337, 1)
"""

from .data import batches
from .layers import ACTIVATIONS, MLP, ActivationRule, Layer, Neuron, init_bound
from .losses import bce_with_logits, binary_cross_entropy, cross_entropy, hinge_loss, mse_loss
from .metrics import accuracy
from .module import Module, load
from .modules import (
    Activation,
    Conv1d,
    Flatten,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from .optim import SGD, Adam, Optimizer, linear_decay

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "SGD",
    "Activation",
    "ActivationRule",
    "Adam",
    "Conv1d",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Module",
    "Neuron",
    "Optimizer",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "accuracy",
    "batches",
    "bce_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "hinge_loss",
    "init_bound",
    "linear_decay",
    "load",
    "mse_loss",
]
