"""Benchmark of the blob stores against raw baselines measured in the same run.

For each backend, put and get of one random file (256 MiB by default):

- ``s3``: ``S3BlobStore.put`` / ``open`` against the ``minio`` SDK's own
  ``fput_object`` / ``fget_object`` with its default settings, on the same
  SeaweedFS server and bucket (started here with ``tests.s3server``, or the
  server given with ``--s3-url``).
- ``local``: ``LocalBlobStore.put`` against a plain file copy
  (``shutil.copyfile``) followed by ``fsync`` of the copy, and
  ``LocalBlobStore.open`` against a plain ``shutil.copyfile`` of a blob. Why
  the put baseline fsyncs: see docs/storage.md ("Benchmark").

Every get writes what it reads to a new file, like a download would; in a
round both sides read the same blob, written (untimed) at its start. Timings run
in this process, one backend after the other. After one untimed warm-up
round, each round runs every operation eight times in ABBA BAAB order (roles
swapped in alternate rounds) and keeps each side's median of four; the ratios
are the median over rounds of the storage side over that of the baseline side.
``os.sync()`` runs before every measurement, outside the timings.
``peak_rss_mib`` is the peak RSS (``VmHWM``) of a separate process that
streams the file once through each backend and does nothing else.

The last line is exactly::

    storage_bench s3_put_ratio=X s3_get_ratio=Y local_put_ratio=Z local_get_ratio=W peak_rss_mib=N
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path and this
# very file would shadow the ``storage`` package: put the repository first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

MiB = 1024 * 1024
OPS = ("s3_put", "s3_get", "local_put", "local_get")


# -- workers ---------------------------------------------------------------------


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StorageSide:
    """Runs the operations through ``storage``."""

    def __init__(self, config: dict[str, Any]) -> None:
        from storage import LocalBlobStore, S3BlobStore, open_store

        self.source = Path(config["source"])
        self.out = Path(config["out"])
        self.s3 = open_store(config["s3_url"])
        if isinstance(self.s3, S3BlobStore):
            self.s3.check()  # creates the bucket, before the baseline needs it
        self.local = LocalBlobStore(config["local_root"])
        self.keys: dict[str, list[str]] = {"s3": [], "local": []}

    def s3_put(self, run: int) -> None:
        key = f"bench/storage-{run}-{uuid.uuid4().hex}"
        self.keys["s3"].append(key)
        with self.source.open("rb") as f:
            self.s3.put(key, f)

    def s3_get(self, run: int) -> None:
        with self.s3.open(self.keys["s3"][0]) as reader, self._output("s3-get").open("wb") as out:
            for chunk in reader:
                out.write(chunk)

    def local_put(self, run: int) -> None:
        key = f"bench/storage-{run}-{uuid.uuid4().hex}"
        self.keys["local"].append(key)
        with self.source.open("rb") as f:
            self.local.put(key, f)

    def local_get(self, run: int) -> None:
        with (
            self.local.open(self.keys["local"][0]) as reader,
            self._output("local-get").open("wb") as out,
        ):
            for chunk in reader:
                out.write(chunk)

    def _output(self, name: str) -> Path:
        return self.out / f"{name}-{uuid.uuid4().hex}"

    def outputs(self) -> list[Path]:
        return sorted(p for p in self.out.iterdir() if not p.name.endswith(".part.minio"))

    def cleanup(self, backend: str) -> None:
        store = self.s3 if backend == "s3" else self.local
        for key in self.keys[backend]:
            store.delete(key)
        self.keys[backend] = []

    def close(self) -> None:
        self.s3.close()


class BaselineSide:
    """Runs the same operations without ``storage``: the SDK, plain copies."""

    def __init__(self, config: dict[str, Any]) -> None:
        from minio import Minio

        self.source = Path(config["source"])
        self.out = Path(config["out"])
        self.root = Path(config["local_root"])
        self.root.mkdir(parents=True, exist_ok=True)
        s3 = config["s3"]
        # The SDK with its own defaults: its own HTTP pool, part size, threads.
        self.client = Minio(
            s3["endpoint"],
            access_key=s3["access_key"],
            secret_key=s3["secret_key"],
            secure=s3["secure"],
            region=s3["region"],
        )
        self.bucket = s3["bucket"]
        self.keys: dict[str, list[str]] = {"s3": [], "local": [], "nofsync": []}
        #: what the gets read: the very blob the storage side's gets read
        self.read_from: dict[str, str] = {}

    def s3_put(self, run: int) -> None:
        key = f"bench/baseline-{run}-{uuid.uuid4().hex}"
        self.keys["s3"].append(key)
        self.client.fput_object(self.bucket, key, str(self.source))

    def s3_get(self, run: int) -> None:
        self.client.fget_object(self.bucket, self.read_from["s3"], str(self._output("s3-get")))

    def local_put(self, run: int) -> None:
        target = self.root / f"baseline-{run}-{uuid.uuid4().hex}"
        self.keys["local"].append(str(target))
        shutil.copyfile(self.source, target)
        _fsync_path(target)

    def local_put_nofsync(self, run: int) -> None:
        target = self.root / f"nofsync-{run}-{uuid.uuid4().hex}"
        self.keys["nofsync"].append(str(target))
        shutil.copyfile(self.source, target)

    def local_get(self, run: int) -> None:
        shutil.copyfile(self.read_from["local"], self._output("local-get"))

    def _output(self, name: str) -> Path:
        return self.out / f"{name}-{uuid.uuid4().hex}"

    def outputs(self) -> list[Path]:
        return sorted(p for p in self.out.iterdir() if not p.name.endswith(".part.minio"))

    def cleanup(self, backend: str) -> None:
        if backend == "s3":
            for key in self.keys["s3"]:
                self.client.remove_object(self.bucket, key)
            self.keys["s3"] = []
        else:
            for name in self.keys["local"] + self.keys["nofsync"]:
                Path(name).unlink()
            self.keys["local"], self.keys["nofsync"] = [], []

    def close(self) -> None:
        self.client._http.clear()


def timed(side: StorageSide | BaselineSide, op: str, run: int, digest: str | None) -> float:
    """Time one operation; outside the timing, check and delete what a get wrote."""
    # Start from no dirty page left by earlier steps (either side's or
    # SeaweedFS's): their writeback must not be billed to whoever comes next.
    os.sync()
    started = time.perf_counter()
    getattr(side, op)(run)
    seconds = time.perf_counter() - started
    for path in side.outputs():
        if path.exists():
            if digest is not None and _sha256(path) != digest:
                raise SystemExit(f"bench: {type(side).__name__}.{op} returned wrong bytes")
            path.unlink()
    return seconds


def peak_rss_mib() -> float:
    """This process's peak resident set size, in MiB.

    ``VmHWM`` belongs to the process's own address space. ``ru_maxrss`` is
    not used: Linux carries it across ``execve``, so a child started by a
    big parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_worker() -> None:
    """Stream the file once through each backend; print this process's peak RSS."""
    config = json.loads(sys.stdin.readline())
    side = StorageSide(config)
    try:
        for op in OPS:
            timed(side, op, 0, None)
        side.cleanup("s3")
        side.cleanup("local")
    finally:
        side.close()
    print(peak_rss_mib())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def measure_peak_rss(config: dict[str, Any]) -> float:
    """Peak RSS (MiB) of a fresh process that runs only the storage backends."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", "rss"],
        input=json.dumps(config) + "\n",
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=REPO,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"bench: the RSS worker failed:\n{result.stderr}")
    return float(result.stdout.strip().splitlines()[-1])


def make_source(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(MiB, left))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def s3_settings(url: str) -> dict[str, Any]:
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    secure = query.get("secure", ["true"])[0].lower() in {"1", "true", "yes", "on"}
    return {
        "endpoint": parts.netloc.rpartition("@")[2],
        "access_key": unquote(parts.username or ""),
        "secret_key": unquote(parts.password or ""),
        "bucket": parts.path.strip("/"),
        "secure": secure,
        "region": query.get("region", [None])[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per operation")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    parser.add_argument("--s3-url", default=os.environ.get("VAULT_BENCH_S3_URL"))
    parser.add_argument("--worker", choices=["rss"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        rss_worker()
        return

    scratch = Path(tempfile.mkdtemp(prefix="vault-bench-", dir=args.dir))
    server = None
    closing: list[StorageSide | BaselineSide] = []
    try:
        if args.s3_url:
            s3_url = args.s3_url
        else:
            from tests.s3server import SeaweedFS, fresh_bucket

            # Room for every run's objects: deleted space is reclaimed only
            # by SeaweedFS's periodic vacuum.
            server = SeaweedFS(volume_max=256, volume_size_mb=256)
            server.start()
            s3_url = server.url(fresh_bucket())
        size = args.size_mib * MiB
        source = scratch / "source.bin"
        source_digest = make_source(source, size)
        common = {"source": str(source), "s3_url": s3_url, "s3": s3_settings(s3_url)}
        sides: dict[str, StorageSide | BaselineSide] = {}
        for name in ("storage", "baseline"):
            out = scratch / f"{name}-out"
            out.mkdir()
            config = dict(common, out=str(out), local_root=str(scratch / f"{name}-local"))
            # storage first: its check() creates the bucket the baseline uses
            sides[name] = StorageSide(config) if name == "storage" else BaselineSide(config)
        closing.extend(sides.values())
        baseline = sides["baseline"]
        assert isinstance(baseline, BaselineSide)

        times: dict[str, dict[str, list[float]]] = {"storage": {}, "baseline": {}}
        baseline_nofsync: list[float] = []
        # One backend after the other: the S3 phase leaves SeaweedFS (and the
        # sandbox's memory) busy for a while, which slowed whichever local
        # operation came next when the two backends were interleaved.
        for backend in ("local", "s3"):
            ops = [f"{backend}_put", f"{backend}_get"]
            for run in range(args.runs + 1):  # run 0 is the warm-up
                first, second = ("storage", "baseline") if run % 2 else ("baseline", "storage")
                # The warm-up round also checks that every path moved the whole file.
                verify = source_digest if run == 0 else None
                # Untimed: the one blob that both sides' gets read this round,
                # so that no difference between two blobs (their age, where
                # SeaweedFS or the file system placed them) favours a side.
                storage_side = sides["storage"]
                assert isinstance(storage_side, StorageSide)
                getattr(storage_side, f"{backend}_put")(run)
                blob = storage_side.keys[backend][0]
                baseline.read_from[backend] = (
                    blob if backend == "s3" else str(storage_side.local.root / blob)
                )
                for op in ops:
                    # ABBA BAAB: the two halves mirror each other, so neither
                    # side is favoured by "whoever comes first (or right after
                    # a put...) is slower" effects. Each side keeps the median
                    # of its four: the first read of a freshly written object
                    # is about 4x slower on SeaweedFS here, and a mean would
                    # bill that to whichever side read first.
                    pair: dict[str, list[float]] = {"storage": [], "baseline": []}
                    a, b = first, second
                    for name in (a, b, b, a, b, a, a, b):
                        pair[name].append(timed(sides[name], op, run, verify))
                    if run:
                        for name, values in pair.items():
                            times[name].setdefault(op, []).append(statistics.median(values))
                if backend == "local":
                    nofsync = timed(baseline, "local_put_nofsync", run, None)
                    if run:
                        baseline_nofsync.append(nofsync)
                for side in sides.values():
                    side.cleanup(backend)
                if run:
                    print(
                        f"{backend} run {run}: "
                        + " ".join(
                            f"{op} {times['storage'][op][-1]:.3f}s"
                            f" vs {times['baseline'][op][-1]:.3f}s"
                            for op in ops
                        ),
                        flush=True,
                    )

        rss_out = scratch / "rss-out"
        rss_out.mkdir()
        peak = measure_peak_rss(
            dict(common, out=str(rss_out), local_root=str(scratch / "rss-local"))
        )
        ratios = {}
        for op in OPS:
            ours = statistics.median(times["storage"][op])
            raw = statistics.median(times["baseline"][op])
            ratios[op] = ours / raw
            print(
                f"{op}: storage median {ours:.3f}s, baseline median {raw:.3f}s, "
                f"{size / MiB / ours:.0f} MiB/s vs {size / MiB / raw:.0f} MiB/s, "
                f"ratio {ratios[op]:.3f}"
            )
        nofsync_median = statistics.median(baseline_nofsync)
        print(
            f"for information: local put vs a copy without fsync ({nofsync_median:.3f}s): "
            f"ratio {statistics.median(times['storage']['local_put']) / nofsync_median:.3f}"
        )
        print(
            f"size {args.size_mib} MiB, {args.runs} runs; peak RSS of a process streaming "
            f"the file through both backends: {peak:.0f} MiB"
        )
        print(
            f"storage_bench s3_put_ratio={ratios['s3_put']:.3f} "
            f"s3_get_ratio={ratios['s3_get']:.3f} "
            f"local_put_ratio={ratios['local_put']:.3f} "
            f"local_get_ratio={ratios['local_get']:.3f} "
            f"peak_rss_mib={peak:.0f}"
        )
    finally:
        for side in closing:
            side.close()
        if server is not None:
            server.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
