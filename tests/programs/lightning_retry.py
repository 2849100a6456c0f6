"""A Lightning job with runyard's native logger: its first attempt crashes as epoch 2 starts,
after epoch 1's checkpoint; a retry resumes from `run.resume_from` through Lightning's own
`ckpt_path`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from runyard.integrations.lightning import RunyardCallback, RunyardLogger
from tests.integrations._models import lightning_module, loaders, trainer_kwargs


class CrashOnce(Callback):
    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if os.environ.get("RUNYARD_ATTEMPT") == "1" and trainer.current_epoch == 2:
            raise RuntimeError("simulated crash after epoch 1")


def main() -> None:
    logger = RunyardLogger()
    resume = logger.run.resume_from
    print(f"attempt {os.environ.get('RUNYARD_ATTEMPT')} resumes from {resume}", flush=True)
    saver = ModelCheckpoint(dirpath=Path(sys.argv[1]), save_top_k=-1, monitor="val_loss")
    trainer = pl.Trainer(
        max_epochs=4,
        logger=logger,
        callbacks=[RunyardCallback(), saver, CrashOnce()],
        **trainer_kwargs(),
    )
    train, val = loaders()
    trainer.fit(lightning_module(), train, val, ckpt_path=resume)


if __name__ == "__main__":
    main()
