"""``python -m modelwarden.demo``: not built yet, and says so rather than pretending."""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "modelwarden demo: not built yet — it arrives with progressive delivery (issue 7).\n"
        "Meanwhile `make test` exercises the API, drift engine and control plane.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
