"""`python -m runyard.telemetry`: one host sample as JSON, no server needed.

The quickest check of the GPU path on a new machine: each GPU NVML sees, or why it cannot.
"""

from __future__ import annotations

import dataclasses
import sys

import orjson

from runyard.config import Settings
from runyard.telemetry.gpu import Nvml
from runyard.telemetry.health import Thresholds
from runyard.telemetry.host import HostSampler


def main() -> None:
    settings = Settings()
    nvml = Nvml()
    try:
        sample = HostSampler(settings.home, Thresholds.from_settings(settings), nvml).sample(
            cpu_interval=0.5
        )
        data = dataclasses.asdict(sample)
        data["gpu_processes"] = {str(pid): used for pid, used in nvml.process_memory().items()}
    finally:
        nvml.close()
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
