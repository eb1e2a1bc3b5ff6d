"""Bench: cold-chain analysis of a logger CSV against reading the same CSV with polars alone (issue 6).

Writes a logger export of --rows readings (default 10^6, one a minute, LN2 dry shipper, local times in
Asia/Shanghai, one excursion and one disconnected-probe 999), then measures, best of --repeat runs:

  ours      read_logger_csv (cellchain/instruments/loggers.py) + analyse_cold_chain (domain)
  baseline  polars.read_csv of the same file alone (strings and floats, no date parsing, multithreaded)

and prints absolute times, the ratio ours / baseline (target <= 2), and for context polars with date
parsing. polars is a bench-only peer: it is imported only here, inside the function that uses it.

Run: .venv/bin/python bench/bench_coldchain.py [--rows N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from cellchain.domain.coldchain import DEFAULT_LIMITS, ColdChainSpec, ShipperKind, analyse_cold_chain
from cellchain.instruments.loggers import LoggerCsvFormat, TemperatureUnit, read_logger_csv

TARGET_RATIO = 2.0
START = datetime(2026, 3, 1, 8, 0)  # local Asia/Shanghai time, as the logger writes it


def write_export(path: Path, rows: int) -> None:
    """A generic-format export: metadata lines, header, one reading a minute, local times."""
    rng = np.random.default_rng(6)
    celsius = np.round(-185.0 + rng.normal(0, 0.8, rows), 1)
    celsius[rows // 2 : rows // 2 + 15] = -141.3  # excursion above -150 °C
    celsius[rows // 3] = 999.0  # disconnected probe
    base = np.datetime64(START.isoformat(), "s")
    stamps = np.datetime_as_string(base + np.arange(rows).astype("timedelta64[m]"), unit="s")
    lines = np.char.add(np.char.add(stamps, ","), celsius.astype("U8"))
    head = "# logger: TL-BENCH\n# timezone: Asia/Shanghai\n# unit: C\n# interval_s: 60\ntime,temperature\n"
    path.write_text(head + "\n".join(lines.tolist()) + "\n", encoding="utf-8")


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def ours(path: Path, rows: int) -> object:
    logger = read_logger_csv(path, LoggerCsvFormat(unit=TemperatureUnit.CELSIUS))
    dispatched = (START - timedelta(hours=8)).replace(tzinfo=UTC)
    spec = ColdChainSpec(
        DEFAULT_LIMITS[ShipperKind.LN2_DRY_SHIPPER], interval_s=60.0, transit_limit_s=rows * 60.0
    )
    return analyse_cold_chain(
        logger.trace, spec, dispatched_at=dispatched, arrived_at=dispatched + timedelta(minutes=rows - 1)
    )


def polars_read(path: Path, parse_dates: bool) -> object:
    import polars as pl  # bench-only peer

    return pl.read_csv(path, comment_prefix="#", try_parse_dates=parse_dates)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_COLDCHAIN_ROWS", 1_000_000)))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "logger.csv"
        write_export(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        polars_read(path, False)  # start polars' thread pool outside the timing
        base_s, frame = best_of(args.repeat, lambda: polars_read(path, False))
        dates_s, _ = best_of(args.repeat, lambda: polars_read(path, True))
        ours_s, verdict = best_of(args.repeat, lambda: ours(path, args.rows))
    assert getattr(frame, "height", None) == args.rows
    findings = sorted({f.kind.value for f in verdict.findings})  # type: ignore[attr-defined]
    print(f"cold-chain bench: {args.rows:,} readings, {size_mb:.1f} MB CSV, best of {args.repeat}")
    print(
        f"  ours: read_logger_csv + analyse_cold_chain  {ours_s * 1000:8.1f} ms  findings: {', '.join(findings)}"
    )
    print(f"  baseline: polars.read_csv (no date parsing) {base_s * 1000:8.1f} ms")
    print(f"  context: polars.read_csv (dates parsed)     {dates_s * 1000:8.1f} ms")
    ratio = ours_s / base_s
    verdict_word = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"  ratio ours / baseline = {ratio:.2f} ({verdict_word} the target <= {TARGET_RATIO:g})")


if __name__ == "__main__":
    main()
