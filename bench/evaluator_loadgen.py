"""Load generator for bench/evaluator_bench.py, run as its own process on loopback only.

A minimal keep-alive HTTP/1.1 client on raw asyncio streams (with uvloop when present),
so the generator costs far less CPU per request than the servers it measures.

    evaluator_loadgen.py --port P --path /v2/models/fraud/infer --body-file F \\
        (--rate R | --closed) --connections C --seconds S

Fixed rate (open loop): each connection sends on its own schedule; latency is measured
from the scheduled send time, so queueing behind a slow server is counted (no
coordinated omission).  `--closed`: every connection sends its next request as soon as
the previous answer arrived (maximum throughput).  Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"
#: Hard cap on requests per run, whatever the rate and duration.
MAX_REQUESTS = 2_000_000


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes
) -> int:
    writer.write(message)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


@dataclass
class Shared:
    """What all connections of one run share: the request, the plan and the tallies."""

    port: int
    message: bytes
    interval: float | None
    deadline: float
    budget: int = MAX_REQUESTS
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


async def connection(shared: Shared, offset: float) -> None:
    reader, writer = await asyncio.open_connection(HOST, shared.port)
    clock = time.perf_counter
    scheduled = clock() + offset
    interval, deadline, message = shared.interval, shared.deadline, shared.message
    latencies, statuses = shared.latencies, shared.statuses
    try:
        while shared.budget > 0:
            if interval is not None:
                delay = scheduled - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                start = scheduled
                scheduled += interval
            else:
                start = clock()
            if start >= deadline:
                break
            shared.budget -= 1
            status = await exchange(reader, writer, message)
            latencies.append(clock() - start)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    body = Path(args.body_file).read_bytes()
    message = (
        f"POST {args.path} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    interval = None if args.closed else args.connections / args.rate
    started = time.perf_counter()
    shared = Shared(args.port, message, interval, started + args.seconds)
    tasks = [
        connection(shared, (index / args.connections) * (interval or 0.0))
        for index in range(args.connections)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.seconds + 30)
    elapsed = time.perf_counter() - started
    latencies, statuses = shared.latencies, shared.statuses
    values = np.asarray(latencies) * 1000.0
    quantiles = np.percentile(values, [50, 90, 99, 99.9]) if values.size else [0.0] * 4
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": round(float(quantiles[0]), 4),
        "p90_ms": round(float(quantiles[1]), 4),
        "p99_ms": round(float(quantiles[2]), 4),
        "p999_ms": round(float(quantiles[3]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--closed", action="store_true")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if importlib.util.find_spec("uvloop") is not None:
        asyncio.set_event_loop_policy(importlib.import_module("uvloop").EventLoopPolicy())
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
