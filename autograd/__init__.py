"""chainrule's scalar reverse-mode autograd engine.

>>> from autograd import Value
>>> x = Value(2.0, label="x")
>>> y = (x * x + 1).tanh()
>>> y.backward()
>>> round(x.grad, 6)
0.000726
"""

from . import ops
from .backward import backward, grad
from .compile import Batch, Compiled, compile
from .forward import jacobian, jvp, vjp
from .functional import batch_dots, dot, dots, log_softmax, logsumexp, mean, softmax, sum
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import leaves, topological_order
from .higher import hessian
from .mode import is_grad_enabled, no_grad
from .primitives import Primitive, primitive
from .trace import trace_backward
from .value import Value

__all__ = [
    "Batch",
    "Compiled",
    "GradcheckError",
    "Primitive",
    "Value",
    "backward",
    "batch_dots",
    "compile",
    "dot",
    "dots",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "leaves",
    "log_softmax",
    "logsumexp",
    "mean",
    "no_grad",
    "ops",
    "primitive",
    "softmax",
    "sum",
    "topological_order",
    "trace_backward",
    "vjp",
]
