"""The fundus part of `runyard demo`: the MONAI classifier and segmenter, a small dataset with
a planted patient leak (the Datasets page shows what the checks find), then an evaluation
job of the classifier's best checkpoint once it has finished training."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import typer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPERIMENT = "fundus"
WAIT_S = 3600.0
LEAKY = "fundus-leaky"  # a small image dataset with a planted patient leak the checks find
LEAKY_ARGS = ["--patients", "20", "--leak", "2", "--register", "--name", LEAKY]


def jobs() -> list[dict[str, Any]]:
    py = sys.executable
    base = {"experiment": EXPERIMENT, "cwd": str(EXAMPLES), "retry_delay_s": 3}
    return [
        {**base, "name": "fundus-efficientnet",
         "command": [py, str(EXAMPLES / "fundus_classify.py"), "--register-dataset"]},
        {**base, "name": "fundus-unet", "command": [py, str(EXAMPLES / "fundus_segment.py")]},
        {**base, "name": "register-fundus-leaky", "max_retries": 0,
         "command": [py, str(EXAMPLES / "fundus_data.py"), *LEAKY_ARGS]},
    ]  # fmt: skip


def _evaluate_when_done(url: str, headers: dict[str, str], run_id: str) -> None:
    deadline = time.monotonic() + WAIT_S
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        while time.monotonic() < deadline:
            try:
                status = http.get(f"/api/runs/{run_id}").json()["status"]
                if status == "completed":
                    body = {
                        "command": [sys.executable, str(EXAMPLES / "fundus_classify.py")],
                        "checkpoint": "best",
                        "split": "test",
                        "cwd": str(EXAMPLES),
                    }
                    r = http.post(f"/api/runs/{run_id}/evaluations", json=body)
                    typer.echo(f"submitted an evaluation of {run_id}'s best checkpoint: "
                               f"{r.json().get('id', r.text)}", err=True)  # fmt: skip
                    return
                if status in ("failed", "cancelled"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(2.0)


def submit(http: httpx.Client, url: str, headers: dict[str, str]) -> None:
    """Submit the examples and the leaky dataset's registration; watch the classifier in a
    daemon thread."""
    if not (EXAMPLES / "fundus_classify.py").is_file():
        return
    ids = []
    for job in jobs():
        r = http.post("/api/runs", json=job)
        r.raise_for_status()
        ids.append(r.json()["id"])
        typer.echo(f"submitted {job['name']:<20} {ids[-1]}", err=True)
    threading.Thread(target=_evaluate_when_done, args=(url, headers, ids[0]), daemon=True).start()
