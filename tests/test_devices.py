"""Device invariance: every transform, index and the AND-OR solver give the NumPy results on torch tables, on the
CPU and (where one is present: the GPU machine, never CI) on CUDA."""

import numpy as np
import pytest

from harsanyi import ValueTable

from conftest import random_table

torch = pytest.importorskip("torch")
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# float64 throughout; the kernels differ only in summation order, so 1e-9 of the table's scale (order 1) is ample
ATOL = 1e-9


def as_numpy(array):
    return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def test_transforms_and_indices_match_numpy(device):
    v = random_table(9, 11)
    ref, tab = ValueTable(v), ValueTable(torch.tensor(v, device=device))
    pairs = [(ref.harsanyi().values, tab.harsanyi().values), (ref.or_interactions().values, tab.or_interactions().values),
             (ref.shapley(), tab.shapley()), (ref.banzhaf(), tab.banzhaf())]
    for name in ("SII", "BII", "STII", "FSII", "FBII", "k-SII"):
        for order in (1, 2, 3):
            pairs.append((ref.index(name, order).values, tab.index(name, order).values))
    for expected, got in pairs:
        np.testing.assert_allclose(as_numpy(got), expected, atol=ATOL)
    mo_ref, mo = ref.multi_order(), tab.multi_order()
    np.testing.assert_allclose(as_numpy(mo.interactions), mo_ref.interactions, atol=ATOL)
    assert tab.coalition_interaction([0, 3, 5]) == pytest.approx(ref.coalition_interaction([0, 3, 5]), abs=ATOL)
    assert tab.harsanyi().certificate.passed


@pytest.mark.parametrize("method", ["splitting", "pdhg"])
@pytest.mark.parametrize("n", [7, 10])  # the splitting in its plain metric (n ≤ 8) and its weighted one
def test_and_or_matches_numpy(device, method, n):
    from harsanyi._splitting import _parameters

    assert (_parameters(n)[1] < 1.0) == (n == 10)  # σ < 1: the value tables weigh less than the concepts
    v = random_table(n, 12)
    a = ValueTable(v).and_or(max_iter=300, tol=1e-9, method=method)
    b = ValueTable(torch.tensor(v, device=device)).and_or(max_iter=300, tol=1e-9, method=method)
    assert a.solver.iterations == b.solver.iterations  # same path: the stopping tests saw the same numbers
    np.testing.assert_allclose(as_numpy(b.and_.values), a.and_.values, atol=1e-7)  # 300 iterations amplify rounding a little
    np.testing.assert_allclose(as_numpy(b.or_.values), a.or_.values, atol=1e-7)
    assert b.certificate.passed


@pytest.mark.parametrize("method", ["splitting", "pdhg"])
def test_shared_concepts_match_numpy(device, method):
    """The shared-concept PDHG and splitting on torch tables (one stack of K tables on the device) take the NumPy
    path's steps."""
    from harsanyi import shared_concepts

    v = [random_table(7, seed) for seed in (21, 22)]
    args = dict(method=method, max_iter=300, tol=1e-9)
    a = shared_concepts([ValueTable(t) for t in v], **args)
    b = shared_concepts([ValueTable(torch.tensor(t, device=device)) for t in v], **args)
    assert a.solver.iterations == b.solver.iterations
    for got, expected in zip(b.concepts, a.concepts):
        np.testing.assert_allclose(as_numpy(got.and_.values), expected.and_.values, atol=1e-7)  # as for and_or above
        np.testing.assert_allclose(as_numpy(got.or_.values), expected.or_.values, atol=1e-7)
        assert got.certificate.passed


def test_shared_concepts_polished_by_the_simplex_match_numpy(device):
    """method="auto" past n = 8: the splitting, then HiGHS's simplex from its concepts, which runs on the host:
    torch tables are brought there and the vertex back; the NumPy path's result to HiGHS's tolerance."""
    pytest.importorskip("highspy")
    from harsanyi import shared_concepts

    from conftest import unanimity_table

    # two models with the same few AND concepts, their weights a little apart, and noise: a sparse optimum, which
    # the polish takes on (a dense one it leaves to the splitting)
    rng = np.random.default_rng(5)
    planted = {(0, 3): 2.0, (1, 2, 5): -1.5, (4,): 1.0, (6, 7, 8): 0.8}
    v = [unanimity_table(9, {c: w * (1 + 0.1 * k) for c, w in planted.items()}) + 0.01 * rng.normal(size=512)
         for k in range(2)]
    a = shared_concepts([ValueTable(t) for t in v])
    b = shared_concepts([ValueTable(torch.tensor(t, device=device)) for t in v])
    assert "simplex" in a.concepts[0].solver.method and b.concepts[0].solver.method == a.concepts[0].solver.method
    for got, expected in zip(b.concepts, a.concepts):
        np.testing.assert_allclose(as_numpy(got.and_.values), expected.and_.values, atol=1e-7)
        np.testing.assert_allclose(as_numpy(got.or_.values), expected.or_.values, atol=1e-7)
        assert got.certificate.passed


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize("method, name", [("pdhg", "PDHG"), ("splitting", "the splitting")])
@pytest.mark.parametrize("n", [7, 10])
def test_first_order_methods_run_eagerly_with_a_warning_where_graph_capture_fails(monkeypatch, method, name, n):
    """Between checks PDHG and the splitting replay a recorded CUDA graph; where recording fails they warn and run
    the same steps one by one: the same result up to rounding (1e-7 as above)."""
    v = torch.tensor(random_table(n, 13), device="cuda")
    graphed = ValueTable(v).and_or(max_iter=300, tol=1e-9, method=method)

    def broken(*args, **kwargs):
        raise RuntimeError("capture is not supported here")

    monkeypatch.setattr(torch.cuda, "CUDAGraph", broken)
    with pytest.warns(RuntimeWarning, match=f"CUDA graph capture failed .capture is not supported here.; {name} "
                                            f"launches its steps one by one"):
        eager = ValueTable(v).and_or(max_iter=300, tol=1e-9, method=method)
    assert eager.solver.iterations == graphed.solver.iterations and eager.certificate.passed
    np.testing.assert_allclose(as_numpy(eager.and_.values), as_numpy(graphed.and_.values), atol=1e-7)


class _ReplayedOnTheCpu:
    """What cuda_graph_of returns, for a CPU table: the steps run once as its warm-up would, and ``replay()`` runs
    them again, eagerly, on the same buffers (a CUDA graph replays the kernels recorded from the same calls)."""

    def __init__(self, record):
        record()  # the warm-up on the side stream takes real steps
        self.replay = record


@pytest.mark.parametrize("method", ["pdhg", "splitting"])
def test_the_graphed_steps_of_the_first_order_methods_follow_the_eager_iterates_on_the_cpu(monkeypatch, method):
    """The code of the CUDA-graph path (its buffers, ω and k as device scalars, the state put back after the
    warm-up, the jumps between checks), run on the CPU with an eager stand-in for the graph: the iterates of the
    plain loop, so CI checks that path's logic without a GPU. 1e-9: ω and k as tensors round a division as a
    product with the reciprocal, and that difference grows over 300 iterations."""
    from harsanyi import _andor, _iterate, _splitting

    v = torch.tensor(random_table(8, 17))
    eager = ValueTable(v).and_or(max_iter=300, tol=1e-9, method=method)
    made = []

    def on_any_device(cls, owner, table, count):
        made.append(cls)
        obj = cls(owner, count)
        return obj if obj.graph is not None else None

    monkeypatch.setattr(_iterate.Recorded, "on_cuda", classmethod(on_any_device))
    for module in (_andor, _splitting):
        monkeypatch.setattr(module, "cuda_graph_of", lambda record, device, what: _ReplayedOnTheCpu(record))
    graphed = ValueTable(v).and_or(max_iter=300, tol=1e-9, method=method)
    assert [cls.__name__ for cls in made] == [{"pdhg": "_GraphedIterations", "splitting": "_GraphedSteps"}[method]]
    assert graphed.solver.iterations == eager.solver.iterations and graphed.certificate.passed
    np.testing.assert_allclose(graphed.and_.values, eager.and_.values, atol=1e-9)
    np.testing.assert_allclose(graphed.or_.values, eager.or_.values, atol=1e-9)


def test_a_device_this_machine_lacks_or_misspelt_is_refused_before_any_work():
    from harsanyi import Game, HarsanyiValueError

    model = torch.nn.Linear(3, 1)
    with pytest.raises(HarsanyiValueError, match="Expected a torch device such as 'cpu', 'cuda'"):
        Game.tabular(model, np.ones(3), baseline="zero", device="gpu")
    missing = "cuda:99" if torch.cuda.is_available() else "cuda"
    message = "numbered from 0" if torch.cuda.is_available() else "torch sees none here .* Leave the device out"
    with pytest.raises(HarsanyiValueError, match=message):
        Game.tabular(model, np.ones(3), baseline="zero").evaluate(device=missing)
