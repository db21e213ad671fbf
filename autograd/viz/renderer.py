"""Which program turns DOT text into SVG or PNG: the one chosen, else Graphviz's `dot`, else the
`graphviz-pure` program that `pip install graphviz-pure` (in the `viz` extra) puts beside Python.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from dataclasses import dataclass

#: Set it to a program (a path, or a name on PATH) to choose the renderer; use_renderer sets it.
ENV_VAR = "CHAINRULE_DOT"
PURE = "graphviz-pure"

_INSTALL = (
    "install one of:\n"
    "  - graphviz-pure, a renderer in a wheel, no system package (Linux x86_64/aarch64, macOS, "
    "Windows): {python} -m pip install graphviz-pure   (it comes with chainrule's viz extra)\n"
    "  - Graphviz's dot: `sudo apt-get install graphviz` (Debian/Ubuntu), `brew install "
    "graphviz` (macOS), `winget install graphviz` then add its bin folder to PATH (Windows)\n"
    f"  or set {ENV_VAR}=/path/to/dot")


class GraphvizNotFoundError(RuntimeError):
    """No program that renders DOT text is installed, or the one found cannot write the format."""


class RenderError(RuntimeError):
    """The renderer ran and failed: its exit status and what it printed are in the message."""


@dataclass(frozen=True)
class Renderer:
    """A program that lays out DOT text: where it is, what it is, and why it was picked."""

    path: str
    #: "dot" (Graphviz) or "graphviz-pure", from what the program says its version is.
    name: str
    #: How it was found: "CHAINRULE_DOT", "PATH" (dot) or "scripts" (beside this Python).
    found_by: str

    @property
    def formats(self) -> tuple[str, ...]:
        """Return the output formats this renderer writes: graphviz-pure has no PDF."""
        return ("svg", "png") if self.name == PURE else ("svg", "png", "pdf")


def find_renderer(caller: str = "find_renderer") -> Renderer:
    """Return the renderer pictures use: CHAINRULE_DOT if set, else `dot` on PATH, else
    graphviz-pure from this Python's scripts folder (or PATH).

    Raises GraphvizNotFoundError naming caller, saying what to install, when there is none.

    >>> find_renderer().name in ("dot", "graphviz-pure")
    True
    """
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        return _checked(chosen, ENV_VAR, caller)
    dot = shutil.which("dot")
    if dot is not None:
        return Renderer(dot, _identify(dot, caller), "PATH")
    for folder in _script_dirs():
        pure = shutil.which(PURE, path=folder)
        if pure is not None:
            return Renderer(pure, _identify(pure, caller), "scripts")
    pure = shutil.which(PURE)
    if pure is not None:
        return Renderer(pure, _identify(pure, caller), "PATH")
    raise GraphvizNotFoundError(
        f"{caller}: no Graphviz renderer found (neither `dot` on PATH nor graphviz-pure beside "
        f"{sys.executable}); " + _INSTALL.format(python=sys.executable))


def use_renderer(program: str | os.PathLike[str] | None) -> Renderer | None:
    """Make program (a path, or a name on PATH such as "graphviz-pure") draw every picture from
    now on, and return it; None goes back to the automatic choice and returns None.

    The choice is kept in the CHAINRULE_DOT environment variable, so processes started later (a
    notebook's kernel, a demo) make it too. A program that is missing or is no Graphviz raises
    GraphvizNotFoundError and changes nothing.
    """
    if program is None:
        os.environ.pop(ENV_VAR, None)
        return None
    renderer = _checked(os.fspath(program), "use_renderer", "use_renderer")
    os.environ[ENV_VAR] = renderer.path
    return renderer


def draw(source: str, fmt: str, caller: str, hint: str = "") -> bytes:
    """Return DOT source laid out and drawn in format fmt (svg, png, pdf) by find_renderer()'s
    program.

    GraphvizNotFoundError, naming caller, says what to install when there is no renderer or it
    cannot write fmt (then hint, if given). Anything the renderer prints while succeeding (a
    font it does not know) becomes a RuntimeWarning, so it is seen and tests can fail on it.
    """
    try:
        renderer = find_renderer(caller)
    except GraphvizNotFoundError as missing:
        if not hint:
            raise
        raise GraphvizNotFoundError(f"{missing}, {hint}") from None
    # Graphviz's own dot writes many more formats (jpg, gif, json...): it says if not.
    if renderer.name != "dot" and fmt not in renderer.formats:
        raise GraphvizNotFoundError(
            f"{caller}: {fmt.upper()} needs Graphviz's dot; the renderer found is {renderer.name} "
            f"({renderer.path}), which writes {' and '.join(f.upper() for f in renderer.formats)} "
            "only. Write .svg or .png instead, or install Graphviz (it is then used first): "
            "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
            "`winget install graphviz` then add its bin folder to PATH (Windows)"
            f"{', ' + hint if hint else ''}")
    done = subprocess.run([renderer.path, f"-T{fmt}"], input=source.encode("utf-8"),
                          capture_output=True, check=False)
    said = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise RenderError(f"{caller}: {renderer.name} ({renderer.path}) failed with exit status "
                          f"{done.returncode}: {said or 'and printed nothing'}")
    if said:
        warnings.warn(f"{caller}: {renderer.name} said: {said}", RuntimeWarning, stacklevel=3)
    return done.stdout


def _checked(program: str, where: str, caller: str) -> Renderer:
    """Return the Renderer for a program someone chose (where says who), or raise saying why not."""
    path = shutil.which(program)
    if path is None and os.path.basename(program) == program:
        path = next((found for folder in _script_dirs()
                     if (found := shutil.which(program, path=folder))), None)
    if path is None:
        raise GraphvizNotFoundError(
            f"{caller}: {where}={program!r} is no program that can be run; give the path of "
            f"dot or graphviz-pure, or unset {ENV_VAR} to let chainrule find one")
    return Renderer(path, _identify(path, caller), ENV_VAR)


def _identify(path: str, caller: str) -> str:
    """Return "graphviz-pure" or "dot": what `path -V` says it is."""
    try:
        return _kind(path)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GraphvizNotFoundError(f"{caller}: cannot run {path}: {error}") from error
    except ValueError as said:
        raise GraphvizNotFoundError(f"{caller}: {path} is not Graphviz: `{path} -V` printed "
                                    f"{str(said).strip()[:200]!r}; "
                                    + _INSTALL.format(python=sys.executable)) from None


@functools.lru_cache(maxsize=16)
def _kind(path: str) -> str:
    """Return "graphviz-pure" or "dot" for the program at path; ValueError with what it said
    when it is neither."""
    # Remembered: every picture asks, and a program's kind does not change under it. A failure
    # raises, and lru_cache keeps no exception: a program fixed since is seen next time.
    done = subprocess.run([path, "-V"], capture_output=True, check=False, timeout=30)
    said = (done.stderr + done.stdout).decode("utf-8", "replace")
    if PURE in said:
        return PURE
    if "graphviz" in said.lower():
        return "dot"
    raise ValueError(said)


def _script_dirs() -> list[str]:
    """Return where pip puts programs for this Python: its environment's, then the user's."""
    # A venv's python run without activating the venv does not have this folder on PATH.
    folders = [sysconfig.get_path("scripts")]
    user = sysconfig.get_preferred_scheme("user")
    folders.append(sysconfig.get_path("scripts", user))
    return list(dict.fromkeys(folder for folder in folders if folder))
