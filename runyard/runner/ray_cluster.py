"""What a Ray cluster has: its live nodes and their CPUs and GPUs, read from Ray's dashboard.

Read over plain HTTP (the state API's `/api/v0/nodes`), so that showing the cluster needs
neither `import ray` nor a Ray client of the same version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from runyard.config import Settings
    from runyard.runner.ray import RayBackend
    from runyard.runner.resources import Resources

READ_TIMEOUT_S = 5.0
# Ray is handed one attempt more than it has room for per slot (see resources.py): it
# starts the next the moment one ends, so a queue of short jobs runs at Ray's own pace.
QUEUE_AHEAD = 1.0


@dataclass(frozen=True)
class RayNode:
    node_id: str
    ip: str
    head: bool
    cpus: float
    gpus: float


@dataclass(frozen=True)
class ClusterView:
    """One reading of the cluster; `error` says why it could not be read (then no nodes)."""

    address: str
    reachable: bool
    error: str | None = None
    nodes: list[RayNode] = field(default_factory=list)
    read_at: float = field(default_factory=time.time)

    @property
    def cpus(self) -> int:
        return int(sum(n.cpus for n in self.nodes))

    @property
    def gpus(self) -> int:
        return int(sum(n.gpus for n in self.nodes))

    def describe(self) -> str:
        return (
            f"the Ray cluster at {self.address} has {len(self.nodes)} node(s), "
            f"{self.cpus} CPU(s) and {self.gpus} GPU(s)"
        )


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def read_cluster(address: str, token: str | None = None) -> ClusterView:
    """The live nodes of the cluster at `address` (http://HOST:8265), never raising."""
    url = f"{address.rstrip('/')}/api/v0/nodes"
    try:
        response = httpx.get(
            url,
            params={"limit": 10_000, "detail": "false"},
            headers=auth_headers(token),
            timeout=READ_TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        return ClusterView(address, False, f"Ray is unreachable at {address}: {exc}")
    if response.status_code != 200:
        return ClusterView(
            address,
            False,
            f"Ray at {address} answered {response.status_code}: {response.text[:200]}",
        )
    try:
        rows: list[dict[str, Any]] = response.json()["data"]["result"]["result"]
        nodes = [
            RayNode(
                node_id=str(row["node_id"]),
                ip=str(row.get("node_ip", "")),
                head=bool(row.get("is_head_node")),
                cpus=float((row.get("resources_total") or {}).get("CPU", 0)),
                gpus=float((row.get("resources_total") or {}).get("GPU", 0)),
            )
            for row in rows
            if row.get("state") == "ALIVE"
        ]
    except (ValueError, KeyError, TypeError) as exc:
        return ClusterView(address, False, f"Ray at {address} sent an unreadable node list: {exc}")
    return ClusterView(address, True, None, nodes)


def ray_backend(settings: Settings, resources: Resources) -> RayBackend:
    """The Ray backend of these settings; `resources` are sized by the cluster once read."""
    from runyard.runner.ray import RayBackend

    resources.ahead = QUEUE_AHEAD
    resources.resize(0, 0)
    resources.known = False
    resources.where = f"the Ray cluster at {settings.ray_address} (not read yet)"
    token = settings.ray_token.get_secret_value() if settings.ray_token else None
    return RayBackend(settings.ray_address, token, shared_runs=settings.shared_runs)
