"""The fuzzing figures of the test run, kept in benchmarks/results/fuzz.json (one entry per harness)."""
from __future__ import annotations

import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "fuzz.json"


def record(harness: str, figures: dict) -> None:
    try:
        data = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        data = {}
    data[harness] = dict(figures, when=time.strftime("%Y-%m-%d %H:%M:%S"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
