"""The large schemathesis run: tests/test_api_fuzz.py with many examples per operation, tallied.

python bench/fuzz_api.py [--examples 150] [--record]

The test builds a bundle and an image bundle, starts the service (a real uvicorn process) and lets schemathesis
generate requests from the service's own OpenAPI schema; each must get no 5xx and, for every 4xx, a JSON body
with an error message. This script runs it with --examples per operation, then counts what was sent and
answered, per operation and status. Results go to docs/RELIABILITY.md with --record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from timing import record

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=150, help="generated cases per operation, at most")
    parser.add_argument("--record", action="store_true", help="append the results to docs/RELIABILITY.md")
    args = parser.parse_args(argv)
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as handle:
        log = Path(handle.name)
    env = {**os.environ, "RECSYS_FUZZ_EXAMPLES": str(args.examples), "RECSYS_FUZZ_LOG": str(log)}
    test = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_api_fuzz.py"]
    result = subprocess.run(test, cwd=REPO, env=env, capture_output=True, text=True)
    cases = [json.loads(line) for line in log.read_text().splitlines()]
    log.unlink()
    by_operation = Counter(case["operation"] for case in cases)
    statuses = Counter(case["status"] for case in cases)
    per_status = {op: Counter(c["status"] for c in cases if c["operation"] == op) for op in by_operation}
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    outcome = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else f"exit {result.returncode}"
    summary = (
        f"{len(cases):,} generated requests over {len(by_operation)} operations (at most {args.examples} per "
        f"operation; fewer where the schema admits fewer distinct cases); 5xx answers: {server_errors}; statuses: "
        f"{', '.join(f'{s}: {n:,}' for s, n in sorted(statuses.items()))}. pytest: {outcome}."
    )
    rows = [
        f"| `{op}` | {n:,} | {', '.join(f'{s}: {c}' for s, c in sorted(per_status[op].items()))} |"
        for op, n in sorted(by_operation.items())
    ]
    table = "\n".join(["| operation | requests | statuses |", "|---|---:|---|", *rows])
    print(summary, table, sep="\n")
    if result.returncode != 0:
        print(result.stdout[-5000:], result.stderr[-2000:], sep="\n")
    if args.record:
        record("API fuzzing (schemathesis)", f"python bench/fuzz_api.py {' '.join(argv)}", "",
               f"{summary}\n\n{table}", REPO / "docs" / "RELIABILITY.md")  # fmt: skip
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
