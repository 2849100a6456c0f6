"""Telemetry: host health (psutil), GPUs (NVML through nvidia-ml-py) and job process trees.

No store, no HTTP: the server's sampler thread (runyard.server.sampler) owns the sampling and
writes per-run figures to the store; ``python -m runyard.telemetry`` prints one host sample.
"""

from runyard.telemetry.gpu import GpuSample, Nvml, count_gpus
from runyard.telemetry.health import Status, Thresholds, worst
from runyard.telemetry.history import History
from runyard.telemetry.host import HostSample, HostSampler
from runyard.telemetry.processes import ProcessTrees, TreeSample

__all__ = [
    "GpuSample",
    "History",
    "HostSample",
    "HostSampler",
    "Nvml",
    "ProcessTrees",
    "Status",
    "Thresholds",
    "TreeSample",
    "count_gpus",
    "worst",
]
