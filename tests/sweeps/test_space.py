"""Parsing a sweep: every mistake is refused with one message, before anything exists."""

from __future__ import annotations

from typing import Any

import pytest

from runyard.entities import Goal
from runyard.errors import BadRequest
from runyard.sweeps.space import from_dict, parse_sweep

CMD = ["python", "train.py", "--lr", "{lr}", "--width", "{width}", "--opt", "{opt}"]


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "digits-lr",
        "objective": "val/loss:min",
        "space": {
            "lr": {"type": "float", "low": 1.0e-4, "high": 0.1, "log": True},
            "width": {"type": "int", "low": 16, "high": 256},
            "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
        },
        "sampler": "tpe",
        "pruner": {"type": "asha", "min_steps": 3},
        "max_trials": 16,
        "parallel": 2,
    }
    doc.update(over)
    return doc


def test_the_issue_example_parses() -> None:
    spec = parse_sweep(_doc(), CMD, slots=4)
    assert spec.objective.key == "val/loss" and spec.objective.goal is Goal.MIN
    assert spec.space["lr"].log and spec.space["lr"].low == pytest.approx(1e-4)
    assert spec.space["width"].type == "int" and spec.space["opt"].choices == ("adam", "sgd")
    assert (spec.pruner, spec.min_steps, spec.max_trials, spec.parallel) == ("asha", 3, 16, 2)
    argv = spec.command_for({"lr": 0.01, "width": 32, "opt": "sgd"})
    assert argv == ["python", "train.py", "--lr", "0.01", "--width", "32", "--opt", "sgd"]
    assert from_dict(spec.to_dict()) == spec


def test_a_string_command_gets_quoted_values() -> None:
    doc = _doc(space={"opt": {"type": "categorical", "choices": ["a b"]}})
    spec = parse_sweep(doc, "echo {opt}", slots=4)
    assert spec.command_for({"opt": "a b"}) == "echo 'a b'"


def test_objective_key_may_hold_colons_and_max() -> None:
    spec = parse_sweep(_doc(objective="val:acc:max"), CMD, slots=4)
    assert spec.objective.key == "val:acc" and spec.objective.goal is Goal.MAX


@pytest.mark.parametrize(
    ("change", "command", "message"),
    [
        ({"objective": "val/loss"}, CMD, "key:min"),
        ({"objective": "val/loss:lowest"}, CMD, "key:min"),
        ({"space": {}}, CMD, "space must map"),
        ({"space": {"lr": {"type": "float", "low": 1, "high": 0}}}, ["x", "{lr}"], "above high"),
        ({"space": {"lr": {"type": "float", "low": 0, "high": 1, "log": True}}}, ["{lr}"], "log"),
        ({"space": {"lr": {"type": "float", "low": "a", "high": 1}}}, ["{lr}"], "number"),
        ({"space": {"w": {"type": "int", "low": 1.5, "high": 3}}}, ["{w}"], "integer"),
        ({"space": {"w": {"type": "bool"}}}, ["{w}"], "float, int or categorical"),
        ({"space": {"w": {"type": "categorical", "choices": []}}}, ["{w}"], "non-empty"),
        ({"space": {"w": {"type": "int", "low": 1, "high": 3, "big": 1}}}, ["{w}"], "unknown"),
        ({"sampler": "cmaes"}, CMD, "sampler must be"),
        ({"pruner": {"type": "hyperband"}}, CMD, "pruner.type"),
        ({"pruner": {"type": "asha", "min_steps": 0}}, CMD, "min_steps"),
        ({"max_trials": 0}, CMD, "max_trials"),
        ({"parallel": 5}, CMD, "slot(s)"),
        ({"colour": "red"}, CMD, "unknown sweep field"),
        ({}, [*CMD, "--depth", "{depth}"], "does not define"),
        ({}, CMD[:-2], "never uses"),
        ({}, [*CMD, "{lr!r}"], "plain {name}"),
        ({}, [*CMD, "{"], "braces"),
        ({}, [], "needs a command"),
        (
            {"space": {"w": {"type": "float", "low": 0, "high": 1}}, "sampler": "grid"},
            ["{w}"],
            "grid needs",
        ),
    ],
)
def test_bad_sweeps_are_refused(change: dict[str, Any], command: Any, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_sweep(_doc(**change), command, slots=4)
    assert message in info.value.message


def test_grid_caps_the_trials_at_its_size() -> None:
    doc = _doc(
        sampler="grid",
        space={
            "lr": {"type": "float", "low": 0.1, "high": 0.3, "step": 0.1},
            "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
        },
    )
    spec = parse_sweep(doc, ["t", "{lr}", "{opt}"], slots=4)
    assert spec.space["lr"].grid() == pytest.approx([0.1, 0.2, 0.3])
    assert spec.trial_limit == 6
