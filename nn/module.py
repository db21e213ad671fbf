"""Module: the parameter bookkeeping every network shares, and saving it as versioned JSON.

Assigning an attribute registers it, as in PyTorch: a Value is a parameter, a Module a
submodule, a list or tuple of them (nested, like a weight matrix) is named by index. Names,
order, state dicts and files all follow from that registry.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from autograd import Value

if TYPE_CHECKING:
    import torch

FORMAT = "chainrule.state"
VERSION = 1

Architecture = dict[str, object]
PathLike = str | os.PathLike[str]
M = TypeVar("M", bound="Module")
# One torch tensor's worth of a module's parameters: name, shape, Values in row-major order.
TensorLayout = tuple[str, tuple[int, ...], list[Value]]


class _Load:
    """``load``: on the class, ``MLP.load(path)`` returns the model the file describes; on a
    model, ``model.load(path)`` sets its parameters from the file."""

    @overload
    def __get__(self, obj: None, owner: type[M]) -> Callable[[PathLike], M]: ...
    @overload
    def __get__(self, obj: M, owner: type[M] | None = None) -> Callable[[PathLike], None]: ...

    def __get__(self, obj: Module | None, owner: type[Module] | None = None) -> Any:
        if obj is None:
            cls = owner if owner is not None else Module
            return lambda path: _load_model(path, cls)
        return lambda path: obj._load_into(path)


class Module:
    """Base class of every network: parameters, names, state and files.

    Parameter order is PyTorch's: a module's own parameters first, in assignment order, then
    each submodule's in turn. For an MLP that is layer by layer, neuron by neuron, each
    neuron's weights ``w.0 .. w.{nin-1}`` then its bias ``b``. A parameter or submodule
    reached twice (shared) is listed once, under its first name.

    >>> from autograd import Value
    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.s = Value(2.0)
    ...     def forward(self, x):
    ...         return [self.s * v for v in x]
    >>> model = Scale()
    >>> [name for name, _ in model.named_parameters()], model([1.0, 3.0])[1].data
    (['s'], 6.0)
    """

    def __init__(self) -> None:
        # The registry is also made on the first assignment, so a subclass may skip this call;
        # calling it late keeps what was registered before.
        self.__dict__.setdefault("_registered", {})

    # ---- registration: attribute reads stay plain, only assignment records the name ---------

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        registered: dict[str, None] | None = self.__dict__.get("_registered")
        if _registrable(value):
            if registered is None:
                registered = {}
                object.__setattr__(self, "_registered", registered)
            registered[name] = None  # a name assigned again keeps its place, as in PyTorch
            _relabel_member(self, name, value)
        elif registered is not None and name in registered:
            del registered[name]

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        self.__dict__.get("_registered", {}).pop(name, None)

    def local_parameters(self) -> list[tuple[str, Value]]:
        """Return this module's own (name, parameter) pairs, in assignment order.

        Names are relative to the module: ``weight.2.0`` for element [2][0] of a nested list.
        """
        return [(name, item) for name, item in self._members() if isinstance(item, Value)]

    def submodules(self) -> list[tuple[str, Module]]:
        """Return this module's (name, submodule) pairs, in assignment order."""
        return [(name, item) for name, item in self._members() if isinstance(item, Module)]

    def _members(self) -> Iterator[tuple[str, Value | Module]]:
        """Each registered Value and Module, with its name; lists are read as they are now."""
        for name in self.__dict__.get("_registered", ()):
            stack: list[tuple[str, object]] = [(name, self.__dict__.get(name))]
            while stack:
                path, item = stack.pop()
                if isinstance(item, (Value, Module)):
                    yield path, item
                elif isinstance(item, (list, tuple)):
                    stack.extend((f"{path}.{i}", x) for i, x in reversed(list(enumerate(item))))

    def _renamed(self) -> None:
        """Called after the module's path (self._name) changed: remake labels built from it."""

    # ---- calling ------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module computes; a subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(...); calling "
                                  "the module calls it")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Return self.forward(*args, **kwargs)."""
        return self.forward(*args, **kwargs)

    def forward_batch(self, xs: Any) -> list[Any]:
        """Return [self(x) for x in xs]; Linear, Conv1d, Layer and MLP do it faster."""
        return [self(x) for x in xs]

    # ---- parameters and state -------------------------------------------------------------------

    def architecture(self) -> Architecture:
        """Return what rebuilds this module's shape: its type and constructor arguments."""
        return {"type": type(self).__name__}

    def modules(self) -> list[tuple[str, Module]]:
        """Return (dotted name, module) for self ("") and every submodule, each once, in order."""
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            found.append((prefix, module))
            stack.extend((_join(prefix, name), sub) for name, sub in reversed(module.submodules()))
        return found

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Return (dotted name, parameter) pairs in parameter order, names relative to self."""
        named: list[tuple[str, Value]] = []
        seen: set[Value] = set()
        for prefix, module in self.modules():
            for name, p in module.local_parameters():
                if p not in seen:
                    seen.add(p)
                    named.append((_join(prefix, name), p))
        return named

    def parameters(self) -> list[Value]:
        """Return the parameters in the documented order (see the class docstring)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0 (call it before each backward())."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """Return {dotted name: value} for every parameter, in parameter order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter from state, which must hold exactly this module's names.

        Everything is checked before anything is assigned, so on any error (TypeError
        for a wrong kind, ValueError for missing, unexpected or non-finite entries)
        the module is left exactly as it was.
        """
        named = self.named_parameters()
        values = _checked_values(state, [name for name, _ in named], self)
        for (_, p), value in zip(named, values):
            p.data = value

    # ---- PyTorch's names and shapes -------------------------------------------------------------

    def torch_layout(self) -> list[TensorLayout]:
        """Return (name, shape, Values) per tensor of this module's PyTorch twin, in its order.

        A parameter is a 0-d tensor, a (nested) list of them one tensor of its shape; each
        submodule's come after, under its name. Neuron, Layer and MLP give their
        ``to_torch()`` Sequential's names (``0.weight``, ...).
        """
        layout: list[TensorLayout] = []
        for name in self.__dict__.get("_registered", ()):
            tensor = _tensor_of(self.__dict__.get(name), f"{type(self).__name__}.{name}")
            if tensor is not None:
                layout.append((name, *tensor))
        for name, sub in self.submodules():
            layout.extend((f"{name}.{n}", shape, values) for n, shape, values in sub.torch_layout())
        return layout

    def torch_state_dict(self) -> dict[str, torch.Tensor]:
        """Return {PyTorch name: float64 tensor}, for ``torch_model.load_state_dict`` (needs torch).

        ``l1.weight`` has shape (out, in) as in PyTorch; see ``torch_layout``.
        """
        from . import interop

        return interop.torch_state_dict(self)

    def load_torch_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Set every parameter from a PyTorch state dict of this module's twin (needs torch).

        Float32 or float64 tensors; every name, shape and value is checked before anything is
        assigned, so on any error (ValueError, TypeError) the module is left as it was.
        """
        from . import interop

        interop.load_torch_state_dict(self, state)

    # ---- files --------------------------------------------------------------------------------

    def save(self, path: PathLike) -> None:
        """Write the architecture and parameters to path as versioned JSON, atomically.

        The folder is made if it is missing. The JSON goes to a temporary file in the same
        directory, which then replaces path in one step: a crash midway never leaves a
        half-written file at path.
        """
        state = self.state_dict()
        bad = [name for name, value in state.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"save: parameters {_some(bad)} are not finite; nothing was written")
        document = {"format": FORMAT, "version": VERSION, "architecture": self.architecture(),
                    "parameters": state}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, json.dumps(document, indent=1) + "\n")

    load = _Load()

    def _load_into(self, path: PathLike) -> None:
        """Set the parameters from a file written by save(); raise ValueError if it does not fit.

        A corrupt or truncated file, another format, a newer format version, another
        architecture or wrong parameter names all raise ValueError, and the module is
        left exactly as it was. A missing file raises FileNotFoundError.
        """
        path = Path(path)
        document = _read_checked(path)
        mine = self.architecture()
        theirs = document.get("architecture")
        if theirs != mine:
            raise ValueError(f"load: {path} holds a different architecture: file "
                             f"{_describe(theirs)}, model {_describe(mine)}")
        _load_parameters(self, document, path)


def load(path: PathLike) -> Module:
    """Return the model a file written by ``save()`` describes, built and filled in.

    Works for the built-in modules (MLP, Sequential, Linear, Conv1d, ...); a file of a
    Module subclass of your own raises ValueError: build the model, then ``model.load(path)``.
    ``MLP.load(path)`` does the same and checks that the file holds an MLP.
    """
    return _load_model(path, Module)


def _load_model(path: PathLike, cls: type[M]) -> M:
    from .modules import build

    path = Path(path)
    document = _read_checked(path)
    try:
        model = build(document.get("architecture"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"load: {path}: {exc}") from exc
    if not isinstance(model, cls):
        raise ValueError(f"{cls.__name__}.load: {path} holds a {type(model).__name__}, not a "
                         f"{cls.__name__}; use nn.load(path) for any model")
    _load_parameters(model, document, path)
    return model


def _read_checked(path: Path) -> dict[str, object]:
    document = _read_document(path)
    version = document.get("version")
    if type(version) is not int or version < 1:
        raise ValueError(f"load: {path}: 'version' must be a positive integer, got {version!r}")
    if version > VERSION:
        raise ValueError(f"load: {path} has format version {version}, newer than this "
                         f"chainrule reads (up to {VERSION}); upgrade chainrule to load it")
    return document


def _load_parameters(model: Module, document: dict[str, object], path: Path) -> None:
    state = document.get("parameters")
    if not isinstance(state, dict):
        raise ValueError(f"load: {path}: 'parameters' must be an object of name: number")
    try:
        model.load_state_dict(state)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"load: {path}: {exc}") from exc


# ---- registration helpers -------------------------------------------------------------------


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _registrable(value: object) -> bool:
    """A Value, a Module, or a list or tuple (nested) of them; an empty list may fill later."""
    if isinstance(value, (Value, Module)):
        return True
    if not isinstance(value, (list, tuple)):
        return False
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif not isinstance(item, (Value, Module)):
            return False
    return True


def _relabel_member(owner: Module, name: str, value: object) -> None:
    """Give what was just assigned as owner.name its path: labels of parameters, module paths."""
    base = owner.__dict__.get("_name", "")
    stack: list[tuple[str, object]] = [(_join(base, name), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Value):
            if not item.label:
                item.label = path
        elif isinstance(item, Module):
            _move(item, path)
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{path}.{i}", x) for i, x in enumerate(item))


def _move(module: Module, path: str) -> None:
    """Set module's path (and its submodules'), relabelling parameters labelled by the old path.

    A label the user chose (one that is not the old path) is kept.
    """
    stack = [(module, path)]
    seen: set[int] = set()
    while stack:
        m, new = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        old = m.__dict__.get("_name", "")
        for name, p in m.local_parameters():
            if p.label in ("", _join(old, name)):
                p.label = _join(new, name)
        object.__setattr__(m, "_name", new)
        m._renamed()
        stack.extend((sub, _join(new, name)) for name, sub in m.submodules())


def _tensor_of(item: object, where: str) -> tuple[tuple[int, ...], list[Value]] | None:
    """The shape and Values of a registered attribute read as one tensor, or None (a module)."""
    if isinstance(item, Value):
        return (), [item]
    if not isinstance(item, (list, tuple)):
        return None
    shape: list[int] = []
    level: list[object] = [item]
    while level and all(isinstance(x, (list, tuple)) for x in level):
        lengths = {len(x) for x in level}  # type: ignore[arg-type]
        if len(lengths) != 1:
            raise ValueError(f"torch_layout: {where} is ragged (lengths {sorted(lengths)}); "
                             "a tensor needs rows of one length")
        shape.append(lengths.pop())
        level = [y for x in level for y in x]  # type: ignore[attr-defined]
    if any(isinstance(x, Module) for x in level):
        return None
    if not all(isinstance(x, Value) for x in level):
        raise ValueError(f"torch_layout: {where} mixes Values and lists at one depth")
    return tuple(shape), level  # type: ignore[return-value]


# ---- checking a state before assigning it -------------------------------------------------


def _checked_values(state: object, names: list[str], module: Module) -> list[float]:
    """The values of state in the order of names, or an error saying what does not fit."""
    if not isinstance(state, Mapping):
        raise TypeError(f"load_state_dict: state must be a mapping of name to number, "
                        f"got {type(state).__name__}")
    known = set(names)
    missing = [name for name in names if name not in state]
    unexpected = [key for key in state if key not in known]
    if missing or unexpected:
        raise ValueError(f"load_state_dict: state does not fit {module!r}: "
                         f"missing {_some(missing)}, unexpected {_some(unexpected)}")
    values = []
    for name in names:
        value = state[name]
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"load_state_dict: {name!r} must be a real number, "
                            f"got {type(value).__name__}: {value!r:.40}")
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range, as a JSON file may hold
            raise ValueError(f"load_state_dict: {name!r} must be finite, got an integer "
                             "too large for a float") from None
        if not math.isfinite(number):
            raise ValueError(f"load_state_dict: {name!r} must be finite, got {value!r}")
        values.append(number)
    return values


def _some(names: list[str], limit: int = 4) -> str:
    """'none', or a count and the first few names."""
    if not names:
        return "none"
    shown = ", ".join(map(repr, names[:limit]))
    return f"{len(names)} ({shown}{', ...' if len(names) > limit else ''})"


def _describe(architecture: object) -> str:
    return json.dumps(architecture, sort_keys=True) if architecture is not None else "none"


# ---- files ----------------------------------------------------------------------------------


def _write_atomically(path: Path, text: str) -> None:
    # Same directory as the target, so os.replace is a rename within one file system.
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a saved model keeps the mode of the file it
        # replaces, or gets the usual 0644, like any file a program writes.
        mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
        os.chmod(temp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        # Remove the partial temp file, then let the original error through unchanged.
        Path(temp).unlink(missing_ok=True)
        raise


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid parameter value")


def _read_document(path: Path) -> dict[str, object]:
    """The parsed JSON object of a chainrule state file, or ValueError saying why not."""
    raw = path.read_bytes()
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; json recurses once per nesting
    # level, so a file of deeply nested brackets ends in RecursionError instead.
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"load: {path} is not a valid model file "
                         f"(corrupt or truncated JSON: {exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not a chainrule model file "
                         f"(expected a JSON object with \"format\": \"{FORMAT}\")")
    return document
