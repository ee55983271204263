"""The step API's fast calls (banditlab._fastcall): the Numba internals they read, and that they
change nothing a user can observe (the draws, the state, errors, pickling)."""

from __future__ import annotations

import copy
import pickle
from typing import NamedTuple

import numba
import numpy as np
import pytest
from numba import njit, types
from numba.core.datamodel import default_manager

import banditlab as bl
from banditlab import _fastcall
from banditlab._fastcall import HANDLE_FIELDS, generator_from_handle, rng_handle
from banditlab.protocols import KARMED, Kernels, register_kernels


def test_the_numba_data_model_is_the_one_the_handle_fills():
    """Fails loudly when a Numba upgrade changes the Generator's data model (the reason for the
    upper bound on numba in pyproject.toml): update banditlab._fastcall then."""
    bitgen = default_manager.lookup(types.NumPyRandomBitGeneratorType("bit_generator"))
    assert bitgen._fields == ("parent", *HANDLE_FIELDS)
    gen = default_manager.lookup(types.NumPyRandomGeneratorType("NumPyRandomGeneratorType"))
    assert gen._fields == ("bit_generator", "meminfo", "parent")
    # box_at / box_address rebuild a StepBox from its meminfo pointer: the StructRef model
    policy = bl.UCB(3).reset(seed=0)
    policy.update(policy.select(), 1.0)
    box = policy._fast()[2]
    assert default_manager.lookup(numba.typeof(box))._fields == ("meminfo",)
    major, minor = (int(x) for x in numba.__version__.split(".")[:2])
    assert (major, minor) < (0, 69), "checked with numba 0.68: review _fastcall, then the pin"


def test_the_entry_points_by_address_keep_the_reference_count():
    """select/update rebuild the box from its address and take a reference for the call;
    every reference taken is released (a leak would keep boxes alive, a missing one would
    free the box under the policy)."""
    for policy in (bl.UCB(4), bl.LinUCB(4, n_features=2)):
        policy.reset(seed=0)
        ctx = np.ones((4, 2)) if policy.protocol.contextual else None
        policy.update(policy.select(ctx), 1.0)
        box = policy._fast()[2]
        before = box._meminfo.refcount
        for t in range(1000):
            policy.update(policy.select(ctx), float(t % 2))
        assert box._meminfo.refcount == before
        assert policy.state.t == 1001                # read back: the box is still the same
        assert box._meminfo.refcount == before


@njit
def _draws_from(g, n):
    out = np.empty(4 * n)
    for i in range(n):
        out[4 * i] = g.random()
        out[4 * i + 1] = g.integers(0, 1000)
        out[4 * i + 2] = g.beta(0.5, 2.0)
        out[4 * i + 3] = g.normal()
    return out


@njit
def _draws(handle, n):
    return _draws_from(generator_from_handle(handle), n)


def test_a_handle_draws_what_its_generator_draws_and_shares_its_state():
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    assert np.array_equal(_draws(rng_handle(a), 200), _draws_from(b, 200))
    assert a.random() == b.random()              # one stream: the handle advanced a itself
    c = np.random.default_rng(12)                # another generator, another stream
    assert not np.array_equal(_draws(rng_handle(c), 5), _draws_from(np.random.default_rng(11), 5))


POLICIES = [bl.UCB(5), bl.ThompsonSampling(5), bl.KLUCB(5), bl.EXP3(5, horizon=300),
            bl.TsallisINF(5), bl.EpsilonGreedy(5, epsilon=0.2), bl.LinUCB(5, n_features=3)]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_the_fast_path_matches_the_kernels_called_directly(policy):
    fast = copy.deepcopy(policy).reset(seed=3)
    slow = copy.deepcopy(policy).reset(seed=3)
    ctx_rng = np.random.default_rng(0)
    for t in range(300):
        ctx = ctx_rng.normal(size=(5, 3)) if policy.protocol.contextual else None
        arm = fast.select(ctx)
        if policy.protocol.contextual:
            ref = int(slow.kernels.select(slow.params, slow.state, ctx, slow.rng))
        else:
            ref = int(slow.kernels.select(slow.params, slow.state, slow.rng))
        assert arm == ref, t
        reward = float((arm + t) % 2)
        fast.update(arm, reward)
        args = (slow.params, slow.state, arm, reward)
        slow.state = slow.kernels.update(*args, ctx) if ctx is not None else \
            slow.kernels.update(*args)
    assert fast._fast() is not None                    # the fast path was the one used
    for x, y in zip(fast.state, slow.state):
        assert np.array_equal(x, y)


def test_a_replaced_rng_state_or_params_is_used_not_the_stale_one():
    p = bl.UCB(3).reset(seed=0)
    for _ in range(10):
        p.update(p.select(), 1.0)
    old = p._fast()
    p.rng = np.random.default_rng(99)                # a new generator: a new handle
    p.select()
    assert p._fast() is not old and p._fast()[0] is p.rng
    p.state = p._init_state()                        # a state from outside: re-typed
    assert p.select() == 0                           # a fresh state pulls arm 0 first
    q = bl.ThompsonSampling(3).reset(seed=5)
    q.update(q.select(), 1.0)                        # the cache exists now
    r = pickle.loads(pickle.dumps(q))                # ... and is not pickled: rebuilt
    c = copy.deepcopy(q)
    assert r.__dict__.get("_fastcall") is None and c.__dict__.get("_fastcall") is None
    assert [q.select() for _ in range(20)] == [r.select() for _ in range(20)] == \
        [c.select() for _ in range(20)]


class _KeepsWholeDict(bl.UCB):
    """A subclass whose own ``__getstate__`` copies the whole ``__dict__``, box included."""

    def __getstate__(self):
        return dict(self.__dict__)


@pytest.mark.parametrize("cls", [bl.UCB, _KeepsWholeDict])
def test_copies_and_pickles_never_share_or_carry_the_step_box(cls):
    """copy.copy, copy.deepcopy and pickle leave the step box behind (its addresses belong
    to this process; a shared box would make two policies step one state) and start from
    the state the box holds now: deep clones and the original after them continue alike,
    and a shallow copy (which shares the state's arrays, as shallow copies do) gets a box of
    its own."""
    means = [0.2, 0.5, 0.8]

    def steps(policy, n=15):
        arms = []
        for t in range(n):
            arm = policy.select()
            policy.update(arm, means[arm] + 0.01 * (t % 3))
            arms.append(arm)
        return arms

    p = cls(3).reset(seed=1)
    steps(p)
    assert p.__dict__.get("_fastcall") is not None
    clones = [copy.deepcopy(p), pickle.loads(pickle.dumps(p))]
    shallow = copy.copy(p)
    assert all("_fastcall" not in c.__dict__ for c in [*clones, shallow])
    assert shallow.state.t == clones[0].state.t == clones[1].state.t == 15
    runs = [steps(c) for c in clones] + [steps(p)]
    assert runs[0] == runs[1] == runs[2]
    shallow.update(shallow.select(), 0.5)
    assert shallow._fast() is not p._fast() and shallow._fast()[2] is not p._fast()[2]


def test_without_jit_the_policies_call_their_kernels(monkeypatch):
    monkeypatch.setattr(_fastcall, "JIT", False)
    p = bl.UCB(3).reset(seed=0)
    p.update(p.select(), 1.0)
    assert p._fast() is None and "_fastcall" not in p.__dict__


def test_row_view_and_data_address_follow_numba_s_array_model() -> None:
    """The two intrinsics BatchedPolicy relies on (struct-of-arrays states): a row view reads
    and writes the parent's memory, has the row's shape and strides, and takes no reference
    (the parent's refcount is unchanged after many views); data_address is the data pointer."""
    import sys

    from banditlab._fastcall import data_address, row_view
    from banditlab._jit import njit

    @njit
    def views(a, out):
        for i in range(a.shape[0]):
            row = row_view(a, i)
            out[i] = row.sum()
            row[0] += 1.0
        return row_view(a, 1).shape[0], data_address(a), data_address(row_view(a, 2))

    a = np.arange(24.0).reshape(4, 6)
    before = a.copy()
    out = np.zeros(4)
    refs = sys.getrefcount(a)
    n, addr, addr2 = views(a, out)
    np.testing.assert_array_equal(out, before.sum(axis=1))
    np.testing.assert_array_equal(a[:, 0], before[:, 0] + 1.0)
    np.testing.assert_array_equal(a[:, 1:], before[:, 1:])
    assert n == 6 and addr == a.ctypes.data and addr2 == a.ctypes.data + 2 * a.strides[0]
    assert sys.getrefcount(a) == refs

    @njit
    def views3(b):
        return row_view(b, 1).shape, row_view(b, 1)[2, 3]

    b = np.arange(60.0).reshape(3, 4, 5)
    assert views3(b) == ((4, 5), b[1, 2, 3])


def test_the_step_box_keeps_every_public_behaviour():
    """Between steps the state lives in compiled code (StepBox). Everything Python can see
    stays as before: the state read mid-run is the current one (and equals the kernel
    loop's), a pickle holds it, a replaced rng / reward model / check_rewards setting takes
    effect at the next step, and policies pickled with the earlier attribute names load."""
    eg = bl.EpsilonGreedy(4, epsilon=0.5).reset(seed=3)
    ref = bl.EpsilonGreedy(4, epsilon=0.5).reset(seed=3)
    for t in range(30):
        a = eg.select()
        assert a == ref._select_checked(None)       # the checked path calls the same kernels
        eg.update(a, float(t % 2))
        ref._update_checked(a, float(t % 2))
        assert eg.state.t == t + 1                  # read mid-run: the current state
    same_state = __import__("banditlab.testing", fromlist=["x"]).same_state
    same_state(eg.state, ref.state)
    clone = pickle.loads(pickle.dumps(eg))
    same_state(clone.state, eg.state)
    assert [clone.select() for _ in range(10)] == [eg.select() for _ in range(10)]

    # a replaced generator is drawn from at the next step
    g1, g2 = bl.EpsilonGreedy(4, epsilon=1.0).reset(seed=0), np.random.default_rng(7)
    g1.select()
    g1.rng = np.random.default_rng(7)
    expected = bl.EpsilonGreedy(4, epsilon=1.0).kernels.select(g1.params, g1.state, g2)
    assert g1.select() == expected

    # the reward checks follow check_rewards and reward_model, whenever they change
    ts = bl.BayesUCB(3).reset(seed=0)               # Bernoulli model: integers 0 or 1
    ts.update(ts.select(), 1.0)                      # the box exists
    with pytest.raises(ValueError, match=r"'reward' must be 0 or 1"):
        ts.update(0, 0.5)
    ts.check_rewards = False
    ts.update(0, 0.5)                                # accepted now
    assert ts.state.t == 2                           # and applied
    ts.check_rewards = True
    with pytest.raises(ValueError, match=r"'reward' must be 0 or 1"):
        ts.update(0, 0.5)
    kl = bl.KLUCB(3, divergence="poisson").reset(seed=0)
    kl.update(kl.select(), 3.0)
    with pytest.raises(ValueError, match=r"'reward' must be a non-negative integer"):
        kl.update(0, 2.5)
    from banditlab.reward_models import RewardModel

    u = bl.UCB(3).reset(seed=0)
    u.update(u.select(), 5.0)                        # sub-Gaussian model: any finite float
    u.reward_model = RewardModel.bounded(0.0, 1.0)
    with pytest.raises(ValueError, match=r"'reward' must be a float in \[0, 1\]"):
        u.update(0, 5.0)
    for bad in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite float"):
            u.update(0, bad)
    with pytest.raises(ValueError, match=r"'action' must be an int in \[0, 2\]"):
        u.update(3, 0.5)

    # a policy pickled before params, rng and state were properties
    old = dict(u.__getstate__())
    for key in ("params", "rng", "state"):
        old[key] = old.pop(f"_{key}")
    v = bl.UCB.__new__(bl.UCB)
    v.__setstate__(old)
    same_state(v.state, u.state)
    assert v.select() == u.select()


class _GrowParams(NamedTuple):
    step: float


class _GrowState(NamedTuple):
    t: int
    counts: np.ndarray


def _grow_init(params, n_arms):
    return _GrowState(0, np.zeros(n_arms, dtype=np.int64))


@njit
def _grow_select(params, state, rng):
    return int(np.argmin(state.counts))


@njit
def _grow_update(params, state, arm, reward):
    state.counts[arm] += 1
    # t comes back as a float: the state's type changes, so no step box can hold it
    return _GrowState(state.t + params.step, state.counts)


class _GrowPolicy(bl.Policy):
    """A compiled user policy whose update returns another state type than it takes."""

    protocol = KARMED
    kernels = register_kernels(_GrowParams, Kernels(_grow_init, _grow_select, _grow_update))
    constraints = {"n_arms": bl.Integer(1, None)}

    def __init__(self, n_arms: int) -> None:
        v = self._validate(n_arms=n_arms)
        self.n_arms = v["n_arms"]
        self.params = _GrowParams(1.0)


def test_a_state_that_changes_type_falls_back_to_the_kernels():
    """box_entry_points refuses a policy whose update changes the state's type (a box field has
    one type), and the step API then calls the kernels directly, with the same results."""
    p = _GrowPolicy(3).reset(seed=0)
    assert p._fast() is None and "_fastcall" not in p.__dict__
    arms = []
    for _ in range(6):
        a = p.select()
        p.update(a, 1.0)
        arms.append(a)
    assert arms == [0, 1, 2, 0, 1, 2]
    assert p.state.t == 6.0 and isinstance(p.state.t, float)
    q = bl.UCB(3).reset(seed=0)
    assert q._fast() is not None                     # a stable state gets a box


def test_the_contextual_fast_path_checks_copies_and_keeps_the_features():
    """LinUCB's select takes float64 features of the right shape straight to the step box,
    which copies them after checking layout and finiteness; anything else takes the checked
    path. update learns from the features of the last select, whatever happens to the
    caller's array afterwards, and they survive pickling between select and update."""
    rng = np.random.default_rng(0)
    p = bl.LinUCB(4, n_features=3, alpha=0.5).reset(seed=2)
    ref = bl.LinUCB(4, n_features=3, alpha=0.5).reset(seed=2)
    with pytest.raises(RuntimeError, match=r"call select\(obs\) before update"):
        p.update(0, 1.0)
    for t in range(40):
        ctx = rng.normal(size=(4, 3))
        given = [ctx, np.asfortranarray(ctx), ctx.T.copy().T, (ctx * 8).astype(np.int64),
                 ctx.tolist()][t % 5]
        want = np.array(given, dtype=np.float64)        # a copy: given is reused below
        arm = p.select(given)
        assert arm == int(ref.kernels.select(ref.params, ref.state, want, ref.rng))
        if isinstance(given, np.ndarray):
            given[...] = 99                          # the caller reuses its buffer
        p.update(arm, 0.5)
        ref.state = ref.kernels.update(ref.params, ref.state, arm, 0.5, want)
    assert p._fast() is not None
    for x, y in zip(p.state, ref.state):
        assert np.array_equal(x, y)
    # refused features change nothing: the next update still learns from the last good ones
    bad = rng.normal(size=(4, 3))
    bad[2, 1] = np.nan
    for obs, exc, msg in [(bad, ValueError, "non-finite"), (np.ones((4, 3, 1)), ValueError,
                          r"shape \(4, 3\)"), (np.ones((3, 4)), ValueError, r"shape \(4, 3\)"),
                          (np.ones((4, 3), bool), TypeError, "dtype bool")]:
        with pytest.raises(exc, match=msg):
            p.select(obs)
    ctx = rng.normal(size=(4, 3))
    arm = p.select(ctx)
    clone = pickle.loads(pickle.dumps(p))            # between select and update
    with pytest.raises(ValueError):
        p.select(bad)
    p.update(arm, 1.0)
    clone.update(arm, 1.0)
    ref.state = ref.kernels.update(ref.params, ref.state, arm, 1.0, ctx)
    for x, y, z in zip(p.state, clone.state, ref.state):
        assert np.array_equal(x, y) and np.array_equal(x, z)


@pytest.mark.parametrize("policy", [bl.UCB(3), bl.LinUCB(3, n_features=2)],
                         ids=lambda p: p.name)
def test_the_fast_update_refuses_what_the_checked_one_refuses(policy):
    ctx = np.ones((3, 2))
    p = copy.deepcopy(policy).reset(seed=0)
    arm = p.select(ctx)
    p.update(arm, 1.0)                               # the box exists
    before = [np.copy(x) for x in p.state]
    for action, reward, exc, msg in [
            (2 ** 70, 1.0, ValueError, r"'action' must be an int in \[0, 2\]"),
            (-1, 1.0, ValueError, r"'action' must be an int in \[0, 2\]"),
            (3, 1.0, ValueError, r"'action' must be an int in \[0, 2\]"),
            (True, 1.0, TypeError, "'action' must be an int"),
            (0, float("nan"), ValueError, "finite float"),
            (0, float("-inf"), ValueError, "finite float"),
            (0, "1", TypeError, "'reward' must be a finite float")]:
        p.select(ctx)
        with pytest.raises(exc, match=msg):
            p.update(action, reward)
    p.update(np.int64(1), np.float32(0.5))           # numpy scalars take the checked path
    assert p.state.t == before[0] + 1
