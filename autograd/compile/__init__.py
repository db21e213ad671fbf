"""ag.compile: trace a function of Values once, then replay it as generated code.

- ``tracing``: the arguments become stand-in leaves, fn runs eagerly, its graph becomes lines.
- ``python``: the Python writer, the lines as one readable Python function.
- ``compiled``: ``compile`` and ``Compiled``: the calls, the cache of traces, the replay.
"""

from .compiled import MAX_STRUCTURES, MAX_TRACES, Compiled, compile

__all__ = ["MAX_STRUCTURES", "MAX_TRACES", "Compiled", "compile"]
