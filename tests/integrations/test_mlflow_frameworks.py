"""Framework code that logs through MLflow, unchanged, into a live runyard server: Lightning's
MLFlowLogger and the Hugging Face Trainer with report_to="mlflow"."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.entities import RunStatus
from runyard.store import Store
from runyard.store.runs import RunQuery
from tests.integrations._models import hf_model_and_data, lightning_module, loaders, trainer_kwargs
from tests.server.mlflow.conftest import mlflow_url  # noqa: F401  (the live-server fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),  # Lightning's advice on workers etc.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def test_lightning_mlflow_logger(mlflow_url: str, store: Store, tmp_path: Path) -> None:  # noqa: F811
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import MLFlowLogger

    logger = MLFlowLogger(experiment_name="lit", tracking_uri=mlflow_url, run_name="tiny")
    trainer = pl.Trainer(max_epochs=3, logger=logger, default_root_dir=tmp_path, **trainer_kwargs())
    train, val = loaders()
    trainer.fit(lightning_module(), train, val)

    run = store.runs.get(logger.run_id)
    assert (run.experiment, run.name, run.status) == ("lit", "tiny", RunStatus.COMPLETED)
    assert run.params["lr"] == "0.05"
    assert {"train_loss_step", "train_loss_epoch", "val_loss", "epoch"} <= set(run.metrics)
    series = store.metrics.read(run.id, ["val_loss"])["val_loss"]
    assert len(series.steps) == 3 and series.steps.tolist() == sorted(series.steps.tolist())


def test_hugging_face_trainer_report_to_mlflow(
    mlflow_url: str,  # noqa: F811
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from transformers import Trainer, TrainingArguments

    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "hf")
    model, data = hf_model_and_data()
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=6,
        per_device_train_batch_size=8,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="no",
        report_to=["mlflow"],
        use_cpu=True,
        run_name="bert-tiny",
        disable_tqdm=True,
    )
    Trainer(model=model, args=args, train_dataset=data, eval_dataset=data).train()

    (run,) = store.runs.list(RunQuery(experiment="hf")).runs
    assert run.name == "bert-tiny" and run.status is RunStatus.COMPLETED
    assert run.params["max_steps"] == "6" and run.params["hidden_size"] == "16"
    assert {"loss", "eval_loss", "train_loss"} <= set(run.metrics)
    assert store.metrics.read(run.id, ["loss"])["loss"].steps.tolist() == [2, 4, 6]
