"""Bad input raises the documented exception, naming the argument and the received value.

Covers ``pgm.checks`` directly and through every RBM entry point, and the
switch that turns value checks off (shape and type checks stay on).
"""

import re

import pytest
import torch

from models.energy import RBM, is_validation_enabled, set_validation, validation_disabled
from pgm.checks import check_beta, check_units


@pytest.fixture(autouse=True)
def _validation_restored():
    """Every test starts with validation on and leaves it on, whatever happens inside."""
    set_validation(True)
    yield
    set_validation(True)


@pytest.fixture
def rbm():
    return RBM(6, 4, seed=0)


# -- check_units ---------------------------------------------------------------------------
def test_check_units_accepts_and_converts():
    x = torch.tensor([[0., 1., 0.25]], dtype=torch.float64)
    out = check_units(x, "x", 3, unit_interval=True, dtype=torch.float32)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, x.float())
    assert check_units(x, "x") is x  # nothing to convert: the same tensor back
    check_units(torch.tensor([[0., 1.]]), "x", 2, binary=True)
    check_units(torch.tensor([[-3., 7.5]]), "x", 2)  # no value restriction asked for


@pytest.mark.parametrize("bad,exc,pattern", [
    ([[0., 1.]], TypeError, r"x must be a torch\.Tensor .* got list"),
    (torch.tensor([[0, 1]]), TypeError, r"x must have a floating dtype .* got torch\.int64"),
    (torch.tensor([[True, False]]), TypeError, r"x must have a floating dtype .* got torch\.bool"),
    (torch.zeros(2), ValueError, r"x must be 2-D .* got shape \(2,\).*unsqueeze\(0\)"),
    (torch.zeros(1, 2, 2), ValueError, r"x must be 2-D .* got shape \(1, 2, 2\)"),
    (torch.zeros(1, 3), ValueError, r"x must have 2 columns .* got shape \(1, 3\)"),
    (torch.tensor([[0., float("nan")]]), ValueError, r"x contains NaN or infinite values \(rows \[0\]\)"),
    (torch.tensor([[0., 1.], [float("inf"), 0.]]), ValueError, r"x contains NaN or infinite values \(rows \[1\]\)"),
    (torch.tensor([[0., 1.5]]), ValueError, r"x must lie in \[0, 1\].*1\.5"),
    (torch.tensor([[-0.25, 1.]]), ValueError, r"x must lie in \[0, 1\].*-0\.25"),
])
def test_check_units_rejects(bad, exc, pattern):
    with pytest.raises(exc, match=pattern):
        check_units(bad, "x", 2, unit_interval=True)


def test_check_units_binary_rejects_probabilities():
    with pytest.raises(ValueError, match=r"data must be binary .*0\.5"):
        check_units(torch.tensor([[0., 0.5]]), "data", 2, binary=True)


def test_check_units_tests_large_data_block_by_block(monkeypatch):
    """The value checks run on blocks of rows (their masks stay the size of a block); a
    bad value in a later block is found and named by its row in the whole tensor."""
    import pgm.checks

    monkeypatch.setattr(pgm.checks, "_CHECK_ROWS", 3)
    x = torch.zeros(10, 2)
    assert check_units(x, "x", 2, binary=True) is x
    x[7, 1] = float("nan")
    x[9, 0] = float("inf")
    with pytest.raises(ValueError, match=r"x contains NaN or infinite values \(rows \[7\]\)"):
        check_units(x, "x", 2, binary=True)
    x = torch.zeros(10, 2)
    x[4, 0], x[5, 1], x[8, 0] = 0.25, 0.75, 0.5
    with pytest.raises(ValueError, match=r"x must be binary .*got values such as \[0\.25, 0\.75\]"):
        check_units(x, "x", 2, binary=True)
    x[4, 0], x[5, 1], x[8, 0] = 0.0, 0.0, -2.0
    with pytest.raises(ValueError, match=r"x must lie in \[-1, 1\].*got values such as \[-2\]"):
        check_units(x, "x", 2, spin=True)


# -- through the RBM's entry points --------------------------------------------------------
def _calls(rbm):
    """(label, callable taking the bad tensor, argument name in messages, expected width)."""
    h = torch.zeros(2, 4)
    v = torch.zeros(2, 6)
    return [
        ("energy-v", lambda x: rbm.energy({"v": x, "h": h}), r"state\['v'\]", 6),
        ("energy-h", lambda x: rbm.energy({"v": v, "h": x}), r"state\['h'\]", 4),
        ("conditional-h", lambda x: rbm.conditional("h", {"v": x}), r"state\['v'\]", 6),
        ("conditional-v", lambda x: rbm.conditional("v", {"h": x}), r"state\['h'\]", 4),
        ("free_energy", lambda x: rbm.free_energy(x), r"v", 6),
        ("free_energy_hidden", lambda x: rbm.free_energy_hidden(x), r"h", 4),
        ("init_visible_bias", lambda x: rbm.init_visible_bias(x), r"data", 6),
        ("from_data", lambda x: RBM.from_data(x, 3), r"data", 6),
    ]


CALL_IDS = ["energy-v", "energy-h", "conditional-h", "conditional-v", "free_energy",
            "free_energy_hidden", "init_visible_bias", "from_data"]


def _bad_inputs(width):
    ok = torch.zeros(2, width)
    nan = ok.clone()
    nan[1, 0] = float("nan")
    inf = ok.clone()
    inf[0, 1] = -float("inf")
    big = ok.clone()
    big[0, 0] = 2.0
    neg = ok.clone()
    neg[1, 1] = -0.5
    return [
        ("above-1", big, ValueError, r"must lie in \[0, 1\].*got values such as \[2\]"),
        ("negative", neg, ValueError, r"must lie in \[0, 1\].*got values such as \[-0\.5\]"),
        ("nan", nan, ValueError, r"contains NaN or infinite values \(rows \[1\]\)"),
        ("inf", inf, ValueError, r"contains NaN or infinite values \(rows \[0\]\)"),
        ("wide", torch.zeros(2, width + 1), ValueError,
         rf"must have {width} columns .*got shape \(2, {width + 1}\)"),
        ("1-D", torch.zeros(width), ValueError, rf"must be 2-D .*got shape \({width},\)"),
        ("3-D", torch.zeros(2, 1, width), ValueError, rf"must be 2-D .*got shape \(2, 1, {width}\)"),
        ("int", torch.zeros(2, width, dtype=torch.int32), TypeError, r"must have a floating dtype.*got torch\.int32"),
        ("bool", torch.zeros(2, width, dtype=torch.bool), TypeError, r"must have a floating dtype.*got torch\.bool"),
        ("list", [[0.0] * width] * 2, TypeError, r"must be a torch\.Tensor.*got list"),
        ("numpy", torch.zeros(2, width).numpy(), TypeError, r"must be a torch\.Tensor.*got ndarray"),
    ]


BAD_IDS = ["above-1", "negative", "nan", "inf", "wide", "1-D", "3-D", "int", "bool", "list", "numpy"]


@pytest.mark.parametrize("call_id", CALL_IDS)
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_rbm_methods_reject_bad_units(rbm, call_id, bad_id):
    label, fn, arg, width = next(c for c in _calls(rbm) if c[0] == call_id)
    _, x, exc, pattern = next(b for b in _bad_inputs(width) if b[0] == bad_id)
    if call_id == "from_data" and bad_id == "wide":
        assert RBM.from_data(x, 3).n_visible == width + 1  # from_data takes its width from data
        return
    with pytest.raises(exc, match=rf"^{arg} {pattern}"):
        fn(x)


@pytest.mark.parametrize("call_id", CALL_IDS)
def test_rbm_methods_accept_probabilities(rbm, call_id):
    label, fn, arg, width = next(c for c in _calls(rbm) if c[0] == call_id)
    x = torch.full((2, width), 0.3)
    x[0, 0], x[1, 0] = 0.0, 1.0
    fn(x)
    fn(x.double())  # float64 is converted, not rejected


def test_state_must_be_a_dict_holding_the_needed_group(rbm):
    v = torch.zeros(2, 6)
    with pytest.raises(ValueError, match=r"energy: state needs group 'h', got groups \['v'\]"):
        rbm.energy({"v": v})
    with pytest.raises(ValueError, match=r"conditional\('h'\): state needs group 'v', got groups \['h'\]"):
        rbm.conditional("h", {"h": torch.zeros(2, 4)})
    with pytest.raises(ValueError, match=r"conditional\('v'\): state needs group 'h', got groups \[\]"):
        rbm.conditional("v", {})
    with pytest.raises(TypeError, match=r"state must be a dict .* got Tensor"):
        rbm.energy(v)
    with pytest.raises(TypeError, match=r"state must be a dict .* got list"):
        rbm.conditional("h", [v])


@pytest.mark.parametrize("group", ["x", "H", "", None, 0])
def test_conditional_rejects_unknown_group(rbm, group):
    state = {"v": torch.zeros(2, 6), "h": torch.zeros(2, 4)}
    with pytest.raises(ValueError, match=rf"group must be 'v' or 'h', got {re.escape(repr(group))}"):
        rbm.conditional(group, state)


@pytest.mark.parametrize("beta,pattern", [
    (1.5, r"beta must be a number in \[0, 1\].*got 1\.5"),
    (-0.1, r"beta must be a number in \[0, 1\].*got -0\.1"),
    (float("nan"), r"beta must be a number in \[0, 1\].*got nan"),
    (float("inf"), r"beta must be a number in \[0, 1\].*got inf"),
    ("0.5", r"beta must be a number in \[0, 1\].*got '0\.5'"),
    (True, r"beta must be a number in \[0, 1\].*got True"),
    (None, r"beta must be a number in \[0, 1\].*got None"),
    (torch.tensor([0.5, 1.2, 0.1]), r"beta must lie in \[0, 1\], got \[0\.5, 1\.2, 0\.1\]"),
    (torch.tensor([0.5, float("nan"), 0.1]), r"beta must lie in \[0, 1\], got \[0\.5, nan, 0\.1\]"),
    (torch.tensor(-1.0), r"beta must lie in \[0, 1\], got \[-1\]"),
    (torch.full((3, 1), 0.5), r"beta must be a scalar or a tensor of shape \(3,\), got shape \(3, 1\)"),
    (torch.full((2,), 0.5), r"beta must be a scalar or a tensor of shape \(3,\), got shape \(2,\)"),
])
@pytest.mark.parametrize("method", ["conditional-h", "conditional-v", "free_energy", "free_energy_hidden"])
def test_bad_beta(rbm, beta, pattern, method):
    v, h = torch.zeros(3, 6), torch.zeros(3, 4)
    call = {
        "conditional-h": lambda: rbm.conditional("h", {"v": v}, beta=beta),
        "conditional-v": lambda: rbm.conditional("v", {"h": h}, beta=beta),
        "free_energy": lambda: rbm.free_energy(v, beta=beta),
        "free_energy_hidden": lambda: rbm.free_energy_hidden(h, beta=beta),
    }[method]
    with pytest.raises(ValueError, match=pattern):
        call()


def test_check_beta_returns_float_or_tensor():
    assert check_beta(1) == 1.0 and isinstance(check_beta(1), float)
    b = torch.tensor([0.0, 1.0])
    assert check_beta(b, batch=2) is b
    check_beta(torch.tensor([0.5]), batch=7)  # length 1 broadcasts


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(n_visible=0, n_hidden=3), ValueError, r"n_visible must be an int >= 1, got 0"),
    (dict(n_visible=-2, n_hidden=3), ValueError, r"n_visible must be an int >= 1, got -2"),
    (dict(n_visible=2.0, n_hidden=3), TypeError, r"n_visible must be an int >= 1, got float 2\.0"),
    (dict(n_visible="4", n_hidden=3), TypeError, r"n_visible must be an int >= 1, got str '4'"),
    (dict(n_visible=True, n_hidden=3), TypeError, r"n_visible must be an int >= 1, got bool True"),
    (dict(n_visible=4, n_hidden=0), ValueError, r"n_hidden must be an int >= 1, got 0"),
    (dict(n_visible=4, n_hidden=None), TypeError, r"n_hidden must be an int >= 1, got NoneType None"),
    (dict(n_visible=4, n_hidden=3, weight_std=-0.1), ValueError, r"weight_std must be a finite non-negative float, got -0\.1"),
    (dict(n_visible=4, n_hidden=3, weight_std="0.1"), ValueError, r"weight_std must be .* got '0\.1'"),
    (dict(n_visible=4, n_hidden=3, weight_std=float("nan")), ValueError, r"weight_std must be .* got nan"),
    (dict(n_visible=4, n_hidden=3, weight_std=float("inf")), ValueError, r"weight_std must be .* got inf"),
    (dict(n_visible=4, n_hidden=3, weight_std=True), ValueError, r"weight_std must be .* got True"),
    (dict(n_visible=4, n_hidden=3, seed=-1), ValueError, r"seed must be an int >= 0, got -1"),
    (dict(n_visible=4, n_hidden=3, seed=2**63), ValueError, r"seed must be below 2\*\*63"),
    (dict(n_visible=4, n_hidden=3, seed=1.5), TypeError, r"seed must be an int >= 0, got float 1\.5"),
    (dict(n_visible=4, n_hidden=3, seed="0"), TypeError, r"seed must be an int >= 0, got str '0'"),
    (dict(n_visible=4, n_hidden=3, seed=False), TypeError, r"seed must be an int >= 0, got bool False"),
    (dict(n_visible=10**12, n_hidden=10**12), ValueError, r"RBM\(1000000000000, 1000000000000\): its parameters need .*"
                                                          r"more than this machine's .* of memory"),
])
def test_bad_constructor_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=r"^RBM(: |\()" + pattern.removeprefix("RBM\\(")):
        RBM(**kwargs)


def test_integer_like_sizes_are_accepted_and_stored_as_ints():
    np = pytest.importorskip("numpy")
    rbm = RBM(np.int64(6), torch.tensor(4), seed=np.int32(3))
    assert rbm.config() == {"n_visible": 6, "n_hidden": 4, "weight_std": 0.01, "seed": 3}
    assert all(type(v) is int for k, v in rbm.config().items() if k != "weight_std")


def test_rbm_is_keyword_only_after_sizes():
    with pytest.raises(TypeError):
        RBM(4, 3, 0.1)


# -- the switch ----------------------------------------------------------------------------
def test_set_validation_switches_value_checks_off_but_not_shape_checks(rbm):
    bad = torch.full((2, 6), 2.0)
    nan = torch.full((2, 6), float("nan"))
    assert is_validation_enabled()
    set_validation(False)
    assert not is_validation_enabled()
    assert rbm.free_energy(bad).shape == (2,)
    assert rbm.conditional("h", {"v": nan}).logits.isnan().all()
    rbm.free_energy(torch.zeros(2, 6), beta=torch.full((2,), 1.5))  # tensor β values unchecked
    with pytest.raises(ValueError, match=r"v must have 6 columns"):
        rbm.free_energy(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"v must be 2-D"):
        rbm.free_energy(torch.zeros(6))
    with pytest.raises(TypeError, match=r"floating dtype"):
        rbm.free_energy(torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"beta must be a scalar or a tensor of shape \(2,\)"):
        rbm.free_energy(torch.zeros(2, 6), beta=torch.full((3,), 0.5))
    set_validation(True)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        rbm.free_energy(bad)


def test_validation_disabled_is_scoped_and_restores_on_error(rbm):
    bad = torch.full((1, 6), -1.0)
    with validation_disabled():
        assert not is_validation_enabled()
        rbm.free_energy(bad)
        with validation_disabled():
            pass
        assert not is_validation_enabled()  # nested exit restores the outer (off) state
    assert is_validation_enabled()
    with pytest.raises(RuntimeError, match="boom"):
        with validation_disabled():
            raise RuntimeError("boom")
    assert is_validation_enabled()
    set_validation(False)
    with validation_disabled():
        pass
    assert not is_validation_enabled()  # restores the previous value, not True
    set_validation(0)
    assert is_validation_enabled() is False
