"""Elementwise native loops (autograd.compile.kernels) and nn.Adam's native step: the same
floats as the Python loop written from the same lines."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap
from array import array

import pytest

pytest.importorskip("llvmlite", reason="the native loops need llvmlite: "
                    'pip install -e ".[native]"')

import nn.optim as optim  # noqa: E402
from autograd import Value  # noqa: E402
from autograd.compile import kernels  # noqa: E402

SPECIAL = [0.0, -0.0, 1e-300, -1e300, 1e308, math.inf, -math.inf, math.nan]


def _same(a: float, b: float) -> bool:
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b) or \
        (math.isnan(a) and math.isnan(b))


def _adams(n: int, decay: float, seed: int = 0) -> tuple[list[Value], optim.Adam]:
    rng = random.Random(seed)
    params = [Value(rng.uniform(-2.0, 2.0)) for _ in range(n)]
    return params, optim.Adam(params, lr=0.03, betas=(0.8, 0.99), eps=1e-6, weight_decay=decay)


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_adams_native_step_gives_the_python_loops_floats_bit_for_bit(
        decay: float, monkeypatch: pytest.MonkeyPatch) -> None:
    n = optim.NATIVE_AT + 7
    native, native_adam = _adams(n, decay)
    python, python_adam = _adams(n, decay)
    rng = random.Random(1)
    for step in range(4):
        grads = [rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-8, 8) for _ in range(n)]
        grads[:len(SPECIAL)] = SPECIAL if step == 3 else grads[:len(SPECIAL)]
        for a, b, g in zip(native, python, grads):
            a.grad = b.grad = g
        native_adam.step()
        monkeypatch.setattr(optim, "NATIVE_AT", n + 1)  # the Python loop
        python_adam.step()
        monkeypatch.setattr(optim, "NATIVE_AT", n)
        assert all(_same(a.data, b.data) for a, b in zip(native, python))
        assert all(_same(x, y) for x, y in zip(native_adam._m, python_adam._m))
        assert all(_same(x, y) for x, y in zip(native_adam._v, python_adam._v))
    assert isinstance(native_adam._m, array) and isinstance(python_adam._m, list)


def test_adams_native_step_leaves_bad_grads_to_the_python_loops_error() -> None:
    params, adam = _adams(optim.NATIVE_AT, 0.0)
    for p in params:
        p.grad = 1.0
    params[0].grad = None  # type: ignore[assignment]
    before = [p.data for p in params]
    with pytest.raises(TypeError):
        adam.step()
    assert [p.data for p in params] == before and not any(adam._m)


def test_without_llvmlite_adam_runs_the_python_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object) -> kernels.Kernel:
        raise ImportError("no llvmlite")

    monkeypatch.setattr(kernels, "write_kernel", missing)
    monkeypatch.setattr(optim, "_no_kernel", set())
    params, adam = _adams(optim.NATIVE_AT, 0.0)
    for p in params:
        p.grad = 0.5
    adam.step()
    adam.step()
    assert isinstance(adam._m, list) and optim._no_kernel  # looked for once, not each step
    assert all(m == pytest.approx(0.1 + 0.2 * (0.5 - 0.1)) for m in adam._m)  # beta1 0.8


def test_a_kernel_runs_its_lines_in_order_and_writes_outputs_apart_from_inputs() -> None:
    kernel = kernels.write_kernel((("y", "a * x + b"), ("y", "y * y"), ("z", "math.sqrt(y)")),
                                  ("x",), ("a", "b"))
    x = array("d", [0.0, 1.0, -2.0])
    out = kernel.run([x], [2.0, 1.0])
    assert out is not None
    y, z = out
    assert list(y) == [1.0, 9.0, 9.0] and list(z) == [1.0, 3.0, 3.0]
    assert list(x) == [0.0, 1.0, -2.0]
    assert kernel.outputs == ("y", "z") and "fmul double" in kernel.ir
    assert kernels.write_kernel((("y", "a * x + b"), ("y", "y * y"), ("z", "math.sqrt(y)")),
                                ("x",), ("a", "b")) is kernel  # one per loop, kept
    assert kernel.run([array("d")], [2.0, 1.0]) == [array("d"), array("d")]


def test_a_kernel_says_where_python_would_raise() -> None:
    kernel = kernels.write_kernel((("y", "math.sqrt(x)"), ("z", "1.0 / x")), ("x",), ())
    assert kernel.run([array("d", [4.0, -1.0])], []) is None  # math.sqrt(-1.0): ValueError
    assert kernel.run([array("d", [4.0, 0.0])], []) is None  # 1.0 / 0.0: ZeroDivisionError
    out = kernel.run([array("d", [4.0, math.nan])], [])  # NaN passes, as in Python
    assert out is not None and math.isnan(out[0][1])


@pytest.mark.parametrize("inputs, constants, error", [
    ([[1.0]], [], TypeError),  # a list, not an array of doubles
    ([array("f", [1.0])], [], TypeError),
    ([array("d", [1.0]), array("d", [1.0, 2.0])], [], ValueError),
    ([array("d", [1.0])], [1.0], ValueError),
])
def test_a_kernels_arguments_are_checked_before_it_runs(inputs, constants, error) -> None:
    two = kernels.write_kernel((("y", "x"),), ("x",), ()) if len(inputs) == 1 else \
        kernels.write_kernel((("y", "x + w"),), ("x", "w"), ())
    with pytest.raises(error):
        two.run(inputs, constants)


def test_an_input_resized_by_another_thread_mid_call_never_crashes_the_interpreter() -> None:
    # The native call runs without the GIL: another thread may try to resize an input array
    # meanwhile. Pinned for the call, the array refuses (BufferError); unpinned, it moved
    # under the machine code (a segmentation fault).
    script = textwrap.dedent("""
        import sys, threading
        from array import array
        sys.path.insert(0, ".")
        from autograd.compile import kernels
        kernel = kernels.write_kernel((("y", "x * 2.0 + math.sqrt(x * x)"),), ("x",), ())
        x = array("d", [1.0]) * 4_000_000
        stop, refused = False, []
        def resize():
            while not stop:
                try:
                    del x[:]
                    x.extend(array("d", [1.0]) * 4_000_000)
                except BufferError:
                    refused.append(1)
        thread = threading.Thread(target=resize)
        thread.start()
        try:
            for _ in range(20):
                out = kernel.run([x], [])
                assert out is None or len(out[0]) in (0, 4_000_000)
        finally:
            stop = True
            thread.join()
        print("alive")
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr[-2000:]


def test_a_line_reading_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="reads 'w'"):
        kernels.check((("y", "x * w"),), ("x",), ())
    with pytest.raises(ValueError, match="reads 'w'"):
        kernels.python_loop((("y", "x * w"),), ("x",), ())
