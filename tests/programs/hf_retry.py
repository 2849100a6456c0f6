"""A Hugging Face Trainer job with runyard's native callback: its first attempt crashes after
the checkpoint of step 3; a retry resumes through `train(resume_from_checkpoint=…)`."""

from __future__ import annotations

import os
import sys
from typing import Any

from transformers import Trainer, TrainerCallback, TrainingArguments

from runyard.integrations.huggingface import RunyardCallback
from tests.integrations._models import hf_model_and_data


class CrashOnce(TrainerCallback):
    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if os.environ.get("RUNYARD_ATTEMPT") == "1" and state.global_step == 4:
            raise RuntimeError("simulated crash at step 4")


def main() -> None:
    callback = RunyardCallback()
    print(f"attempt {os.environ.get('RUNYARD_ATTEMPT')} resumes from {callback.resume_from}")
    model, data = hf_model_and_data()
    args = TrainingArguments(
        output_dir=sys.argv[1],
        max_steps=6,
        per_device_train_batch_size=8,
        logging_steps=1,
        save_steps=3,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[callback, CrashOnce()])
    trainer.train(resume_from_checkpoint=callback.resume_from)


if __name__ == "__main__":
    main()
