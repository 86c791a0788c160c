"""The experiment handle: validation, seeding, claim checks, the report and its JSON record."""

import json

import numpy as np
import pytest
import torch

from paperlab.experiment import require, resolve_device, round_sig, setup


def test_setup_validates_profile_seed_and_device():
    with pytest.raises(ValueError, match="profile must be one of"):
        setup(profile="fast")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        setup(seed=-1)
    with pytest.raises(ValueError, match="device must be"):
        setup(device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
        assert resolve_device("auto").type == "cpu"


def test_same_seed_same_draws_and_profile_sizes():
    first = setup(seed=3)
    draws = (torch.rand(3), np.random.rand(), torch.rand(2, generator=first.generator), first.rng.random())
    second = setup(seed=3)
    again = (torch.rand(3), np.random.rand(), torch.rand(2, generator=second.generator), second.rng.random())
    for a, b in zip(draws, again):
        assert np.allclose(a, b)
    assert first.pick(ci=1, paper=2) == 1
    assert setup(profile="paper").pick(ci=1, paper=2) == 2


def test_ci_profile_pins_one_thread():
    setup(profile="ci")
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(
    "value, expected", [(0.0123456, 0.0123), (123456.0, 123000.0), (-0.98765, -0.988), (0.0, 0.0)]
)
def test_round_sig(value, expected):
    assert round_sig(value) == pytest.approx(expected)


def test_report_passes_prints_and_writes_the_record(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PAPERLAB_RESULTS", str(tmp_path))
    exp = setup(seed=1, slug="demo")
    exp.check("ratio below half", True, value=torch.tensor(0.123456), expect="< 0.5")
    exp.check("paper's speed-up", False, value=1.5, expect="> 2", required=False)
    exp.report()
    printed = capsys.readouterr().out
    assert "0.123" in printed and "PASS" in printed and "NOT REPRODUCED" in printed
    record = json.loads((tmp_path / "demo.json").read_text())
    assert record["passed"] and record["seed"] == 1 and record["profile"] == "ci"
    assert [c["result"] for c in record["claims"]] == ["PASS", "NOT REPRODUCED"]


def test_report_fails_naming_every_failed_claim():
    exp = setup()
    exp.check("first", False, value=1.0)
    exp.check("second", True)
    exp.check("third", np.bool_(False))
    with pytest.raises(AssertionError, match="first, third"):
        exp.report()


def test_report_without_claims_fails_and_tensor_values_must_be_scalars():
    exp = setup()
    with pytest.raises(AssertionError, match="no claim was checked"):
        exp.report()
    with pytest.raises(ValueError, match="scalar"):
        exp.check("vector", True, value=torch.ones(3))


def test_require_raises_the_message():
    require(True, "never shown")
    with pytest.raises(ValueError, match="n must be positive"):
        require(False, "n must be positive")


def test_check_below_and_above_write_condition_and_expectation_from_one_bound():
    exp = setup()
    exp.check_below("small", torch.tensor(0.2), 0.5)
    exp.check_below("not small", 0.7, 0.5, required=False)
    exp.check_above("positive gap", -0.1, 0)
    assert [(c.passed, c.expect, c.result) for c in exp.claims] == [
        (True, "< 0.5", "PASS"),
        (False, "< 0.5", "NOT REPRODUCED"),
        (False, "> 0", "FAIL"),
    ]
