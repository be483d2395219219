"""``python -m modelwarden.demo`` (``make demo``): the whole story on a local control plane.

v1 serves steady traffic; a good v2 is rolled out by canary to 100 %; a broken v3 (errors,
shifted scores) is rolled back automatically; then an emergency halt and a resume. A live view
prints phases, weights and verdicts; the demo checks itself and exits 0 only when every stage
happened as expected, otherwise non-zero naming the stage that did not.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from localcluster.cluster import LocalCluster
from modelwarden.demo.story import StageFailed, Story

ROOT = Path(__file__).resolve().parents[3]


def main() -> int:
    state = ROOT / ".cluster" / "demo"
    print("modelwarden demo — starting a local control plane (first run builds it)…", flush=True)
    started = time.monotonic()
    cluster = LocalCluster(state, pod_cidr="127.25.0.0/16")
    try:
        cluster.start()
        print(f"control plane ready in {time.monotonic() - started:.0f}s; logs in {state}/logs")
        story = Story(cluster, ROOT / "manifests" / "demo", state / "logs" / "operator.log")
        try:
            story.run()
        except StageFailed as failed:
            print(f"\nDEMO FAILED at stage '{failed.stage}': {failed}", file=sys.stderr)
            print(story.summary(), file=sys.stderr)
            print(f"operator log: {story.operator.log_path}", file=sys.stderr)
            return 1
        finally:
            story.close()
        print(story.summary())
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
