"""Hugging Face Trainer: a `TrainerCallback` that records a run in runyard.

    callback = RunyardCallback(experiment="bert")
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])
    trainer.train(resume_from_checkpoint=callback.resume_from)  # None on a first attempt

It records the config (training arguments and the model's config), every log and evaluation
at the trainer's global step and epoch, each saved checkpoint (its files, so that a retry can
resume from the folder), progress against `max_steps`, and an early stop when training ended
before `max_steps`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

import runyard

# Registered last, so that the newest checkpoint of a folder (a retry's resume_from) lies in it.
_LAST = "trainer_state.json"


def _plain(value: Any) -> Any:
    """A config value as JSON can hold it: mappings get string keys (id2label has ints)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class RunyardCallback(TrainerCallback):
    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        run: runyard.Run | None = None,
        **init_kwargs: Any,
    ):
        self._experiment, self._name, self._run = experiment, name, run
        self._own = run is None
        self._init_kwargs = init_kwargs

    @property
    def run(self) -> runyard.Run:
        if self._run is None:
            self._run = runyard.init(
                experiment=self._experiment, name=self._name, **self._init_kwargs
            )
        return self._run

    @property
    def resume_from(self) -> str | None:
        """The checkpoint folder a retry resumes from, for `train(resume_from_checkpoint=…)`."""
        found = self.run.resume_from
        return str(found.parent) if found is not None else None

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero:
            return
        config: dict[str, Any] = {}
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_dict"):
            config.update(model_config.to_dict())
        config.update(args.to_sanitized_dict())
        self.run.log_params({k: _plain(v) for k, v in config.items()})
        if args.metric_for_best_model:
            key = args.metric_for_best_model
            key = key if key.startswith("eval_") else f"eval_{key}"
            self.run.define_metric(key, goal="max" if args.greater_is_better else "min")

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        values = {
            k: float(v)
            for k, v in logs.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "epoch"
        }
        if values:
            epoch = None if state.epoch is None else math.floor(state.epoch)
            self.run.log(values, step=state.global_step, epoch=epoch)
        if state.max_steps and state.max_steps > 0:
            self.run.progress(state.global_step, total=state.max_steps)

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir or ".") / f"checkpoint-{state.global_step}"
        if not folder.is_dir():
            return
        files = sorted(
            (p for p in folder.rglob("*") if p.is_file()), key=lambda p: (p.name == _LAST, p)
        )
        metrics = {}
        if args.metric_for_best_model and state.best_metric is not None:
            metrics[args.metric_for_best_model] = float(state.best_metric)
        epoch = None if state.epoch is None else math.floor(state.epoch)
        for path in files:
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            self.run.checkpoint(
                path, step=state.global_step, epoch=epoch, metrics=metrics or None, name=name
            )

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        if state.max_steps and 0 < state.global_step < state.max_steps:
            self.run.early_stop(math.floor(state.epoch or 0))
        if self._own:
            self.run.finish("completed")
