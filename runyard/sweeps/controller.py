"""The sweep controller: Optuna ask-and-tell beside the scheduler, in the server process.

One thread. Each pass, for every running sweep: trials whose run ended are told to Optuna
(completed → COMPLETE with the objective's last value, pruned → PRUNED, failed or cancelled →
FAIL); running trials have their new objective points reported by step and are pruned
through the normal cancel path when the pruner says so; new trials are asked while fewer
than ``parallel`` run. Trials are ordinary runs with ``sweep_id`` and ``trial``.

Nothing lives only in memory: Optuna's journal (one file per sweep under
``$RUNYARD_HOME/sweeps/``) holds the asked trials, the store holds their runs, and the unique
(sweep, trial) index means a trial asked but not yet submitted when the server died is
submitted once at the next start, never twice.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.config import Settings
from runyard.entities import SYSTEM_METRIC_PREFIX, Goal, Run, RunStatus
from runyard.errors import Conflict
from runyard.store import Store
from runyard.store.sweeps import Sweep
from runyard.sweeps.space import SweepSpec, from_dict

if TYPE_CHECKING:
    import optuna

log = logging.getLogger("runyard.sweeps")
POLL_S = 0.5  # a pruning decision comes at most this long after its step is stored

# submit(sweep, spec, trial number, params) → the run; wake() nudges the scheduler.
Submit = Callable[[Sweep, SweepSpec, int, dict[str, Any]], Run]


def journal_path(settings: Settings, sweep_id: str) -> Path:
    return settings.home / "sweeps" / f"{sweep_id}.journal"


def _sampler(spec: SweepSpec, asked: int = 0) -> optuna.samplers.BaseSampler:
    """The sweep's sampler, seeded by its seed and the number of trials asked before (a
    sampler's random state is not in the journal: seeded as at the start, a restarted server
    would draw the first trials' parameters again)."""
    import optuna

    seed = None if spec.seed is None else spec.seed + asked
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        grid = {name: p.grid() for name, p in spec.space.items()}
        return optuna.samplers.GridSampler(grid, seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    import optuna

    if spec.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=spec.min_steps, reduction_factor=spec.reduction_factor
        )
    if spec.pruner == "median":
        startup = min(5, max(1, spec.trial_limit // 4))
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=spec.min_steps)
    return optuna.pruners.NopPruner()


def distributions(spec: SweepSpec) -> dict[str, optuna.distributions.BaseDistribution]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, p in spec.space.items():
        if p.type == "categorical":
            out[name] = CategoricalDistribution(list(p.choices))
        elif p.type == "int":
            assert p.low is not None and p.high is not None
            step = int(p.step or 1)
            out[name] = IntDistribution(int(p.low), int(p.high), log=p.log, step=step)
        else:
            assert p.low is not None and p.high is not None
            out[name] = FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    return out


def open_study(settings: Settings, sweep_id: str, spec: SweepSpec) -> optuna.Study:
    """The sweep's study in its own journal file (created on first use)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = journal_path(settings, sweep_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(
        storage=storage,
        sampler=_sampler(spec),
        pruner=_pruner(spec),
        study_name=sweep_id,
        direction="minimize" if spec.objective.goal is Goal.MIN else "maximize",
        load_if_exists=True,
    )
    if asked := len(study.get_trials(deepcopy=False)):  # a server going on with it
        study.sampler = _sampler(spec, asked)
    return study


def _finish_ask(
    study: optuna.Study, ft: optuna.trial.FrozenTrial, dists: dict[str, Any]
) -> dict[str, Any]:
    """The parameters of a trial asked before the server died. Optuna stores a new trial,
    then each of its parameters, each in a line of its own: a server killed in between left
    some unasked, and they are asked now (those stored are kept as they are)."""
    if dists.keys() <= ft.params.keys():
        return dict(ft.params)
    import optuna
    from optuna.distributions import CategoricalDistribution, IntDistribution

    trial = optuna.trial.Trial(study, ft._trial_id)
    for name, d in dists.items():
        if isinstance(d, CategoricalDistribution):
            trial.suggest_categorical(name, d.choices)
        elif isinstance(d, IntDistribution):
            trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
        else:
            trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
    return dict(trial.params)


class SweepController:
    def __init__(
        self, store: Store, settings: Settings, submit: Submit, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.settings = settings
        self._submit = submit
        self._wake_scheduler = wake
        self._studies: dict[str, optuna.Study] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.ring: Callable[[], None] | None = None  # a follower's wake reaches the leader
        self.idle_poll_s: float | None = None  # look every so often though nobody woke it

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        # Only this process writes the journals: a lock left by a killed server is stale.
        for lock in (self.settings.home / "sweeps").glob("*.journal.lock"):
            lock.unlink(missing_ok=True)
        self._thread = threading.Thread(target=self._loop, name="runyard-sweeps", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()
        if self.ring is not None:
            self.ring()

    def woken(self) -> None:
        """Another process asked: look again (never rings back)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            busy = False
            try:
                busy = self.tick()
            except Exception:  # a bad pass must not end the sweeps
                log.exception("sweep pass failed")
                busy = True
            self._wake.wait(POLL_S if busy else self.idle_poll_s)

    # --- one pass -------------------------------------------------------------------------

    def tick(self) -> bool:
        """Advance every running sweep; True while any is running."""
        running = self.store.sweeps.list(running_only=True)
        for sweep in running:
            try:
                self.advance(sweep)
            except Exception:
                log.exception("sweep %s: pass failed", sweep.id)
        for gone in set(self._studies) - {s.id for s in running}:
            self._close(self._studies.pop(gone))
        return bool(running)

    @staticmethod
    def _close(study: Any) -> None:
        """An ended sweep's unfinished trials are told FAIL: their runs are being cancelled."""
        from optuna.trial import TrialState

        for ft in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(ft.number, state=TrialState.FAIL, skip_if_finished=True)

    def study(self, sweep: Sweep, spec: SweepSpec) -> optuna.Study:
        study = self._studies.get(sweep.id)
        if study is None:
            study = self._studies[sweep.id] = open_study(self.settings, sweep.id, spec)
        return study

    def advance(self, sweep: Sweep) -> None:
        from optuna.trial import TrialState

        spec = from_dict(sweep.spec)
        study = self.study(sweep, spec)
        runs_of = self.store.sweeps.trial_numbers(sweep.id)
        trials = study.get_trials(deepcopy=False)
        dists = distributions(spec)
        active = 0
        for ft in trials:
            if ft.state is not TrialState.RUNNING:
                continue
            run_id = runs_of.get(ft.number)
            if run_id is None:  # asked, then the server died before its run was stored
                self._start_trial(sweep, spec, ft.number, _finish_ask(study, ft, dists))
                active += 1
                continue
            run = self.store.runs.get(run_id)
            if run.status.is_terminal():
                if self._tell(sweep, spec, study, ft.number, run):
                    return  # the sweep ended
            else:
                active += 1
                if self._report(sweep, spec, study, ft, run):
                    return
        asked = len(trials)
        while active < spec.parallel and asked < spec.trial_limit:
            trial = study.ask(dists)
            self._start_trial(sweep, spec, trial.number, trial.params)
            active += 1
            asked += 1
        if active == 0 and asked >= spec.trial_limit:
            self.store.sweeps.end(sweep.id, "completed", self._best_words(study))

    def _start_trial(self, sweep: Sweep, spec: SweepSpec, number: int, params: Any) -> None:
        try:
            self._submit(sweep, spec, number, dict(params))  # emits the run's "created"
        except Conflict:
            return  # submitted by an earlier pass; its run will be found next time

    def _tell(self, sweep: Sweep, spec: SweepSpec, study: Any, number: int, run: Run) -> bool:
        from optuna.trial import TrialState

        key = spec.objective.key
        if run.status is RunStatus.PRUNED:
            study.tell(number, state=TrialState.PRUNED, skip_if_finished=True)
        elif run.status is RunStatus.COMPLETED:
            value = run.metrics.get(key)
            if value is None:
                study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
                return self._missing_objective(sweep, spec, number, run)
            if math.isfinite(value):
                study.tell(number, value, skip_if_finished=True)
            else:
                study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        else:  # failed after the runner's retries, or cancelled by hand
            study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        return False

    def _report(self, sweep: Sweep, spec: SweepSpec, study: Any, ft: Any, run: Run) -> bool:
        import optuna

        key = spec.objective.key
        series = self.store.metrics.read(run.id, [key]).get(key)
        if series is None:
            if ft.number == 0:
                logged = self.store.metrics.summaries(run.id)
                steps = [
                    s.last_step
                    for s in logged
                    if s.last_step is not None and not s.key.startswith(SYSTEM_METRIC_PREFIX)
                ]
                if steps and max(steps) >= spec.min_steps:
                    return self._missing_objective(sweep, spec, ft.number, run)
            return False
        if self.store.jobs.cancel_flags(run.id) is not None:
            return False  # its stop is on the way
        done = max(ft.intermediate_values, default=-1)
        trial = optuna.trial.Trial(study, ft._trial_id)
        for step, value in zip(series.steps.tolist(), series.values.tolist(), strict=True):
            if step <= done or step < 0 or not math.isfinite(value):
                continue
            trial.report(value, step)
            done = step
            if spec.pruner != "none" and trial.should_prune():
                why = f"pruned at step {step}: {key} = {value:.4g}"
                try:
                    status = self.store.jobs.request_cancel(
                        run.id, stop_as=RunStatus.PRUNED, reason=why
                    )
                except Conflict:
                    break  # it ended meanwhile: the next pass tells how
                if status is RunStatus.PRUNED:  # it was waiting: ended at once
                    self.store.events.emit("status", run.id, status="pruned", reason=why)
                self._wake_scheduler()
                break
        return False

    def _missing_objective(self, sweep: Sweep, spec: SweepSpec, number: int, run: Run) -> bool:
        keys = sorted(k for k in run.metrics if not k.startswith(SYSTEM_METRIC_PREFIX))
        message = (
            f"the objective {spec.objective.key!r} was never logged by trial {number} "
            f"(run {run.id}) after {spec.min_steps} step(s); it logged "
            f"{', '.join(keys) if keys else 'nothing'}. Fix the key or the program."
        )
        if self.store.sweeps.end(sweep.id, "failed", message):
            log.warning("sweep %s: %s", sweep.id, message)
            self.cancel_trials(sweep.id)
        return True

    def cancel_trials(self, sweep_id: str) -> None:
        """Stop a sweep's unfinished trials (it was stopped, or it cannot go on); the next
        pass tells Optuna."""
        for run in self.store.sweeps.trials(sweep_id):
            if run.status.is_terminal():
                continue
            try:
                self.store.jobs.request_cancel(run.id)
            except Conflict:
                continue  # ended meanwhile
        self._wake_scheduler()
        self.wake()

    @staticmethod
    def _best_words(study: Any) -> str:
        try:
            best = study.best_trial
        except ValueError:
            return "no trial completed"
        return f"best: trial {best.number}, value {best.value:.6g}"
