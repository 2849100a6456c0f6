"""PyTorch Lightning: a `Logger` and a `Callback` that record a run in runyard.

    logger = RunyardLogger(experiment="digits")
    trainer = pl.Trainer(max_epochs=20, logger=logger, callbacks=[RunyardCallback()])
    trainer.fit(model, train, val, ckpt_path=logger.run.resume_from)  # None on a first attempt

Beyond MLflow's logger: metrics carry the trainer's step and epoch, every checkpoint that a
ModelCheckpoint saves is registered (so a retry resumes from it), progress is counted against
`max_epochs`, an EarlyStopping stop is recorded as an early stop, and `finalize` ends the run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.fabric.utilities.logger import _convert_params, _flatten_dict, _sanitize_params
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

import runyard


class RunyardLogger(Logger):
    """Logs hyperparameters, metrics and checkpoints to a runyard run (made on first use, or
    the runner's when the script runs as a runyard job)."""

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        run: runyard.Run | None = None,
        **init_kwargs: Any,
    ):
        super().__init__()
        self._experiment, self._name, self._run = experiment, name, run
        self._init_kwargs = init_kwargs
        self._seen: dict[str, int] = {}  # checkpoint path -> mtime_ns already registered
        self._since = time.time()  # a resumed trainer also lists an earlier attempt's files
        self.trainer: pl.Trainer | None = None  # set by RunyardCallback

    @property
    def run(self) -> runyard.Run:
        if self._run is None:
            self._run = runyard.init(
                experiment=self._experiment, name=self._name, **self._init_kwargs
            )
        return self._run

    @property
    def name(self) -> str:
        return self._experiment or "runyard"

    @property
    def version(self) -> str:
        return self.run.id

    @property
    def experiment(self) -> runyard.Run:
        return self.run

    @rank_zero_only
    def log_hyperparams(
        self, params: dict[str, Any] | argparse.Namespace, *args: Any, **kwargs: Any
    ) -> None:
        flat = _sanitize_params(_flatten_dict(_convert_params(params)))
        if flat:
            self.run.log_params(flat)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = dict(metrics)
        epoch = values.pop("epoch", None)
        if values:
            self.run.log(
                {k: float(v) for k, v in values.items()},
                step=step,
                epoch=None if epoch is None else int(epoch),
            )

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        """Register each checkpoint file the callback saved since the last call."""
        import os

        cb = checkpoint_callback
        paths = {*cb.best_k_models, cb.best_model_path, cb.last_model_path}
        trainer = self.trainer
        for path in sorted(p for p in paths if p and os.path.isfile(p)):
            mtime = os.stat(path).st_mtime_ns
            if self._seen.get(path) == mtime or mtime < self._since * 1e9:
                continue
            self._seen[path] = mtime
            score = checkpoint_callback.best_k_models.get(path)
            monitor = checkpoint_callback.monitor
            metrics = {monitor: float(score)} if monitor and score is not None else None
            self.run.checkpoint(
                path,
                step=trainer.global_step if trainer else None,
                epoch=trainer.current_epoch if trainer else None,
                metrics=metrics,
            )

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is None:
            return
        self.run.finish("completed" if status in ("success", "finished") else "failed")


class RunyardCallback(Callback):
    """Tells the RunyardLogger of the trainer what a logger cannot see: the goals of monitored
    metrics, progress against max_epochs, and an early stop."""

    def _logger(self, trainer: pl.Trainer) -> RunyardLogger | None:
        for logger in trainer.loggers:
            if isinstance(logger, RunyardLogger):
                return logger
        return None

    @rank_zero_only
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        logger = self._logger(trainer)
        if logger is None:
            raise ValueError("RunyardCallback needs a RunyardLogger among the trainer's loggers")
        logger.trainer = trainer
        for cb in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(cb, (ModelCheckpoint, EarlyStopping)) and cb.monitor:
                mode = getattr(cb, "mode", "min")
                logger.run.define_metric(cb.monitor, goal="max" if mode == "max" else "min")

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = self._logger(trainer)
        if logger is not None:
            total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None
            logger.run.progress(trainer.current_epoch + 1, total=total)

    @rank_zero_only
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = self._logger(trainer)
        stopper = trainer.early_stopping_callback
        if logger is not None and stopper is not None and trainer.should_stop:
            logger.run.early_stop(stopper.stopped_epoch)
