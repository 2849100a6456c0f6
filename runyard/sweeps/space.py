"""A sweep's definition: search space, objective, sampler, pruner and limits, checked once.

Parsing is strict and complete before anything is created: a sweep that would fail later
(a placeholder the space lacks, a parameter the command never receives, a float range with
low > high) is refused here with one message. No Optuna import: the controller turns these
plain records into Optuna distributions.
"""

from __future__ import annotations

import math
import shlex
import string
from dataclasses import dataclass, field
from typing import Any

from runyard.entities import Goal
from runyard.errors import BadRequest

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("asha", "median", "none")
MAX_TRIALS = 10_000


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # float | int | categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def grid(self) -> list[Any]:
        """Every value a grid search tries: the choices, or low..high by step."""
        if self.type == "categorical":
            return list(self.choices)
        if self.step is None:
            if self.type == "int":
                return list(range(int(self.low or 0), int(self.high or 0) + 1))
            raise BadRequest(f"space.{self.name}: a grid needs a float with a `step`")
        assert self.low is not None and self.high is not None
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        values = [self.low + i * self.step for i in range(count)]
        return [int(v) for v in values] if self.type == "int" else values


@dataclass(frozen=True)
class Objective:
    key: str
    goal: Goal

    def __str__(self) -> str:
        return f"{self.key}:{self.goal.value}"


@dataclass(frozen=True)
class SweepSpec:
    name: str
    objective: Objective
    space: dict[str, Param]
    command: list[str] | str
    sampler: str = "tpe"
    pruner: str = "asha"
    min_steps: int = 1
    reduction_factor: int = 3
    max_trials: int = 16
    parallel: int = 1
    seed: int | None = None
    job: dict[str, Any] = field(default_factory=dict)  # the trials' other job fields

    @property
    def trial_limit(self) -> int:
        """max_trials, capped for a grid by the number of its points."""
        if self.sampler != "grid":
            return self.max_trials
        return min(self.max_trials, math.prod(len(p.grid()) for p in self.space.values()))

    def command_for(self, params: dict[str, Any]) -> list[str] | str:
        """The trial's command: placeholders filled (shell-quoted in a string command)."""
        if isinstance(self.command, list):
            return [part.format(**params) for part in self.command]
        return self.command.format(**{k: shlex.quote(str(v)) for k, v in params.items()})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "objective": str(self.objective),
            "space": {n: _param_dict(p) for n, p in self.space.items()},
            "command": self.command,
            "sampler": self.sampler,
            "pruner": {
                "type": self.pruner,
                "min_steps": self.min_steps,
                "reduction_factor": self.reduction_factor,
            },
            "max_trials": self.max_trials,
            "parallel": self.parallel,
            "seed": self.seed,
            **self.job,
        }


def _param_dict(p: Param) -> dict[str, Any]:
    if p.type == "categorical":
        return {"type": p.type, "choices": list(p.choices)}
    out: dict[str, Any] = {"type": p.type, "low": p.low, "high": p.high}
    if p.log:
        out["log"] = True
    if p.step is not None:
        out["step"] = p.step
    return out


def _number(where: str, value: Any, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{where} must be a number, not {value!r}")
    if integer and not float(value).is_integer():
        raise BadRequest(f"{where} must be an integer, not {value!r}")
    if not math.isfinite(value):
        raise BadRequest(f"{where} must be finite")
    return float(value)


def parse_param(name: str, raw: Any) -> Param:
    where = f"space.{name}"
    if not name.isidentifier():
        raise BadRequest(f"{where}: a parameter name must be an identifier (letters, digits, _)")
    if not isinstance(raw, dict):
        raise BadRequest(f"{where} must be a mapping such as {{type: float, low: 0, high: 1}}")
    kind = raw.get("type")
    if kind == "categorical":
        extra = set(raw) - {"type", "choices"}
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices:
            raise BadRequest(f"{where}.choices must be a non-empty list")
        for c in choices:
            if c is not None and not isinstance(c, str | int | float | bool):
                raise BadRequest(f"{where}.choices: {c!r} is not a string, number or bool")
        if len({repr(c) for c in choices}) != len(choices):
            raise BadRequest(f"{where}.choices has duplicates")
        if extra:
            raise BadRequest(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        return Param(name, kind, choices=tuple(choices))
    if kind not in ("float", "int"):
        raise BadRequest(f"{where}.type must be float, int or categorical, not {kind!r}")
    extra = set(raw) - {"type", "low", "high", "log", "step"}
    if extra:
        raise BadRequest(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    if "low" not in raw or "high" not in raw:
        raise BadRequest(f"{where} needs `low` and `high`")
    integer = kind == "int"
    low = _number(f"{where}.low", raw["low"], integer)
    high = _number(f"{where}.high", raw["high"], integer)
    if low > high:
        raise BadRequest(f"{where}: low ({raw['low']}) is above high ({raw['high']})")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise BadRequest(f"{where}.log must be true or false")
    if log and low <= 0:
        raise BadRequest(f"{where}: a log scale needs low > 0")
    step = None
    if raw.get("step") is not None:
        step = _number(f"{where}.step", raw["step"], integer)
        if step <= 0:
            raise BadRequest(f"{where}.step must be above 0")
        if log:
            raise BadRequest(f"{where}: `step` and `log` cannot be combined")
    return Param(name, kind, low=low, high=high, log=log, step=step)


def parse_objective(text: Any) -> Objective:
    if not isinstance(text, str) or ":" not in text:
        raise BadRequest(f"objective must read `key:min` or `key:max`, not {text!r}")
    key, _, goal = text.rpartition(":")
    if not key.strip() or goal not in ("min", "max"):
        raise BadRequest(f"objective must read `key:min` or `key:max`, not {text!r}")
    return Objective(key.strip(), Goal(goal))


def placeholders(command: list[str] | str) -> set[str]:
    parts = command if isinstance(command, list) else [command]
    names: set[str] = set()
    for part in parts:
        try:
            fields = list(string.Formatter().parse(part))
        except ValueError as exc:
            raise BadRequest(f"command {part!r}: {exc} (write {{{{ and }}}} for braces)") from None
        for _, name, spec, conv in fields:
            if name is None:
                continue
            if not name.isidentifier() or spec or conv:
                raise BadRequest(f"command: placeholder {{{name}}} must be a plain {{name}}")
            names.add(name)
    return names


def _int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{where} must be an integer from {low} to {high}, not {value!r}")
    return value


def _pruner(raw: Any) -> tuple[str, int, int]:
    if raw is None:
        raw = {}
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise BadRequest("pruner must be a name or a mapping such as {type: asha, min_steps: 3}")
    extra = set(raw) - {"type", "min_steps", "reduction_factor"}
    if extra:
        raise BadRequest(f"pruner: unknown field(s) {', '.join(sorted(extra))}")
    kind = raw.get("type", "asha")
    if kind not in PRUNERS:
        raise BadRequest(f"pruner.type must be one of {', '.join(PRUNERS)}, not {kind!r}")
    min_steps = _int("pruner.min_steps", raw.get("min_steps", 1), 1, 2**31 - 1)
    factor = _int("pruner.reduction_factor", raw.get("reduction_factor", 3), 2, 100)
    return kind, min_steps, factor


SWEEP_FIELDS = {"name", "objective", "space", "sampler", "pruner", "max_trials", "parallel"}


def parse_sweep(
    doc: Any, command: list[str] | str, *, slots: int, job: dict[str, Any] | None = None
) -> SweepSpec:
    """A sweep from its file (or JSON body) and command; BadRequest on the first problem."""
    if not isinstance(doc, dict):
        raise BadRequest("a sweep must be a mapping with name, objective and space")
    extra = set(doc) - SWEEP_FIELDS - {"seed"}
    if extra:
        raise BadRequest(f"unknown sweep field(s): {', '.join(sorted(extra))}")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 250:
        raise BadRequest("name must be a non-empty string (at most 250 characters)")
    objective = parse_objective(doc.get("objective"))
    raw_space = doc.get("space")
    if not isinstance(raw_space, dict) or not raw_space:
        raise BadRequest("space must map each parameter name to its range or choices")
    space = {str(n): parse_param(str(n), raw) for n, raw in raw_space.items()}
    sampler = doc.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise BadRequest(f"sampler must be one of {', '.join(SAMPLERS)}, not {sampler!r}")
    pruner, min_steps, factor = _pruner(doc.get("pruner"))
    max_trials = _int("max_trials", doc.get("max_trials", 16), 1, MAX_TRIALS)
    parallel = _int("parallel", doc.get("parallel", 1), 1, 1024)
    seed = doc.get("seed")
    if seed is not None:
        seed = _int("seed", seed, 0, 2**32 - 1)
    if not command:
        raise BadRequest("a sweep needs a command (after `--`)")
    used = placeholders(command)
    if missing := sorted(used - set(space)):
        raise BadRequest(f"command uses {{{'}, {'.join(missing)}}} that the space does not define")
    if unused := sorted(set(space) - used):
        raise BadRequest(
            f"the space defines {', '.join(unused)} that the command never uses: "
            f"add {' '.join('{' + n + '}' for n in unused)} to the command"
        )
    cpus = int((job or {}).get("cpus", 1))
    if parallel * cpus > slots:
        raise BadRequest(
            f"parallel is {parallel} (× {cpus} CPU slot(s) a trial) but this server has "
            f"{slots} slot(s)"
        )
    spec = SweepSpec(
        name=name.strip(),
        objective=objective,
        space=space,
        command=command,
        sampler=sampler,
        pruner=pruner,
        min_steps=min_steps,
        reduction_factor=factor,
        max_trials=max_trials,
        parallel=parallel,
        seed=seed,
        job=dict(job or {}),
    )
    if sampler == "grid":
        spec.trial_limit  # noqa: B018  (raises for a space a grid cannot enumerate)
    return spec


def from_dict(data: dict[str, Any]) -> SweepSpec:
    """A stored sweep back (it was checked when created; the slots no longer matter)."""
    doc = {k: data[k] for k in SWEEP_FIELDS | {"seed"} if k in data}
    job = {k: v for k, v in data.items() if k not in SWEEP_FIELDS | {"seed", "command"}}
    return parse_sweep(doc, data["command"], slots=2**31, job=job)
