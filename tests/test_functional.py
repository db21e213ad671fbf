"""The n-ary ops: one node each, numbers mixed in, errors, and stability at +-1000.

Their values and gradients at ordinary points are rows of the table in strategies.py.
"""

from __future__ import annotations

import doctest
import importlib
import math
import re
from collections.abc import Callable, Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import DotCase, SubValue, dot_cases

import autograd as ag
from autograd import Value, gradcheck, no_grad, topological_order
from autograd.value import Operand


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(importlib.import_module("autograd.functional"))
    assert result.attempted > 0 and result.failed == 0


# ---- shape of the graph ---------------------------------------------------------------------


def test_sum_is_one_node_whose_children_are_the_values() -> None:
    xs = [Value(float(i)) for i in range(5)]
    total = ag.sum([xs[0], 10, *xs[1:]], start=0.5)
    assert total.data == 20.5 and total.op == "sum"
    assert total.children == tuple(xs)
    order = topological_order(total)
    assert len(order) == 6 and order[-1] is total  # five leaves and one node, not a chain


def test_functional_ops_accept_iterables() -> None:
    assert ag.sum(Value(float(i)) for i in range(4)).data == 6.0
    assert ag.mean(iter([1, Value(2.0), 3.0])).data == 2.0
    assert [v.data for v in ag.softmax(iter([0.0, 0.0]))] == [0.5, 0.5]


def test_sum_of_numbers_only_has_no_children() -> None:
    assert ag.sum([1, 2.5]).children == ()
    assert ag.sum([]).data == 0.0


def test_softmax_gives_one_node_per_output_each_reading_every_input() -> None:
    xs = [Value(0.1), 2.0, Value(-0.4)]
    outs = ag.softmax(xs)
    assert len(outs) == 3
    assert all(out.op == "softmax" and out.children == (xs[0], xs[2]) for out in outs)


def test_dot_with_a_value_on_both_sides_adds_both_paths() -> None:
    x = Value(3.0)
    out = ag.dot([x, x], [x, 2.0])
    out.backward()
    assert out.data == 15.0
    assert x.grad == 2 * 3.0 + 2.0


def test_functional_ops_record_nothing_under_no_grad() -> None:
    xs = [Value(1.0), Value(2.0)]
    with no_grad():
        outs = [ag.sum(xs), ag.mean(xs), ag.dot(xs, xs), ag.logsumexp(xs),
                *ag.softmax(xs), *ag.log_softmax(xs)]
    assert all(out.children == () and out.op == "" for out in outs)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", [ag.mean, ag.logsumexp, ag.softmax, ag.log_softmax])
def test_empty_input_raises_value_error_naming_the_op(op) -> None:
    with pytest.raises(ValueError, match=op.__name__):
        op([])


def test_dot_of_different_lengths_raises() -> None:
    with pytest.raises(ValueError, match=r"dot.*2.*3"):
        ag.dot([Value(1.0), 2.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("op", [ag.sum, ag.mean, ag.logsumexp, ag.softmax, ag.log_softmax,
                                lambda xs: ag.dot(xs, xs)])
def test_non_number_operand_raises_type_error_naming_it(op) -> None:
    x = Value(1.0)
    y = x * 2
    y.backward()
    before = (x.grad, y.grad, y.children, y.local_grads)
    with pytest.raises(TypeError, match="str"):
        op([y, "a"])
    assert (x.grad, y.grad, y.children, y.local_grads) == before


def test_logsumexp_rejects_infinite_operands() -> None:
    with pytest.raises(ValueError, match="logsumexp"):
        ag.logsumexp([Value(math.inf), Value(0.0)])


# ---- stability at +-1000 ---------------------------------------------------------------------


def test_softmax_of_1000_and_0_is_finite_and_right() -> None:
    a, b = Value(1000.0), Value(0.0)
    p, q = ag.softmax([a, b])
    assert (p.data, q.data) == (1.0, math.exp(-1000.0))
    p.backward()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_softmax_of_ties_far_out_is_even() -> None:
    xs = [Value(-1000.0), Value(-1000.0)]
    outs = ag.softmax(xs)
    assert [o.data for o in outs] == [0.5, 0.5]
    outs[0].backward()
    assert [x.grad for x in xs] == [0.25, -0.25]


def test_log_softmax_at_plus_minus_1000() -> None:
    xs = [Value(1000.0), Value(0.0), Value(-1000.0)]
    outs = ag.log_softmax(xs)
    assert [o.data for o in outs] == [0.0, -1000.0, -2000.0]
    outs[1].backward()
    assert [x.grad for x in xs] == [-1.0, 1.0, 0.0]


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_logsumexp_of_two_equal_extremes(x: float) -> None:
    xs = [Value(x), Value(x)]
    out = ag.logsumexp(xs)
    out.backward()
    assert out.data == pytest.approx(x + math.log(2.0), rel=1e-15)
    # e**(x - y), as PyTorch's backward computes it: 0.5 to within y's rounding.
    assert [v.grad for v in xs] == [math.exp(x - out.data)] * 2
    assert xs[0].grad == pytest.approx(0.5, rel=1e-13)


@given(st.lists(st.floats(-1000.0, 1000.0), min_size=1, max_size=6))
def test_softmax_sums_to_one(xs: list[float]) -> None:
    outs = ag.softmax(xs)
    assert math.fsum(o.data for o in outs) == pytest.approx(1.0, abs=1e-12)
    assert all(0.0 <= o.data <= 1.0 for o in outs)


@given(st.lists(st.floats(-1000.0, 1000.0), min_size=1, max_size=6))
def test_log_softmax_is_log_of_softmax_and_never_positive(xs: list[float]) -> None:
    for log_p, p in zip(ag.log_softmax(xs), ag.softmax(xs)):
        assert log_p.data <= 1e-15
        if p.data > 1e-300:
            assert log_p.data == pytest.approx(math.log(p.data), rel=1e-9, abs=1e-12)


# ---- dot on any mix of operands (its fast paths and its general one) ------------------------


# One example per path through dot, always run, whatever Hypothesis draws besides.
DOT_PATHS = [
    DotCase([(0.5, False), (-2.0, False)], [("leaf", 0), ("leaf", 1)], [("leaf", 1), ("leaf", 0)]),
    DotCase([(0.5, False), (-2.0, False), (3.0, False)], [("leaf", 0), ("leaf", 1), ("leaf", 2)],
            [("leaf", 1), ("leaf", 0), ("float", 1.0)]),  # a neuron's [*x, 1.0]
    DotCase([(0.5, False), (-2.0, False), (3.0, False)], [("leaf", 0), ("leaf", 1), ("leaf", 2)],
            [("leaf", 1), ("float", 4.0), ("float", -1.5)]),  # several trailing floats
    DotCase([(0.5, False), (-2.0, False), (3.0, False)], [("leaf", 0), ("leaf", 1), ("leaf", 2)],
            [("leaf", 1), ("int", 4.0), ("bool", 1.0)]),  # trailing numbers of other types
    DotCase([(0.5, False), (-2.0, True)], [("leaf", 0), ("leaf", 1)],
            [("leaf", 1), ("float", 2.0)]),  # a Value subclass: the general path
    DotCase([(0.5, False), (-2.0, False)], [("float", 4.0), ("leaf", 1), ("int", 3.0)],
            [("leaf", 0), ("float", 2.0), ("leaf", 1)]),  # interleaved: by mask
]


def _with_dot_paths(test: Callable[[DotCase], None]) -> Callable[[DotCase], None]:
    for case in DOT_PATHS:
        test = example(case)(test)
    return test


@_with_dot_paths
@settings(max_examples=200)  # a few ms each; the fast paths need their share of examples
@given(dot_cases())
def test_dot_of_any_operand_mix_matches_a_plain_reference(case: DotCase) -> None:
    leaves = case.make_leaves()
    a, b = case.build(leaves)
    out = ag.dot(a, b)  # type: ignore[arg-type]
    xs, ys = case.numbers(case.a), case.numbers(case.b)
    assert out.data == math.fsum(x * y for x, y in zip(xs, ys))
    assert out.children == tuple(v for v in [*a, *b] if isinstance(v, Value))
    assert out.op == ("dot" if out.children else "")
    assert all(type(d) is float for d in out.local_grads)
    out.backward()
    expected = [0.0] * len(leaves)
    for (kind_a, i), (kind_b, j), x, y in zip(case.a, case.b, xs, ys):
        if kind_a == "leaf":
            expected[int(i)] += y
        if kind_b == "leaf":
            expected[int(j)] += x
    assert [leaf.grad for leaf in leaves] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    with no_grad():
        quiet = ag.dot(a, b)  # type: ignore[arg-type]
    assert (quiet.data, quiet.children, quiet.op) == (out.data, (), "")


@_with_dot_paths
@given(dot_cases())
def test_dot_of_any_operand_mix_passes_gradcheck(case: DotCase) -> None:
    assert gradcheck(lambda v: ag.dot(*case.build(v)),  # type: ignore[arg-type]
                     [x for x, _ in case.leaves])


def test_dot_of_empty_lists_is_a_zero_leaf() -> None:
    out = ag.dot([], [])
    assert (out.data, out.children, out.op) == (0.0, (), "")


def test_dot_of_a_neuron_takes_its_trailing_constant_without_a_child() -> None:
    w = [Value(0.5), Value(-1.0), Value(2.0)]  # two weights and a bias
    x = [Value(3.0), Value(4.0)]
    out = ag.dot(w, [*x, 1.0])
    out.backward()
    assert out.data == 0.5 * 3.0 - 4.0 + 2.0
    assert out.children == (*w, *x)
    assert [v.grad for v in w] == [3.0, 4.0, 1.0] and [v.grad for v in x] == [0.5, -1.0]


@pytest.mark.parametrize("numbers", [[1, 2.5], [True, 3], []])
def test_n_ary_ops_over_numbers_only_return_a_leaf(numbers: list[float]) -> None:
    outs = [ag.sum(numbers), ag.dot(numbers, numbers)]
    if numbers:
        outs += [ag.mean(numbers), ag.logsumexp(numbers), *ag.softmax(numbers),
                 *ag.log_softmax(numbers)]
    assert all(out.children == () and out.op == "" for out in outs)


# ---- dots: a layer's dot products over one shared x --------------------------------------------


def _bits(x: float) -> str:
    return x.hex()  # tells -0.0 from 0.0, and NaN from everything


def _same_node(a: Value, b: Value) -> bool:
    """Bit for bit the same node: data, op, children (by identity) and local derivatives."""
    return (_bits(a.data) == _bits(b.data) and a.op == b.op
            and [_bits(d) for d in a.local_grads] == [_bits(d) for d in b.local_grads]
            and len(a.children) == len(b.children)
            and all(x is y for x, y in zip(a.children, b.children)))


X_CASES = {
    "numbers": lambda v: [0.5, -2.0, 1.0],  # a first layer's [*x, 1.0]
    "values then a number": lambda v: [v[0], v[1], 1.0],  # a hidden layer's [*x, 1.0]
    "values": lambda v: [v[0], v[1], v[2]],
    "numbers of other types": lambda v: [v[0], 2, True],
    "interleaved": lambda v: [1.5, v[0], v[1]],  # goes through dot itself
    "a Value subclass": lambda v: [v[0], SubValue(-0.0), 1.0],
    "signed zeros": lambda v: [-0.0, 0.0, -0.0],
}


def _rows(v: list[Value]) -> list[Sequence[Operand]]:
    return [[Value(0.1), Value(-0.7), Value(2.0)],
            (Value(1.0), Value(1e-3), Value(-4.0)),
            [Value(0.3), 0.5, Value(2.0)],  # a number in a row: dot's general path
            [v[0], v[1], v[2]],  # the same Values in the row and in x
            [SubValue(0.5), Value(-0.0), Value(0.0)]]


@pytest.mark.parametrize("make_x", X_CASES.values(), ids=list(X_CASES))
def test_dots_makes_exactly_the_nodes_dot_makes(make_x: Callable[[list[Value]], list]) -> None:
    v = [Value(0.25), Value(-1.5), Value(3.0)]
    rows, x = _rows(v), make_x(v)
    got, expected = ag.dots(rows, x), [ag.dot(row, x) for row in rows]
    assert len(got) == len(rows)
    assert all(_same_node(g, e) for g, e in zip(got, expected))
    ag.sum(got).backward()
    fresh = [p for row in rows for p in row if isinstance(p, Value)] + v
    by_dot = ag.grad(ag.sum(expected), fresh)
    assert by_dot == pytest.approx([p.grad for p in fresh], rel=1e-15, abs=0.0)


def test_batch_dots_makes_dots_nodes_for_each_sample_whatever_path_each_takes() -> None:
    v = [Value(0.25), Value(-1.5), Value(3.0)]
    samples = [make(v) for make in X_CASES.values()]
    rows = _rows(v)
    batch = ag.batch_dots(iter(rows), (x for x in samples))  # any iterables
    assert len(batch) == len(samples)
    for zs, x in zip(batch, samples):
        assert all(_same_node(z, ag.dot(row, x)) for z, row in zip(zs, rows, strict=True))
    assert ag.batch_dots(rows, []) == []


def test_dots_passes_gradcheck() -> None:
    def layer(v: list[Value]) -> Value:
        rows = [v[0:3], v[3:6]]
        zs = ag.dots(rows, [v[6], v[7], 1.0])
        return (zs[0].tanh() * zs[1]).sin()

    assert gradcheck(layer, [0.3, -0.2, 0.5, 1.1, 0.4, -0.9, 0.7, -1.3])


@pytest.mark.parametrize("rows, x", [
    ([[Value(1.0), Value(2.0)], [Value(1.0), Value(2.0), Value(3.0)]], [1.0, 2.0]),
    ([[Value(1.0), Value(2.0)]], [Value(1.0), "a"]),
    ([[Value(1.0), Value(2.0)]], [Value(1.0), Value(2.0), "a"]),  # length first, as dot
    ([[Value(1.0), "b"]], [Value(1.0), 2.0]),
    ([], ["a"]),  # no rows: nothing to compute, no error, as the list comprehension
])
def test_dots_raises_what_dot_raises(rows: list[list[Operand]], x: list[Operand]) -> None:
    try:
        expected: list[Value] | BaseException = [ag.dot(row, x) for row in rows]
    except (TypeError, ValueError) as error:
        expected = error
    if isinstance(expected, BaseException):
        with pytest.raises(type(expected), match=re.escape(str(expected))):
            ag.dots(rows, x)
    else:
        assert ag.dots(rows, x) == expected == []


def test_dots_edge_cases() -> None:
    w = [Value(1.0), Value(2.0)]
    assert ag.dots([], [1.0, 2.0]) == []
    (empty,) = ag.dots([[]], [])
    assert (empty.data, empty.children, empty.op) == (0.0, (), "")
    with no_grad():
        (quiet,) = ag.dots([w], [Value(3.0), 1.0])
    assert (quiet.data, quiet.children, quiet.op) == (5.0, (), "")
