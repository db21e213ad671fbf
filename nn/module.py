"""Module: the parameter bookkeeping every network shares, and saving it as versioned JSON.

A module owns some parameters (Values) and some submodules; everything else here
(names, order, state dicts, files) follows from those two lists.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograd import Value

FORMAT = "chainrule.state"
VERSION = 1

Architecture = dict[str, object]


class Module:
    """Base class of Neuron, Layer and MLP: parameters, names, state and files.

    Parameter order is fixed: a module's own parameters first (``local_parameters()``),
    then each submodule's in turn (``submodules()``). For an MLP that is layer by layer,
    neuron by neuron, each neuron's weights ``w.0 .. w.{nin-1}`` then its bias ``b``.
    Subclasses override the two hooks ``local_parameters`` and ``submodules``.

    >>> from nn import MLP
    >>> model = MLP(2, [3, 1], seed=0)
    >>> [name for name, _ in model.named_parameters()][:4]
    ['layers.0.neurons.0.w.0', 'layers.0.neurons.0.w.1', 'layers.0.neurons.0.b', 'layers.0.neurons.1.w.0']
    """  # noqa: E501 - a doctest line cannot wrap

    def local_parameters(self) -> list[tuple[str, Value]]:
        """Return this module's own (name, parameter) pairs, names relative to the module."""
        return []

    def submodules(self) -> list[tuple[str, Module]]:
        """Return this module's (name, submodule) pairs, in parameter order."""
        return []

    def architecture(self) -> Architecture:
        """Return what rebuilds this module's shape: its type and constructor arguments."""
        return {"type": type(self).__name__}

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Return (dotted name, parameter) pairs in parameter order, names relative to self."""
        named = list(self.local_parameters())
        for prefix, module in self.submodules():
            named.extend((f"{prefix}.{name}", p) for name, p in module.named_parameters())
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

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the architecture and parameters to path as versioned JSON, atomically.

        The JSON goes to a temporary file in the same directory, which then replaces
        path in one step: a crash midway never leaves a half-written file at path.
        """
        state = self.state_dict()
        bad = [name for name, value in state.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"save: parameters {_some(bad)} are not finite; nothing was written")
        document = {"format": FORMAT, "version": VERSION, "architecture": self.architecture(),
                    "parameters": state}
        _write_atomically(Path(path), json.dumps(document, indent=1) + "\n")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Set the parameters from a file written by save(); raise ValueError if it does not fit.

        A corrupt or truncated file, another format, a newer format version, another
        architecture or wrong parameter names all raise ValueError, and the module is
        left exactly as it was. A missing file raises FileNotFoundError.
        """
        path = Path(path)
        document = _read_document(path)
        version = document.get("version")
        if type(version) is not int or version < 1:
            raise ValueError(f"load: {path}: 'version' must be a positive integer, got {version!r}")
        if version > VERSION:
            raise ValueError(f"load: {path} has format version {version}, newer than this "
                             f"chainrule reads (up to {VERSION}); upgrade chainrule to load it")
        mine = self.architecture()
        theirs = document.get("architecture")
        if theirs != mine:
            raise ValueError(f"load: {path} holds a different architecture: file "
                             f"{_describe(theirs)}, model {_describe(mine)}")
        state = document.get("parameters")
        if not isinstance(state, dict):
            raise ValueError(f"load: {path}: 'parameters' must be an object of name: number")
        try:
            self.load_state_dict(state)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"load: {path}: {exc}") from exc


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
