"""Runnable demos: `python -m demos` lists them and runs the default, `python -m demos NAME`."""

from __future__ import annotations

# name -> one line on what it shows, in the order a learner would take them.
DEMOS = {
    "neuron": "one tanh neuron, forward and backward; graph picture and step-through page",
    "chain": "one neuron per layer: each gradient as a product of local derivatives, by hand",
    "xor": "2-2-1 sigmoid network: closed-form deltas beside autograd's, then trained on XOR",
    "moons": "MLP(2, [16, 16, 1]) on two moons with hinge loss: decision boundary and curves",
    "digits": "MLP on scikit-learn's 8x8 digits with cross-entropy and Adam: >= 95% on test",
    "graduate": "the digits MLP and its Adam handed to PyTorch: training carries on exactly",
    "tutorial": "runs the course's notebooks (demos/course/, a learner's week) and saves them",
    "newton": "Newton's method (engine Hessians) against gradient descent on Rosenbrock's valley",
    "modes": "forward mode against reverse mode: 337 jvp sweeps or one backward, and the reverse",
}
DEFAULT = "moons"
