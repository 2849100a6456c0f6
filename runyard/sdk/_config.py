"""`run.config`: the run's params as a dict, as `wandb.config` is.

Reads come from what this process set (through `init(config=…)` or here); every write is sent
to the server as a params merge, like `run.log_params`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any


class Config(MutableMapping[str, Any]):
    def __init__(self, initial: Mapping[str, Any] | None, send: Callable[[dict[str, Any]], None]):
        self._data: dict[str, Any] = dict(initial or {})
        self._send = send

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError("a run's config keeps its keys; set a new value instead")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:  # config.lr, as wandb allows
        try:
            return self.__dict__["_data"][key]
        except KeyError:
            raise AttributeError(key) from None

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several keys at once: one message to the server."""
        changes = dict(*args, **kwargs)
        for key in changes:
            if type(key) is not str or not key:
                raise TypeError(f"config keys are non-empty strings, not {key!r}")
        self._data.update(changes)
        if changes:
            self._send(changes)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"
