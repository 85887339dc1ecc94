"""Benchmark the data set builder: normalise+write speed, and memory against image count.

    python benchmarks/bench_dataset.py           # 1-2 minutes on a 2-core machine
    python benchmarks/bench_dataset.py --quick   # well under a minute

1. Images per second for normalise (decode a JPEG, crop to a square, resize) plus
   write (TFRecords: all pyramid levels; zip: one PNG), at 256 and 1024, on generated
   JPEGs somewhat larger than the output.  Median of several runs.
2. Peak memory while writing N vs 10 N generated images (streamed from a generator)
   at a small resolution: Python's tracemalloc peak and the growth of the resident
   set size (peak RSS during the writing minus RSS before it, in a fresh process per
   case; Linux only, "n/a" elsewhere).
   Streaming means both stay flat as N grows; holding the images would not.
No network access; everything is written to a temporary folder.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

from toonemo_lib.datasets.images import normalize_image
from toonemo_lib.datasets.tfrecords import write_tfrecords, write_zip
from toonemo_lib.cpu import describe_cpu

SOURCE_SIZE = {256: (320, 400), 1024: (1152, 1280)}   # (height, width) of the generated JPEGs


def photo_like(seed: int, height: int, width: int) -> np.ndarray:
    """Smooth colour blobs plus grain: compresses and resizes like a photo, unlike pure noise."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (height, width, 3))
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def make_sources(folder: Path, count: int, resolution: int) -> list[Path]:
    height, width = SOURCE_SIZE[resolution]
    paths = []
    for i in range(count):
        path = folder / f"src{resolution}_{i:03d}.jpg"
        cv2.imwrite(str(path), photo_like(i, height, width), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def images_per_second(paths, resolution, fmt, out: Path, runs: int) -> float:
    """Median throughput of normalise + write over `runs` runs."""
    rates = []
    for run in range(runs):
        images = (normalize_image(p, resolution) for p in paths)
        start = time.perf_counter()
        if fmt == "tfrecords":
            write_tfrecords(images, out / f"tf{resolution}_{run}", name="bench")
        else:
            write_zip(images, out / f"z{resolution}_{run}.zip")
        rates.append(len(paths) / (time.perf_counter() - start))
    return statistics.median(rates)


def proc_status_kib(field: str) -> int | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in KiB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM), so the import of TensorFlow does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_child(count: int, resolution: int, fmt: str) -> None:
    """Run in a fresh process: write `count` images, print the peaks as JSON."""
    images = (photo_like(i % 50, resolution, resolution) for i in range(count))
    with tempfile.TemporaryDirectory() as tmp:
        before = proc_status_kib("VmRSS")
        can_reset = reset_peak_rss()
        tracemalloc.start()
        if fmt == "tfrecords":
            write_tfrecords(images, Path(tmp), name="bench")
        else:
            write_zip(images, Path(tmp) / "bench.zip")
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peak = proc_status_kib("VmHWM") if can_reset else None
    growth = peak - before if peak is not None and before is not None else None
    print(json.dumps({"traced_peak": traced_peak, "rss_growth_kib": growth}))


def measure_memory(count: int, resolution: int, fmt: str) -> dict:
    command = [sys.executable, __file__, "--memory-child", str(count), str(resolution), fmt]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and runs")
    parser.add_argument("--memory-child", nargs=3, metavar=("COUNT", "RES", "FMT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(describe_cpu(), flush=True)
    if args.memory_child:
        count, resolution, fmt = args.memory_child
        memory_child(int(count), int(resolution), fmt)
        return

    counts = {256: 12, 1024: 4} if args.quick else {256: 40, 1024: 10}
    runs = 3 if args.quick else 5
    small_counts = (100, 1000) if args.quick else (200, 2000)
    small_res = 64

    print(f"normalise + write, images/s (median of {runs} runs; sources: JPEG {SOURCE_SIZE})")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for resolution, count in counts.items():
            paths = make_sources(tmp, count, resolution)
            for fmt in ("tfrecords", "zip"):
                rate = images_per_second(paths, resolution, fmt, tmp, runs)
                print(f"  {resolution:>4} x {resolution:<4} {fmt:<9} {count:>3} images: {rate:7.1f} images/s")

    print(f"\npeak memory while writing {small_res} x {small_res} images "
          f"(held in memory they would take {small_counts[0] * small_res**2 * 3 / 2**20:.1f} / "
          f"{small_counts[1] * small_res**2 * 3 / 2**20:.1f} MiB)")
    for fmt in ("tfrecords", "zip"):
        for count in small_counts:
            m = measure_memory(count, small_res, fmt)
            rss = f"{m['rss_growth_kib'] / 1024:6.1f} MiB" if m["rss_growth_kib"] is not None else "n/a"
            print(f"  {fmt:<9} {count:>5} images: tracemalloc peak {m['traced_peak'] / 2**20:6.2f} MiB, "
                  f"RSS growth {rss}")


if __name__ == "__main__":
    main()
