"""Linear, Conv1d, Flatten, the activations and Sequential: PyTorch's arithmetic, names, init,
interop and errors; and the three MNIST-1D paper models against their PyTorch twins."""

import doctest
import importlib
import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import Value
from nn import (
    ELU,
    GELU,
    MLP,
    SGD,
    Activation,
    Adam,
    Conv1d,
    Flatten,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    cross_entropy,
)

# ---- helpers --------------------------------------------------------------------------------


def _values(rows):
    """rows (a list, or a list of lists) of floats as leaf Values of the same nesting."""
    return [_values(r) if isinstance(r, list) else Value(r) for r in rows]


def _flat(items):
    if isinstance(items, (list, tuple)):
        return [y for x in items for y in _flat(x)]
    return [items]


def _signal(rng, channels, length):
    return [[rng.uniform(-2.0, 2.0) for _ in range(length)] for _ in range(channels)]


def _loss_weights(rng, n):
    return [rng.uniform(-1.0, 1.0) for _ in range(n)]


def _compare(torch, ours, net, x, *, atol=1e-12):
    """Forward both on one sample (torch's as a batch of one), back-propagate the same random
    weighting of the outputs, and compare outputs, parameter gradients and input gradients."""
    rng = random.Random(7)
    xs = _values(x)
    out = ours(xs)
    flat = _flat(out)
    weights = _loss_weights(rng, len(flat))
    ag.dot(flat, weights).backward()

    tx = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    tout = net(tx)
    (tout.reshape(-1) * torch.tensor(weights, dtype=torch.float64)).sum().backward()

    assert [v.data for v in flat] == pytest.approx(tout.reshape(-1).tolist(), abs=atol, rel=0)
    torch_grads = [g for p in net.parameters() for g in p.grad.reshape(-1).tolist()]
    assert [p.grad for p in ours.parameters()] == pytest.approx(torch_grads, abs=atol, rel=0)
    assert [v.grad for v in _flat(xs)] == pytest.approx(tx.grad.reshape(-1).tolist(),
                                                        abs=atol, rel=0)


# ---- Linear -----------------------------------------------------------------------------------


def test_linear_computes_bias_plus_weighted_sum():
    layer = Linear(3, 2, seed=0)
    x = [0.5, -1.0, 2.0]
    out = layer(x)
    for j, y in enumerate(out):
        expected = layer.bias[j].data + math.fsum(w.data * xi for w, xi in zip(layer.weight[j], x))
        assert y.data == pytest.approx(expected, abs=1e-15)


def test_linear_outputs_are_one_dot_node_each_over_the_row_and_the_bias():
    layer = Linear(3, 2, seed=0)
    out = layer([1.0, 2.0, 3.0])
    assert [y.op for y in out] == ["dot", "dot"]
    assert out[1].children == (*layer.weight[1], layer.bias[1])
    assert [y.label for y in out] == ["out.0", "out.1"]


def test_linear_without_bias_has_only_weights():
    layer = Linear(2, 3, bias=False, seed=0)
    assert [name for name, _ in layer.named_parameters()][-1] == "weight.2.1"
    assert not layer.has_bias and repr(layer) == "Linear(2, 3, bias=False)"
    assert layer([1.0, 0.0])[2].data == layer.weight[2][0].data


def test_linear_parameter_names_follow_pytorch():
    names = [name for name, _ in Linear(2, 2, seed=0).named_parameters()]
    assert names == ["weight.0.0", "weight.0.1", "weight.1.0", "weight.1.1", "bias.0", "bias.1"]


@pytest.mark.parametrize(("cls", "args", "fan_in"), [
    (Linear, (16, 50), 16), (Conv1d, (3, 40, 5), 15), (Conv1d, (1, 30, 2), 2)])
def test_init_is_pytorchs_uniform_in_one_over_root_fan_in(cls, args, fan_in):
    module = cls(*args, seed=1)
    bound = 1.0 / math.sqrt(fan_in)
    numbers = [p.data for p in module.parameters()]
    assert all(-bound <= x <= bound for x in numbers)
    assert max(numbers) > 0.95 * bound and min(numbers) < -0.95 * bound
    assert sum(numbers) / len(numbers) == pytest.approx(0.0, abs=0.1 * bound)
    # uniform on [-b, b]: variance b**2 / 3
    assert sum(x * x for x in numbers) / len(numbers) == pytest.approx(bound ** 2 / 3, rel=0.15)
    assert cls(*args, seed=1).state_dict() == module.state_dict()
    assert cls(*args, seed=2).state_dict() != module.state_dict()


LINEAR_SHAPES = [(1, 1, True), (3, 2, True), (5, 7, False), (12, 4, True), (40, 10, True)]


@pytest.mark.torch
@pytest.mark.parametrize(("nin", "nout", "bias"), LINEAR_SHAPES)
def test_linear_matches_torch_outputs_and_gradients(nin, nout, bias):
    torch = pytest.importorskip("torch")
    layer = Linear(nin, nout, bias=bias, seed=nin)
    x = _loss_weights(random.Random(nin), nin)
    _compare(torch, layer, layer.to_torch(), x)


# ---- Conv1d -----------------------------------------------------------------------------------

# (in, out, kernel, stride, padding, length, bias): kernels wider than the padded edge, strides
# that skip the last positions, padding wider than the kernel, windows all inside.
CONV_CASES = [
    (1, 1, 1, 1, 0, 1, True), (1, 2, 3, 1, 0, 5, True), (2, 3, 3, 1, 1, 6, True),
    (1, 25, 5, 2, 1, 40, True), (25, 4, 3, 2, 1, 19, True), (3, 2, 4, 3, 2, 11, False),
    (2, 2, 2, 2, 0, 7, True), (1, 3, 5, 1, 4, 3, True), (4, 1, 3, 5, 1, 13, True),
    (2, 5, 7, 1, 3, 7, False), (3, 3, 1, 2, 0, 8, True), (1, 1, 3, 1, 1, 1, True),
    (1, 2, 2, 1, 3, 2, True), (2, 2, 2, 2, 4, 3, False),  # windows wholly in the padding
]


@pytest.mark.torch
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(map(str, c)))
def test_conv1d_matches_torch_outputs_and_gradients(case):
    torch = pytest.importorskip("torch")
    cin, cout, k, stride, padding, length, bias = case
    conv = Conv1d(cin, cout, k, stride=stride, padding=padding, bias=bias, seed=sum(case))
    x = _signal(random.Random(length), cin, length)
    out = conv(x)
    assert len(out) == cout and {len(row) for row in out} == {conv.output_length(length)}
    assert conv.output_length(length) == (length + 2 * padding - k) // stride + 1
    _compare(torch, conv, conv.to_torch(), x)


@given(data=st.data())
def test_conv1d_is_the_contracts_formula_for_any_shape(data):
    cin, cout, k = (data.draw(st.integers(1, 3)) for _ in range(3))
    stride, padding = data.draw(st.integers(1, 3)), data.draw(st.integers(0, 3))
    length = data.draw(st.integers(max(1, k - 2 * padding), 9))
    bias = data.draw(st.booleans())
    conv = Conv1d(cin, cout, k, stride=stride, padding=padding, bias=bias, seed=0)
    x = _signal(random.Random(length), cin, length)
    out = conv(x)

    def at(c, i):
        return x[c][i] if 0 <= i < length else 0.0

    steps = (length + 2 * padding - k) // stride + 1
    assert [len(row) for row in out] == [steps] * cout
    for o in range(cout):
        for t in range(steps):
            expected = math.fsum([conv.bias[o].data if bias else 0.0]
                                 + [conv.weight[o][c][j].data * at(c, t * stride + j - padding)
                                    for c in range(cin) for j in range(k)])
            assert out[o][t].data == pytest.approx(expected, abs=1e-14)


def test_conv1d_output_is_one_dot_over_the_taps_inside_and_the_bias():
    conv = Conv1d(2, 1, 3, padding=1, seed=0)
    x = _values([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    (row,) = conv(x)
    assert [y.op for y in row] == ["dot"] * 3
    w, b = conv.weight[0], conv.bias[0]
    # Position 0 reads x[c][-1] (padding) for k = 0: that weight is not a child.
    assert row[0].children == (w[0][1], w[0][2], w[1][1], w[1][2], b,
                               x[0][0], x[0][1], x[1][0], x[1][1])
    assert row[1].children == (*w[0], *w[1], b, *x[0], *x[1])
    assert [y.label for y in row] == ["out.0.0", "out.0.1", "out.0.2"]


def test_conv1d_by_hand():
    conv = Conv1d(1, 1, 2, stride=2, padding=1, seed=0)
    conv.weight[0][0][0].data, conv.weight[0][0][1].data, conv.bias[0].data = 2.0, -1.0, 0.5
    # padded x: [0, 1, 2, 3, 0]; windows at 0, 2: (0, 1), (2, 3)
    assert [y.data for y in conv([[1.0, 2.0, 3.0]])[0]] == [0.5 - 1.0, 0.5 + 4.0 - 3.0]


def test_conv1d_parameter_names_follow_pytorch():
    names = [name for name, _ in Conv1d(2, 2, 2, seed=0).named_parameters()]
    assert names[:4] == ["weight.0.0.0", "weight.0.0.1", "weight.0.1.0", "weight.0.1.1"]
    assert names[-2:] == ["bias.0", "bias.1"] and len(names) == 10


def _same_nodes(a, b):
    """The two outputs' graphs match node for node; their leaves are the same Values."""
    order_a = ag.topological_order(ag.sum(_flat(a)))
    order_b = ag.topological_order(ag.sum(_flat(b)))
    assert len(order_a) == len(order_b)
    for p, q in zip(order_a, order_b):
        assert (p.data, p.op, p.label, p.local_grads, len(p.children)) \
            == (q.data, q.op, q.label, q.local_grads, len(q.children))
        if not p.children:
            assert p is q


@pytest.mark.parametrize("module", [
    Conv1d(2, 3, 3, stride=2, padding=1, seed=0), Conv1d(2, 2, 1, seed=0),
    Linear(2 * 6, 3, seed=0), Sequential(Conv1d(2, 3, 3, padding=2, seed=1), ReLU(), Flatten(),
                                         Linear(24, 2, seed=2))],
    ids=["conv", "conv_k1", "linear", "sequential"])
def test_forward_batch_makes_the_nodes_of_one_call_per_sample(module):
    rng = random.Random(3)
    xs = [_values(_signal(rng, 2, 6)) for _ in range(3)]
    if isinstance(module, Linear):
        xs = [[v for row in x for v in row] for x in xs]
    batch = module.forward_batch(xs)
    assert len(batch) == 3
    for x, out in zip(xs, batch):
        _same_nodes(out, module(x))


def test_conv1d_forward_batch_refuses_samples_of_different_lengths():
    conv = Conv1d(1, 1, 2, seed=0)
    with pytest.raises(ValueError, match="samples of one length, got lengths \\[3, 4\\]"):
        conv.forward_batch([[[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0, 4.0]]])
    assert conv.forward_batch([]) == []


# ---- activations and Flatten -------------------------------------------------------------------

ACTIVATION_MODULES = [(ReLU, "ReLU", ()), (Tanh, "Tanh", ()), (Sigmoid, "Sigmoid", ()),
                      (ELU, "ELU", ()), (GELU, "GELU", ()), (SiLU, "SiLU", ()),
                      (Softplus, "Softplus", ()),
                      (LeakyReLU, "LeakyReLU", ()), (LeakyReLU, "LeakyReLU", (0.2,))]


@pytest.mark.torch
@pytest.mark.parametrize(("cls", "torch_name", "args"), ACTIVATION_MODULES,
                         ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_activations_match_torch_elementwise_on_flat_and_nested_lists(cls, torch_name, args,
                                                                       shape):
    torch = pytest.importorskip("torch")
    module = cls(*args)
    net = module.to_torch()
    assert type(net).__name__ == torch_name
    rng = random.Random(len(shape))
    # Off the kink at 0, where relu's derivative is a choice.
    x = [rng.choice([-1, 1]) * rng.uniform(0.1, 3.0) for _ in range(shape[0])] \
        if len(shape) == 1 else _signal(rng, *shape)
    _compare(torch, module, net, x)


def test_activation_outputs_are_labelled_by_position_and_numbers_are_constants():
    out = ReLU()([[1.0, -2.0], [Value(3.0), -4.0]])
    assert [[y.data for y in row] for row in out] == [[1.0, 0.0], [3.0, 0.0]]
    assert [y.label for y in out[1]] == ["out.1.0", "out.1.1"]
    assert [y.label for y in Tanh()([0.0, 1.0])] == ["out.0", "out.1"]


def test_leaky_relu_uses_its_slope():
    assert LeakyReLU(0.2)([-1.0])[0].data == pytest.approx(-0.2)
    assert LeakyReLU()([-1.0])[0].data == pytest.approx(-0.01)
    with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a finite number"):
        LeakyReLU(float("nan"))


def test_activation_by_name_reads_the_table():
    assert Activation("tanh")([0.5])[0].data == math.tanh(0.5)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Activation("swish")
    with pytest.raises(ValueError, match="adds no node"):
        Activation("linear")


def test_flatten_goes_channel_after_channel():
    assert Flatten()([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert Flatten()([1.0, 2.0]) == [1.0, 2.0]
    with pytest.raises(ValueError, match="Flatten expects channels x length: .*lengths \\[1, 2\\]"):
        Flatten()([[1.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match="Flatten expects"):
        Flatten()(3.0)


# ---- Sequential ---------------------------------------------------------------------------------


def _cnn(seed=0):
    return Sequential(Conv1d(1, 25, 5, stride=2, padding=1, seed=seed), ReLU(),
                      Conv1d(25, 25, 3, stride=2, padding=1, seed=seed + 1), ReLU(),
                      Conv1d(25, 25, 3, stride=2, padding=1, seed=seed + 2), ReLU(),
                      Flatten(), Linear(125, 10, seed=seed + 3))


def test_sequential_indexes_iterates_and_names_like_pytorch():
    seq = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    assert len(seq) == 3 and isinstance(seq[1], ReLU) and seq[-1] is seq[2]
    assert list(seq) == [seq[0], seq[1], seq[2]]
    assert [m for m in seq[1:]] == [seq[1], seq[2]] and isinstance(seq[1:], Sequential)
    names = [name for name, _ in seq.named_parameters()]
    assert names[:2] == ["0.weight.0.0", "0.weight.0.1"] and names[-1] == "2.bias.0"
    assert seq.parameters()[0] is seq[0].weight[0][0]
    x = [0.5, -0.25]
    assert seq(x)[0].data == seq[2](seq[1](seq[0](x)))[0].data


def test_sequential_labels_nodes_by_position():
    seq = _cnn()
    out = seq([[0.1] * 40])
    assert [y.label for y in out][:2] == ["7.out.0", "7.out.1"]
    assert seq[0].weight[3][0][1].label == "0.weight.3.0.1"
    assert seq[7].bias[9].label == "7.bias.9"
    assert len(seq.parameters()) == 25 * 5 + 25 + 2 * (25 * 25 * 3 + 25) + 125 * 10 + 10


def test_sequential_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="Sequential: argument 1 must be a Module, got str"):
        Sequential(Linear(1, 1), "relu")


# ---- errors: a clear message, and nothing changes ---------------------------------------------


def _snapshot(module):
    return [(p.data, p.grad, p.label) for p in module.parameters()]


@pytest.mark.parametrize(("module", "x", "error", "message"), [
    (Conv1d(2, 3, 3, seed=0), [[1.0, 2.0, 3.0]], ValueError,
     r"Conv1d\(2, 3, kernel_size=3, stride=1, padding=0\) expects 2 channels x one length >= 3, "
     r"got 1 channels"),
    (Conv1d(2, 3, 3, seed=0), [[1.0, 2.0, 3.0], [1.0, 2.0]], ValueError,
     r"expects 2 channels x one length >= 3, got channels of lengths \[2, 3\]"),
    (Conv1d(1, 1, 5, padding=1, seed=0), [[1.0, 2.0]], ValueError,
     r"expects 1 channels x one length >= 3, got length 2: shorter than the kernel"),
    (Conv1d(2, 1, 2, seed=0), [1.0, 2.0], TypeError, "each channel a list of numbers"),
    (Conv1d(1, 1, 2, seed=0), 3.0, TypeError, r"\(a list of lists\), got float"),
    (Linear(3, 2, seed=0), [1.0, 2.0], ValueError,
     r"Linear\(3, 2\) expects a list of 3 inputs, got 2"),
    (Linear(3, 2, seed=0), "abc", TypeError, "expects a list of 3 inputs, got str"),
    (_cnn(), [[0.0] * 44], ValueError,
     r"Sequential layer 7: Linear\(125, 10\) expects a list of 125 inputs, got 150"),
    (_cnn(), [[0.0] * 40, [0.0] * 40], ValueError,
     r"Sequential layer 0: Conv1d\(1, 25, .*\) expects 1 channels x one length >= 3, got 2"),
], ids=["channels", "ragged", "short", "flat", "number", "linear", "str", "cnn_length",
        "cnn_channels"])
def test_bad_input_names_the_module_and_shape_and_changes_nothing(module, x, error, message):
    before = _snapshot(module)
    with pytest.raises(error, match=message):
        module(x)
    with pytest.raises(error, match=message):
        module.forward_batch([x])
    assert _snapshot(module) == before


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Linear(0, 2), "Linear: in_features must be a positive integer, got 0"),
    (lambda: Linear(2, 2, bias=1), "Linear: bias must be True or False, got int"),
    (lambda: Conv1d(1, 1, 3, stride=0), "Conv1d: stride must be a positive integer, got 0"),
    (lambda: Conv1d(1, 1, 3, padding=-1), "Conv1d: padding must be an integer >= 0, got -1"),
    (lambda: Conv1d(1, 1, 3, seed="x"), "Conv1d: seed must be an int or None, got str"),
])
def test_bad_constructor_arguments_are_refused(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


# ---- PyTorch interop ----------------------------------------------------------------------------


def _modules_to_round_trip():
    return [Linear(3, 4, seed=0), Linear(3, 4, bias=False, seed=0),
            Conv1d(2, 3, 3, stride=2, padding=1, seed=0), Flatten(), ReLU(), Tanh(),
            Sigmoid(), LeakyReLU(0.3), _cnn(),
            Sequential(Linear(3, 4, seed=0), Tanh(), Linear(4, 4, seed=1), LeakyReLU(),
                       Linear(4, 2, bias=False, seed=2), Sigmoid())]


@pytest.mark.torch
@pytest.mark.parametrize("module", _modules_to_round_trip(), ids=repr)
def test_to_torch_then_from_torch_gives_exactly_the_same_module(module):
    pytest.importorskip("torch")
    seq = module if isinstance(module, Sequential) else Sequential(module)
    net = seq.to_torch()
    assert all(p.dtype.is_floating_point and p.dtype.itemsize == 8 for p in net.parameters())
    back = Sequential.from_torch(net)
    assert back.state_dict() == seq.state_dict()
    assert back.architecture() == seq.architecture()
    assert repr(back) == repr(seq)


@pytest.mark.torch
def test_from_torch_reads_a_float32_torch_cnn_exactly():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 4, 5, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 19, 3))
    ours = Sequential.from_torch(net)
    assert [p.data for p in ours.parameters()] \
        == [x for p in net.parameters() for x in p.detach().double().reshape(-1).tolist()]
    x = _signal(random.Random(0), 1, 40)
    _compare(torch, ours, net.double(), x)


def _unsupported(torch):
    nn = torch.nn
    return {
        "dropout": (nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)), r"layer 1 \(Dropout"),
        "dilation": (nn.Sequential(nn.Conv1d(1, 2, 3, dilation=2)), r"layer 0 .*dilation 2"),
        "groups": (nn.Sequential(nn.ReLU(), nn.Conv1d(2, 2, 3, groups=2)),
                   r"layer 1 .*groups=2"),
        "reflect": (nn.Sequential(nn.Conv1d(1, 2, 3, padding=1, padding_mode="reflect")),
                    r"layer 0 .*padding_mode 'reflect'"),
        "same": (nn.Sequential(nn.Conv1d(1, 2, 3, padding="same")), r"padding='same'"),
        "flatten_dims": (nn.Sequential(nn.Flatten(0)), r"layer 0 .*only Flatten\(\)"),
        "float16": (nn.Sequential(nn.Linear(2, 2).half()), r"layer 0 .*float16"),
        "nested": (nn.Sequential(nn.Sequential(nn.Linear(2, 2))), r"layer 0 \(Sequential"),
        "subclass": (nn.Sequential(type("MyLinear", (nn.Linear,), {})(2, 2)),
                     r"layer 0 \(MyLinear"),
    }


@pytest.mark.torch
@pytest.mark.parametrize("case", ["dropout", "dilation", "groups", "reflect", "same",
                                  "flatten_dims", "float16", "nested", "subclass"])
def test_sequential_from_torch_refuses_what_it_cannot_build_and_builds_nothing(case):
    torch = pytest.importorskip("torch")
    module, message = _unsupported(torch)[case]
    built = []

    class Recording(Sequential):
        def __init__(self, *modules):
            built.append(modules)
            super().__init__(*modules)

    with pytest.raises(ValueError, match=f"Sequential.from_torch: .*{message}"):
        Recording.from_torch(module)
    assert built == []


@pytest.mark.torch
def test_sequential_from_torch_refuses_a_nan_and_what_is_not_a_sequential():
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv1d(1, 1, 2)
    with torch.no_grad():
        conv.weight[0, 0, 1] = float("inf")
    with pytest.raises(ValueError, match=r"layer 0 \(Conv1d.*NaN or an infinite"):
        Sequential.from_torch(torch.nn.Sequential(conv))
    with pytest.raises(TypeError, match="expects a torch.nn.Sequential, got Conv1d"):
        Sequential.from_torch(conv)


@pytest.mark.torch
def test_to_torch_of_a_module_without_a_twin_says_so():
    pytest.importorskip("torch")

    class Double(Module):
        def forward(self, x):
            return [2 * v for v in x]

    with pytest.raises(ValueError, match=r"Sequential.to_torch: layer 1 \(.*Double.*\) has no "
                                         "to_torch"):
        Sequential(Linear(2, 2, seed=0), Double()).to_torch()


# ---- state dicts by PyTorch's names -------------------------------------------------------------


class ResMLP(Module):
    """The MNIST-1D paper's MLP, written as in PyTorch (the contract's example)."""

    def __init__(self, seed=0, sizes=(40, 100, 10)):
        super().__init__()
        nin, hidden, nout = sizes
        self.l1, self.l2, self.l3 = (Linear(nin, hidden, seed=seed),
                                     Linear(hidden, hidden, seed=seed + 1),
                                     Linear(hidden, nout, seed=seed + 2))

    def forward(self, x):
        h = [v.relu() for v in self.l1(x)]
        h = [a + b.relu() for a, b in zip(h, self.l2(h))]
        return self.l3(h)


SMALL = (6, 5, 3)  # a ResMLP small enough for quick tests


def _torch_resmlp(torch, sizes=(40, 100, 10)):
    nin, hidden, nout = sizes

    class TorchResMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2, self.l3 = (torch.nn.Linear(nin, hidden),
                                         torch.nn.Linear(hidden, hidden),
                                         torch.nn.Linear(hidden, nout))

        def forward(self, x):
            h = self.l1(x).relu()
            h = h + self.l2(h).relu()
            return self.l3(h)

    return TorchResMLP().double()


@pytest.mark.torch
def test_a_users_module_moves_to_its_torch_twin_and_back_by_state_dict():
    torch = pytest.importorskip("torch")
    model, twin = ResMLP(sizes=SMALL), _torch_resmlp(torch, SMALL)
    state = model.torch_state_dict()
    assert list(state) == ["l1.weight", "l1.bias", "l2.weight", "l2.bias", "l3.weight",
                           "l3.bias"]
    assert state["l1.weight"].shape == (5, 6) and state["l3.bias"].dtype == torch.float64
    twin.load_state_dict(state)
    x = _loss_weights(random.Random(1), 6)
    _compare(torch, model, twin, x)

    other = ResMLP(seed=10, sizes=SMALL)
    other.load_torch_state_dict(twin.state_dict())
    assert other.state_dict() == model.state_dict()
    other.load_torch_state_dict({k: v.float() for k, v in twin.state_dict().items()})
    assert other.state_dict() == pytest.approx(model.state_dict(), abs=1e-7, rel=0)


@pytest.mark.torch
@pytest.mark.parametrize("model", [MLP(3, [4, 2], seed=0),
                                   MLP(3, [4, 4, 1], activation=["tanh", "linear"], seed=0),
                                   _cnn()], ids=["mlp", "mlp_linear_hidden", "cnn"])
def test_torch_state_dict_loads_into_to_torch(model):
    pytest.importorskip("torch")
    net = model.to_torch()
    assert list(model.torch_state_dict()) == list(net.state_dict())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(model.torch_state_dict())
    assert all(bool((net.state_dict()[k] == v).all()) for k, v in before.items())
    copy = type(model).from_torch(net)
    copy.load_torch_state_dict(net.state_dict())
    assert copy.state_dict() == model.state_dict()


@pytest.mark.torch
def test_load_torch_state_dict_checks_everything_first_and_changes_nothing():
    torch = pytest.importorskip("torch")
    model = ResMLP(sizes=SMALL)
    good = model.torch_state_dict()
    before = model.state_dict()
    cases = {
        "missing": ({k: v for k, v in good.items() if k != "l2.bias"}, ValueError,
                    r"missing 1 \('l2.bias'\), unexpected none"),
        "unexpected": ({**good, "l4.weight": torch.zeros(1)}, ValueError,
                       r"unexpected 1 \('l4.weight'\)"),
        "shape": ({**good, "l3.weight": torch.zeros(5, 3, dtype=torch.float64)}, ValueError,
                  r"'l3.weight' has shape \(5, 3\), expected \(3, 5\)"),
        "dtype": ({**good, "l3.bias": torch.zeros(3, dtype=torch.int64)}, ValueError,
                  "'l3.bias' is torch.int64; expected float32 or float64"),
        "nan": ({**good, "l3.bias": torch.full((3,), float("nan"), dtype=torch.float64)},
                ValueError, "'l3.bias' holds a NaN"),
        "kind": ({**good, "l3.bias": [0.0] * 3}, TypeError, "'l3.bias' must be a torch.Tensor"),
        "not_a_mapping": ([1, 2], TypeError, "state must be a mapping"),
    }
    for case, (state, error, message) in cases.items():
        # The last entry is the bad one: the ones before it must not have been assigned.
        modified = {k: (v * 0 + 5.0 if k != "l3.bias" and hasattr(v, "dtype")
                        and v.dtype == torch.float64 else v)
                    for k, v in state.items()} if isinstance(state, dict) else state
        with pytest.raises(error, match=message):
            model.load_torch_state_dict(modified)
        assert model.state_dict() == before, case


# ---- optimizers handed to torch for a Sequential ------------------------------------------------


def _train_here(model, optimizer, xs, labels, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        cross_entropy(model.forward_batch(xs), labels).backward()
        optimizer.step()


def _train_torch(torch, net, optimizer, xs, labels, steps):
    tx = torch.tensor(xs, dtype=torch.float64)
    ty = torch.tensor(labels)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(tx), ty).backward()
        optimizer.step()


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "config"), [
    ("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01, "weight_decay": 0.001})])
def test_training_a_sequential_continued_in_torch_follows_the_same_trajectory(kind, config):
    torch = pytest.importorskip("torch")
    rng = random.Random(5)
    xs = [_signal(rng, 2, 9) for _ in range(4)]
    labels = [0, 2, 1, 2]
    make = lambda: Sequential(Conv1d(2, 3, 3, stride=2, padding=1, seed=0), Tanh(),  # noqa: E731
                              Flatten(), Linear(15, 3, seed=1))
    cls = SGD if kind == "sgd" else Adam
    here, there = make(), make()
    opt_here, opt_there = cls(here.parameters(), **config), cls(there.parameters(), **config)
    _train_here(here, opt_here, xs, labels, 5)
    _train_here(there, opt_there, xs, labels, 2)
    net = there.to_torch()
    _train_torch(torch, net, opt_there.to_torch(net), xs, labels, 3)
    assert [x for p in net.parameters() for x in p.detach().reshape(-1).tolist()] \
        == pytest.approx([p.data for p in here.parameters()], abs=1e-10, rel=0)


@pytest.mark.torch
def test_optimizer_to_torch_refuses_a_stale_sequential():
    pytest.importorskip("torch")
    model = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    optimizer = SGD(model.parameters(), lr=0.1)
    stale = model.to_torch()
    model[0].bias[0].data += 1.0
    with pytest.raises(ValueError, match=r"SGD.to_torch: parameter 6 is .* here but .* in module"):
        optimizer.to_torch(stale)


# ---- a user's module with everything else: compile, pictures, explorer --------------------------


def test_compile_of_a_function_calling_a_users_module_matches_eager():
    model = ResMLP(sizes=SMALL)
    x = _loss_weights(random.Random(2), 6)

    def loss_fn(x, label):
        return cross_entropy([model(x)], [label])

    step = ag.compile(loss_fn)
    compiled = step(x, 2)
    compiled.backward()
    compiled_grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager = loss_fn(x, 2)
    eager.backward()
    assert compiled.data == pytest.approx(eager.data, rel=1e-12)
    assert compiled_grads == pytest.approx([p.grad for p in model.parameters()], rel=1e-12,
                                           abs=1e-15)


def test_compile_writes_one_line_per_conv_output():
    conv = Conv1d(1, 2, 3, seed=0)
    step = ag.compile(lambda x: ag.sum(_flat(conv(x))))
    step([[1.0, 2.0, 3.0, 4.0, 5.0]])
    forward = step.source.split("backward pass")[0]
    lines = [line.strip() for line in forward.splitlines() if " = fsum(" in line]
    # 2 channels x 3 positions, one line each, then the sum
    assert len(lines) == 7 and lines[0].startswith("out00 = fsum((weight000 * x_0_0")


def test_the_explorer_steps_through_a_users_module(tmp_path):
    from autograd.explorer import explore

    class Tiny(Module):
        def __init__(self):
            super().__init__()
            self.conv = Conv1d(1, 1, 2, seed=0)

        def forward(self, x):
            return ag.sum(self.conv(x)[0])

    path = explore(Tiny()([[1.0, 2.0, 3.0]]), tmp_path / "out" / "tiny.html")
    page = path.read_text(encoding="utf-8")
    assert "conv.weight.0.0.0" in page and "conv.out.0.1" in page


# ---- the three MNIST-1D paper models against their PyTorch twins --------------------------------


@pytest.fixture(scope="module")
def mnist1d_samples():
    """16 training signals of the paper's MNIST-1D (built offline by the mnist1d package)."""
    pytest.importorskip("mnist1d")
    np = pytest.importorskip("numpy")
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds Python's and NumPy's global generators: put them back afterwards.
    state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        random.setstate(state)
        np.random.set_state(np_state)
    assert data["x"].shape == (4000, 40) and data["x_test"].shape == (1000, 40)
    return data["x"][:16].tolist(), [int(y) for y in data["y"][:16]]


def _paper_models(torch):
    nn = torch.nn
    logistic = Linear(40, 10, seed=0)
    resmlp = ResMLP(seed=1)
    cnn = _cnn(seed=4)
    twin_resmlp = _torch_resmlp(torch)
    twin_resmlp.load_state_dict(resmlp.torch_state_dict())
    twin_cnn = nn.Sequential(nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),
                             nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                             nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                             nn.Flatten(), nn.Linear(125, 10)).double()
    twin_cnn.load_state_dict(cnn.torch_state_dict())
    return {"logistic": (logistic, logistic.to_torch(), False),
            "resmlp": (resmlp, twin_resmlp, False),
            "cnn": (cnn, twin_cnn, True)}


def paper_model_differences(torch, name, samples):
    """The largest |ours - torch| over the batch's logits, and over the parameters' and
    inputs' gradients of the mean cross-entropy."""
    model, twin, channels = _paper_models(torch)[name]
    xs, labels = samples
    inputs = [_values([x] if channels else x) for x in xs]
    logits = [model(x) for x in inputs]
    cross_entropy(logits, labels).backward()
    tx = torch.tensor([[x] if channels else x for x in xs], dtype=torch.float64,
                      requires_grad=True)
    tlogits = twin(tx)
    torch.nn.functional.cross_entropy(tlogits, torch.tensor(labels)).backward()
    out = max(abs(v.data - t) for row, trow in zip(logits, tlogits.tolist())
              for v, t in zip(row, trow))
    ours = [p.grad for p in model.parameters()] + [v.grad for x in inputs for v in _flat(x)]
    theirs = [g for p in twin.parameters() for g in p.grad.reshape(-1).tolist()] \
        + tx.grad.reshape(-1).tolist()
    assert len(ours) == len(theirs)
    grad = max(abs(a - b) for a, b in zip(ours, theirs))
    return out, grad


@pytest.mark.torch
@pytest.mark.parametrize("name", ["logistic", "resmlp", "cnn"])
def test_paper_models_match_their_torch_twins_on_mnist1d(name, mnist1d_samples):
    torch = pytest.importorskip("torch")
    out, grad = paper_model_differences(torch, name, mnist1d_samples)
    assert out < 1e-12 and grad < 1e-12


# ---- docs ---------------------------------------------------------------------------------------


def test_docstring_examples_run():
    module = importlib.import_module("nn.modules")
    failed, attempted = doctest.testmod(module)
    assert attempted > 0 and failed == 0


def test_every_pair_of_activation_modules_composes():
    x = [0.3, -0.7]
    for a, b in itertools.product([ReLU(), Tanh(), Sigmoid(), ELU(), GELU(), SiLU(),
                                   Softplus(), LeakyReLU()], repeat=2):
        assert len(Sequential(a, b)(x)) == 2


@pytest.mark.torch
def test_a_new_activation_is_one_row_of_the_table(monkeypatch):
    torch = pytest.importorskip("torch")
    from nn import ACTIVATIONS, ActivationRule

    # softsign(x) = x / (1 + |x|), made of Value ops: added in one row, and nothing else.
    monkeypatch.setitem(ACTIVATIONS, "softsign",
                        ActivationRule(lambda v: v / (1 + abs(v)), "Softsign", 3.0))
    model = MLP(2, [3, 1], activation="softsign", seed=0)
    net = model.to_torch()
    assert [type(m).__name__ for m in net] == ["Linear", "Softsign", "Linear"]
    x = [0.4, -1.2]
    assert model(x)[0].data == pytest.approx(net(torch.tensor([x], dtype=torch.float64)).item(),
                                             abs=1e-12, rel=0)
    assert MLP.from_torch(net).activation == "softsign"
    back = Sequential.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softsign()))
    assert repr(back[1]) == "Activation('softsign')"
    assert back[1]([1.0])[0].data == 0.5


@pytest.mark.torch
def test_from_torch_refuses_an_activation_with_other_arguments_than_the_tables(monkeypatch):
    torch = pytest.importorskip("torch")
    from nn import ACTIVATIONS, ActivationRule

    monkeypatch.setitem(ACTIVATIONS, "elu", ActivationRule(lambda v: v.relu(), "ELU", 3.0))
    nn = torch.nn
    assert isinstance(Sequential.from_torch(nn.Sequential(nn.ELU()))[0], Activation)
    with pytest.raises(ValueError, match=r"layer 0 \(ELU\(alpha=0.5\)\) is not supported: only "
                                         "its default arguments"):
        Sequential.from_torch(nn.Sequential(nn.ELU(alpha=0.5)))
    with pytest.raises(ValueError, match=r"layer 1 \(ELU\(alpha=0.5\)\) is not supported"):
        MLP.from_torch(nn.Sequential(nn.Linear(2, 2), nn.ELU(alpha=0.5)))
