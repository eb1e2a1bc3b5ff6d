"""Bench: our FCS reader against numpy's raw frombuffer (the floor) and against flowio (Q-2.2).

Two files are written in a temporary directory with the test writer:
  (a) --float-events (default 2,000,000) x --channels (16) float32, little-endian: 128 MB, so the HEADER
      DATA offsets are 0 and the reader takes them from TEXT, as real large files do;
  (b) --int-events (default 1,000,000) x --channels 16-bit integers with $PnR 1024 (masked to 10 bits).

For each file the bench times (best of --repeats):
  * floor: read the file bytes + ``np.frombuffer`` of the DATA segment at known offsets (native), and
    the same + ``astype(float64)`` (+ the mask for the integer file) for the float64 comparison;
  * ours: ``read_fcs(path, dtype="native")`` and ``read_fcs(path)`` (float64); both include the
    SHA-256 of the whole file (ALCOA), timed on its own as well to show its share;
  * flowio: ``FlowData(path).as_array(preprocess=False)``.
The SHA-256 is part of every read (ALCOA raw-file hash); flowio computes none. flowio's float path is a
C-level ``array.fromfile``, so against float32 files no reader can be much faster than it: expect the
flowio target to be met on masked integers and not on float32 (see the printed floor for the bound).
It prints events/s, the ratios floor/ours (target >= 0.3) and ours/flowio speed-up (target >= 3), and
the peak memory traced by tracemalloc for one read of each. flowio is a bench-only dependency, imported
only inside the function that uses it.

Run: .venv/bin/python bench/bench_fcs.py [--float-events N] [--int-events N] [--channels N] [--repeats N]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cellchain.instruments.fcs import read_fcs
from cellchain.instruments.tests.fcs_writer import FcsSpec, build_dataset

FLOOR_TARGET = 0.3
FLOWIO_TARGET = 3.0


def best_of(repeats: int, run: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def peak_mib(run: Callable[[], object]) -> float:
    tracemalloc.start()
    result = run()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / 2**20


def write_file(directory: Path, name: str, spec: FcsSpec) -> tuple[Path, int, int]:
    path = directory / name
    path.write_bytes(build_dataset(spec))
    dataset = read_fcs(path, dtype="native").first
    return path, dataset.data_offsets[0], dataset.event_count


def floor_reader(path: Path, start: int, count: int, dtype: str, mask: int | None, to_float: bool):
    def run() -> np.ndarray:
        raw = path.read_bytes()
        values = np.frombuffer(raw, dtype=dtype, count=count, offset=start)
        if mask is not None:
            values = values & values.dtype.type(mask)
        return values.astype(np.float64) if to_float else values

    return run


def flowio_reader(path: Path) -> Callable[[], np.ndarray]:
    import flowio  # bench-only peer, never imported by the product

    def run() -> np.ndarray:
        return flowio.FlowData(str(path)).as_array(preprocess=False)

    return run


def bench_file(
    label: str, path: Path, start: int, events: int, channels: int, dtype: str, mask: int | None, repeats: int
) -> dict[str, float]:
    count = events * channels
    size_mb = path.stat().st_size / 1e6
    print(f"\n{label}: {events:,} events x {channels} channels, {size_mb:.0f} MB")
    timings = {
        "floor native": best_of(repeats, floor_reader(path, start, count, dtype, mask, False)),
        "ours native": best_of(repeats, lambda: read_fcs(path, dtype="native")),
        "floor float64": best_of(repeats, floor_reader(path, start, count, dtype, mask, True)),
        "ours float64": best_of(repeats, lambda: read_fcs(path)),
        "sha256 alone": best_of(repeats, lambda: hashlib.sha256(path.read_bytes()).hexdigest()),
        "flowio": best_of(repeats, flowio_reader(path)),
    }
    for name, seconds in timings.items():
        print(f"  {name:14s} {seconds * 1e3:9.1f} ms  {events / seconds / 1e6:8.2f} M events/s")
    ratios = {
        "floor/ours native": timings["floor native"] / timings["ours native"],
        "floor/ours float64": timings["floor float64"] / timings["ours float64"],
        "flowio/ours float64": timings["flowio"] / timings["ours float64"],
    }
    print(f"  ratio floor/ours (native)  {ratios['floor/ours native']:.2f}  (target >= {FLOOR_TARGET})")
    print(f"  ratio floor/ours (float64) {ratios['floor/ours float64']:.2f}  (target >= {FLOOR_TARGET})")
    print(f"  speed-up over flowio       {ratios['flowio/ours float64']:.1f}x (target >= {FLOWIO_TARGET}x)")
    print(
        f"  peak traced memory: ours float64 {peak_mib(lambda: read_fcs(path)):.0f} MiB, "
        f"ours native {peak_mib(lambda: read_fcs(path, dtype='native')):.0f} MiB, "
        f"flowio {peak_mib(flowio_reader(path)):.0f} MiB (file {size_mb:.0f} MB)"
    )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--float-events", type=int, default=2_000_000)
    parser.add_argument("--int-events", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    names = [f"FL{i}-A" for i in range(args.channels - 1)] + ["Time"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        floats = rng.uniform(0, 262144, (args.float_events, args.channels)).astype(np.float32)
        path, start, events = write_file(Path(directory), "float32.fcs", FcsSpec(events=floats, names=names))
        del floats
        bench_file("float32 little-endian", path, start, events, args.channels, "<f4", None, args.repeats)
        path.unlink()
        ints = rng.integers(0, 65536, (args.int_events, args.channels), dtype=np.uint16)
        spec = FcsSpec(
            events=ints, names=names, datatype="I", bits=[16] * args.channels, ranges=[1024] * args.channels
        )
        path, start, events = write_file(Path(directory), "int16_masked.fcs", spec)
        del ints, spec
        bench_file(
            "uint16 with $PnR 1024 (masked)", path, start, events, args.channels, "<u2", 1023, args.repeats
        )
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
