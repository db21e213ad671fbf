"""ag.compile: trace a function of Values once, then replay it as generated code.

- ``tracing``: the arguments become stand-in leaves, fn runs eagerly, its graph becomes lines.
- ``python``: the Python writer, the lines as one readable Python function.
- ``native``: the native writer, the same lines as machine code (llvmlite), each op's code
  lowered to LLVM IR by ``lower``.
- ``kernels``: a few lines of Python run for every index of arrays, natively (nn.Adam's step).
- ``compiled``: ``compile`` and ``Compiled``: the calls, the cache of traces, the replay;
  ``Batch``, a batch's columns checked and packed once.
"""

from .compiled import MAX_STRUCTURES, MAX_TRACES, Batch, Compiled, compile

__all__ = ["MAX_STRUCTURES", "MAX_TRACES", "Batch", "Compiled", "compile"]
