"""Everything handlers share for the operator's lifetime: clients, recorder, per-slot locks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp

from modelwarden.k8s.kube import Kube
from modelwarden.k8s.observe import Observer
from modelwarden.k8s.realise import Realiser
from modelwarden.metrics.recorder import Recorder
from modelwarden.settings import OperatorSettings


@dataclass
class OperatorContext:
    settings: OperatorSettings
    kube: Kube
    http: aiohttp.ClientSession
    recorder: Recorder
    observer: Observer
    realiser: Realiser
    locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    def lock(self, namespace: str, name: str) -> asyncio.Lock:
        """One reconcile at a time per object: timers and change handlers never interleave."""
        return self.locks.setdefault((namespace, name), asyncio.Lock())

    async def close(self) -> None:
        await self.http.close()
        await self.kube.close()
