"""batches: every index once per epoch, the last short batch kept, seeded shuffles, checks."""

import doctest
import importlib
import random

import pytest

from nn import batches


def test_without_shuffle_batches_are_consecutive_and_the_last_is_short():
    assert list(batches(7, 3, shuffle=False)) == [[0, 1, 2], [3, 4, 5], [6]]


@pytest.mark.parametrize("n, size", [(10, 3), (10, 5), (10, 10), (10, 32), (1, 1)])
def test_one_epoch_covers_every_index_once(n, size):
    epoch = list(batches(n, size, seed=1))
    flat = [i for batch in epoch for i in batch]
    assert sorted(flat) == list(range(n))
    assert [len(b) for b in epoch] == [size] * (n // size) + ([n % size] if n % size else [])


def test_same_seed_same_order_other_seed_other_order():
    first = list(batches(50, 8, seed=3))
    assert first == list(batches(50, 8, seed=3))
    assert first != list(batches(50, 8, seed=4))
    assert [i for b in first for i in b] != list(range(50))


def test_zero_samples_give_no_batches():
    assert list(batches(0, 4)) == []


@pytest.mark.parametrize("seed", [0, None])
def test_shuffling_leaves_global_random_state_alone(seed):
    random.seed(5)
    before = random.getstate()
    list(batches(100, 7, seed=seed))
    assert random.getstate() == before


@pytest.mark.parametrize("args, error, message", [
    ((10, 0), ValueError, "batch_size must be a positive integer, got 0"),
    ((10, 2.5), ValueError, "batch_size"),
    ((10, True), ValueError, "batch_size"),
    ((-1, 2), ValueError, "n must be an integer >= 0, got -1"),
    ((3.0, 2), ValueError, "n must be"),
])
def test_bad_arguments_raise_at_the_call_not_at_iteration(args, error, message):
    with pytest.raises(error, match=message):
        batches(*args)


def test_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        batches(10, 2, seed="0")


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("nn.data"))
    assert result.attempted > 0 and result.failed == 0
