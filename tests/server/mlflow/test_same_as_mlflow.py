"""What MLflow's client sees from runyard equals what it saw from a real `mlflow server` for
the same calls (fixtures/scenario.py, recorded once into fixtures/mlflow_answers.json)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.mlflow.fixtures.scenario import scenario

RECORDED = Path(__file__).with_name("fixtures") / "mlflow_answers.json"


def test_client_sees_what_mlflow_server_answers(mlflow_url: str) -> None:
    expected = json.loads(RECORDED.read_text())
    got = scenario(mlflow_url)
    assert {k: got[k] for k in sorted(got)} == {k: expected[k] for k in sorted(expected)}
