"""Metrics from log lines: regexes with named groups and the two presets."""

from __future__ import annotations

import pytest

from runyard.capture.patterns import compile_pattern, compile_patterns, match_line
from runyard.errors import BadRequest

NANOGPT = [
    r"iter (?P<step>\d+): loss (?P<train_loss>[\d.]+)",
    r"step (?P<step>\d+): train loss (?P<train_loss>[\d.]+), val loss (?P<val_loss>[\d.]+)",
]


def test_nanogpt_lines_become_train_and_val_loss() -> None:
    patterns = compile_patterns(NANOGPT)
    it = match_line(patterns, "iter 40: loss 2.8123, time 35.11ms, mfu 0.12%")
    assert it is not None and (it.step, it.values) == (40, {"train_loss": 2.8123})
    ev = match_line(patterns, "step 250: train loss 1.9000, val loss 2.0500")
    assert ev is not None and (ev.step, ev.values) == (250, {"train_loss": 1.9, "val_loss": 2.05})
    assert match_line(patterns, "saving checkpoint to out") is None


def test_presets_take_every_pair_and_a_double_underscore_is_a_slash() -> None:
    kv = compile_patterns(["key=value"])
    got = match_line(kv, "epoch=3 step=120 loss=0.25 lr=1e-3 opt=adam acc=nan")
    assert got is not None and (got.step, got.epoch) == (120, 3.0)
    assert got.values["loss"] == 0.25 and got.values["lr"] == 0.001
    assert "opt" not in got.values and got.values["acc"] != got.values["acc"]  # NaN kept
    colon = compile_patterns(["key: value"])
    got = match_line(colon, "Epoch 2 | train/loss: 0.50, val/acc: 0.91")
    assert got is not None and got.values == {"train/loss": 0.5, "val/acc": 0.91}
    slash = compile_patterns([r"val (?P<val__loss>[\d.]+)"])
    got = match_line(slash, "val 0.5")
    assert got is not None and got.values == {"val/loss": 0.5}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("loss (?P<loss>[\\d.]+", "is not a valid regex"),
        ("loss ([\\d.]+)", "has no metric group"),
        ("step (?P<step>\\d+)", "has no metric group"),
    ],
)
def test_bad_patterns_are_refused(source: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        compile_pattern(source)
