"""Schemathesis against a live ``odr-kg serve``: the OpenAPI description at /openapi.json,
at least 10,000 generated requests to /api/*, checked for server errors and for answers that
break the description. Run by hand: ``.venv/bin/python bench/fuzz.py [--examples 3500]``
(the examples are per operation and phase; three operations).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
from pathlib import Path

from lookup import free_port, wait_until_up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3500)
    parser.add_argument("--workers", default="4")
    args = parser.parse_args()
    scripts = Path(sysconfig.get_path("scripts"))
    port = free_port()
    server = subprocess.Popen(
        [str(scripts / "odr-kg"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, server)
        run = subprocess.run(
            [
                str(scripts / "schemathesis"), "run", f"http://127.0.0.1:{port}/openapi.json",
                "--checks", "not_a_server_error,content_type_conformance",
                "--max-examples", str(args.examples),
                "--workers", args.workers,
                "--phases", "examples,coverage,fuzzing",
                "--suppress-health-check", "all",
                "--request-timeout", "30",
            ],
            check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
