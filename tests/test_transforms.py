"""Fast transforms against their definitions, their inverses, their adjoints, and the torch backend."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harsanyi import HarsanyiValueError
from harsanyi._transforms import (
    kronecker_transform,
    or_reconstruct,
    or_transform,
    subset_moebius,
    subset_zeta,
    superset_moebius,
    superset_zeta,
)

from conftest import ATOL, brute_moebius, mask_of, random_table, subsets

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_moebius_matches_definition(n, seed):
    v = random_table(n, seed)
    np.testing.assert_allclose(subset_moebius(v), brute_moebius(v, n), atol=ATOL)


@pytest.mark.parametrize("n", [1, 4, 7])
def test_zeta_and_superset_match_definition(n, seed):
    f = random_table(n, seed)
    zeta = np.array([sum(f[mask_of(t)] for t in subsets([i for i in range(n) if s >> i & 1])) for s in range(1 << n)])
    sup = np.array([sum(f[t] for t in range(1 << n) if t & s == s) for s in range(1 << n)])
    np.testing.assert_allclose(subset_zeta(f), zeta, atol=ATOL)
    np.testing.assert_allclose(superset_zeta(f), sup, atol=ATOL)


def test_inverses_and_input_untouched():
    v = random_table(10, 0)
    before = v.copy()
    np.testing.assert_allclose(subset_zeta(subset_moebius(v)), v, atol=1e-9)
    np.testing.assert_allclose(superset_moebius(superset_zeta(v)), v, atol=1e-9)
    np.testing.assert_array_equal(v, before)


@pytest.mark.parametrize("pair", [(subset_zeta, superset_zeta), (subset_moebius, superset_moebius)])
def test_adjoints(pair, seed):
    """<A x, y> = <x, Aᵀ y>: the superset transforms are the transposes used for gradients."""
    forward, adjoint = pair
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(2, 1 << 9))
    assert np.dot(forward(x), y) == pytest.approx(np.dot(x, adjoint(y)), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.sampled_from([2, 8, 32]), elements=st.floats(-1e3, 1e3)))
def test_or_reconstruction_property(v):
    """v(S) = I_or(∅) + Σ_{T∩S≠∅} I_or(T) for every S (SPEC §2)."""
    np.testing.assert_allclose(or_reconstruct(or_transform(v)), v, atol=1e-7 * max(1.0, np.abs(v).max()))


def test_or_matches_definition():
    n = 5
    v = random_table(n, 3)
    full = (1 << n) - 1
    expected = np.zeros(1 << n)
    expected[0] = v[0]
    for s in subsets(range(n)):
        if s:
            expected[mask_of(s)] = -sum((-1) ** (len(s) - len(t)) * v[full ^ mask_of(t)] for t in subsets(s))
    np.testing.assert_allclose(or_transform(v), expected, atol=ATOL)


def test_batched_leading_axes():
    tables = np.stack([random_table(6, s) for s in range(3)])
    out = subset_moebius(tables)
    for k in range(3):
        np.testing.assert_allclose(out[k], subset_moebius(tables[k]), atol=ATOL)


def test_torch_backend_equals_numpy():
    v = random_table(12, 1)
    t = torch.tensor(v)
    for fn in (subset_zeta, subset_moebius, superset_zeta, superset_moebius, or_transform, or_reconstruct):
        out = fn(t)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), fn(v), atol=1e-9)


def test_bad_length_raises():
    with pytest.raises(HarsanyiValueError, match="not a power of two"):
        subset_moebius(np.zeros(6))


@pytest.mark.parametrize("n", [1, 3, 5, 8])
def test_numpy_only_kernels_without_torch(monkeypatch, n):
    """Without torch loaded the five lowest bits are one Kronecker matrix product: same results as the definition
    (1e-12: different summation order than the brute force) and as the torch-kernel path, for batched tables too."""
    import sys

    rng = np.random.default_rng(n)
    v = rng.normal(size=(2, 1 << n))
    with_torch = [f(v) for f in (subset_moebius, subset_zeta, superset_zeta, superset_moebius)]
    monkeypatch.setitem(sys.modules, "torch", None)  # sys.modules.get("torch") is None: as if never imported
    without = [f(v) for f in (subset_moebius, subset_zeta, superset_zeta, superset_moebius)]
    for a, b in zip(with_torch, without):
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(without[0][1], brute_moebius(v[1], n), atol=1e-12)
    np.testing.assert_allclose(subset_moebius(subset_zeta(v)), v, atol=1e-12)


def test_abs_reductions_agree_with_numpy_on_every_kind_of_array():
    """max |a| and Σ|a| as the certificates take them: through a zero-copy torch view for writable float64 NumPy
    arrays once torch is loaded, by NumPy for read-only ones (torch warns about those) and for other dtypes, directly
    for tensors. Same numbers up to summation order (1e-12 relative); NaN propagates; nothing warns."""
    import warnings

    torch = pytest.importorskip("torch")
    from harsanyi._array import abs_max, abs_sum

    a = np.random.default_rng(3).normal(size=1 << 12)
    frozen = a.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # float32: its own rounding of a (1e-6 relative)
        for arr, rel in ((a, 1e-12), (frozen, 1e-12), (a.astype(np.float32), 1e-6), (torch.from_numpy(a.copy()), 1e-12)):
            assert abs_max(arr) == pytest.approx(np.abs(a).max(), rel=rel)
            assert abs_sum(arr) == pytest.approx(np.abs(a).sum(), rel=rel)
    with_nan = a.copy()
    with_nan[7] = np.nan
    assert np.isnan(abs_max(with_nan)) and np.isnan(abs_sum(with_nan))


@pytest.mark.parametrize("n", [0, 1, 3, 6, 9])
def test_kronecker_transform_is_the_dense_kronecker_power(n, seed):
    """Against np.kron built bit by bit (bit 0 the rightmost factor), for one factor and for a stack of factors
    broadcast against the table's leading axes, on NumPy and torch. 1e-12: sums of up to 2⁹ products of O(1) terms."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(3, 2, 2))
    table = rng.normal(size=(3, 1 << n))
    dense = []
    for f in factors:
        k = np.ones((1, 1))
        for _ in range(n):
            k = np.kron(f, k)
        dense.append(k)
    expected = np.stack([d @ t for d, t in zip(dense, table)])
    np.testing.assert_allclose(kronecker_transform(table, factors), expected, atol=1e-12)
    np.testing.assert_allclose(kronecker_transform(table[1], factors[1]), expected[1], atol=1e-12)
    on_torch = kronecker_transform(torch.from_numpy(table), factors)
    np.testing.assert_allclose(on_torch.numpy(), expected, atol=1e-12)
    # the transforms above are Kronecker powers too
    np.testing.assert_allclose(kronecker_transform(table, [[1.0, 0.0], [-1.0, 1.0]]), subset_moebius(table),
                               atol=1e-12)
    np.testing.assert_allclose(kronecker_transform(table, [[1.0, 1.0], [0.0, 1.0]]), superset_zeta(table),
                               atol=1e-12)
    # into given tables (what the splitting's loop does): the same numbers, in out, the table left as it was
    for backend in (np.asarray, torch.from_numpy):
        source = backend(table.copy())
        out, work = backend(np.empty_like(expected)), backend(np.empty_like(expected))
        assert kronecker_transform(source, factors, out=out, work=work) is out
        np.testing.assert_allclose(np.asarray(out), expected, atol=1e-12)
        np.testing.assert_array_equal(np.asarray(source), table)


def test_kronecker_transform_rejects_a_factor_that_is_not_2x2():
    with pytest.raises(HarsanyiValueError, match=r"Expected 2×2 factors, shape \(…, 2, 2\); received shape \(3, 3\)"):
        kronecker_transform(np.zeros(8), np.eye(3))


def test_kronecker_transform_rejects_out_without_work_or_of_another_shape():
    factor = np.eye(2)
    with pytest.raises(HarsanyiValueError, match=r"Expected both out and work, each of the result's shape \(8,\), "
                                                 r"or neither; received shape \(8,\) and None"):
        kronecker_transform(np.zeros(8), factor, out=np.zeros(8))
    with pytest.raises(HarsanyiValueError, match=r"received shape \(4,\) and shape \(8,\)"):
        kronecker_transform(np.zeros(8), factor, out=np.zeros(4), work=np.zeros(8))
    with pytest.raises(HarsanyiValueError, match=r"Expected out and work to be contiguous"):
        kronecker_transform(np.zeros(8), factor, out=np.zeros(16)[::2], work=np.zeros(8))


@pytest.mark.parametrize("n", [5, 11])
def test_numpy_and_torch_kernels_give_the_same_results(monkeypatch, n):
    """A NumPy table below harsanyi._array.TORCH_MIN_SIZE runs on NumPy's kernels, a larger one on torch's: with the
    threshold moved either way, the dividends, their certificate and the indices agree to rounding (ATOL: at n = 11
    the dividends are sums of up to 2¹¹ terms of size ≤ 1, so rounding stays near 1e-12)."""
    from harsanyi import ValueTable, _array

    v = random_table(n, 7)
    results = []
    for threshold in (1, 1 << 40):  # torch's kernels for every table; NumPy's for every table
        monkeypatch.setattr(_array, "TORCH_MIN_SIZE", threshold)
        table = ValueTable(v)
        assert (_array.torch_for(v) is None) == (threshold > v.size)
        results.append([subset_moebius(v), table.harsanyi().values, table.shapley(), table.index("k-SII", 2).values,
                        table.index("FSII", 3).values, table.or_interactions().values])
        assert table.harsanyi().certificate.passed
    for numpy_result, torch_result in zip(*results):
        np.testing.assert_allclose(numpy_result, torch_result, rtol=0, atol=ATOL)
