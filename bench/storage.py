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

Every get writes what it reads to a new file, like a download would. The
two sides run in two separate worker processes, so that ``peak_rss_mib`` is
the peak resident memory of the process that ran only the storage backends;
after one untimed warm-up round, each round runs every operation in ABBA
order (storage, baseline, baseline, storage, or the reverse in alternate
rounds) and keeps each side's mean; the ratios are medians over rounds of the
storage side over medians of the baseline side. ``os.sync()`` runs before
every measurement, outside the timings.

The last line is exactly::

    storage_bench s3_put_ratio=X s3_get_ratio=Y local_put_ratio=Z local_get_ratio=W peak_rss_mib=N
"""

from __future__ import annotations

import argparse
import contextlib
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
        with self.s3.open(self.keys["s3"][-1]) as reader, (self.out / "s3-get").open("wb") as out:
            for chunk in reader:
                out.write(chunk)

    def local_put(self, run: int) -> None:
        key = f"bench/storage-{run}-{uuid.uuid4().hex}"
        self.keys["local"].append(key)
        with self.source.open("rb") as f:
            self.local.put(key, f)

    def local_get(self, run: int) -> None:
        with (
            self.local.open(self.keys["local"][-1]) as reader,
            (self.out / "local-get").open("wb") as out,
        ):
            for chunk in reader:
                out.write(chunk)

    def outputs(self) -> list[Path]:
        return [self.out / "s3-get", self.out / "local-get"]

    def cleanup(self) -> None:
        for key in self.keys["s3"]:
            self.s3.delete(key)
        for key in self.keys["local"]:
            self.local.delete(key)
        self.keys = {"s3": [], "local": []}
        for path in self.outputs():
            path.unlink(missing_ok=True)

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

    def s3_put(self, run: int) -> None:
        key = f"bench/baseline-{run}-{uuid.uuid4().hex}"
        self.keys["s3"].append(key)
        self.client.fput_object(self.bucket, key, str(self.source))

    def s3_get(self, run: int) -> None:
        self.client.fget_object(self.bucket, self.keys["s3"][-1], str(self.out / "s3-get"))

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
        shutil.copyfile(self.keys["local"][-1], self.out / "local-get")

    def outputs(self) -> list[Path]:
        return [self.out / "s3-get", self.out / "local-get"]

    def cleanup(self) -> None:
        for key in self.keys["s3"]:
            self.client.remove_object(self.bucket, key)
        for name in self.keys["local"] + self.keys["nofsync"]:
            Path(name).unlink()
        self.keys = {"s3": [], "local": [], "nofsync": []}
        for path in self.outputs():
            path.unlink(missing_ok=True)

    def close(self) -> None:
        self.client._http.clear()


def worker(side_name: str) -> None:
    """Serve timing requests, one JSON object per line on stdin and stdout."""
    config = json.loads(sys.stdin.readline())
    side: StorageSide | BaselineSide = (
        StorageSide(config) if side_name == "storage" else BaselineSide(config)
    )

    def reply(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    reply({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        command = request["command"]
        try:
            if command == "time":
                started = time.perf_counter()
                getattr(side, request["op"])(request["run"])
                answer: dict[str, Any] = {"seconds": time.perf_counter() - started}
                # Outside the timing: check what a get wrote, then delete it
                # at once, so that its dirty pages never slow the next step.
                for path in side.outputs():
                    if path.exists():
                        if request.get("verify"):
                            answer["digest"] = _sha256(path)
                        path.unlink()
                reply(answer)
            elif command == "cleanup":
                side.cleanup()
                reply({"ok": True})
            elif command == "rss":
                # ru_maxrss is in KiB on Linux: the peak of this process's life.
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                reply({"peak_rss_mib": peak})
            elif command == "exit":
                side.close()
                reply({"ok": True})
                return
        except Exception as e:  # report to the parent, which stops the run
            reply({"error": f"{type(e).__name__}: {e}"})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


# -- parent ----------------------------------------------------------------------


class Worker:
    def __init__(self, side: str, config: dict[str, Any]) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.side = side
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.send(config)

    def send(self, value: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(value) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"bench: the {self.side} worker died")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"bench: {self.side} worker failed: {answer['error']}")
        return answer

    def time(self, op: str, run: int, expected_digest: str | None = None) -> float:
        # Start every measurement with no dirty page left by earlier steps
        # (ours, the other side's or SeaweedFS's): writeback of someone
        # else's data must not be billed to whichever side comes next.
        os.sync()
        answer = self.send(
            {"command": "time", "op": op, "run": run, "verify": expected_digest is not None}
        )
        if expected_digest is not None and answer.get("digest", expected_digest) != expected_digest:
            raise SystemExit(f"bench: {self.side} {op} returned wrong bytes")
        return float(answer["seconds"])

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(SystemExit):
                self.send({"command": "exit"})
        if self.process.stdin:
            self.process.stdin.close()
        if self.process.stdout:
            self.process.stdout.close()
        self.process.wait(30)


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
    parser.add_argument("--worker", choices=["storage", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return

    scratch = Path(tempfile.mkdtemp(prefix="vault-bench-", dir=args.dir))
    server = None
    workers: list[Worker] = []
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
        sides = {}
        for name in ("storage", "baseline"):
            out = scratch / f"{name}-out"
            out.mkdir()
            config = dict(common, out=str(out), local_root=str(scratch / f"{name}-local"))
            sides[name] = Worker(name, config)
            workers.append(sides[name])
        storage, baseline = sides["storage"], sides["baseline"]

        times: dict[str, dict[str, list[float]]] = {"storage": {}, "baseline": {}}
        baseline_nofsync: list[float] = []
        for run in range(args.runs + 1):  # run 0 is the warm-up
            first, second = (storage, baseline) if run % 2 else (baseline, storage)
            # The warm-up round also checks that every path moved the whole file.
            verify = source_digest if run == 0 else None
            for op in OPS:
                # ABBA: each side runs in both positions in every round and
                # counts the mean of the two, which cancels "whoever goes
                # first (or second) is slower" effects of the machine.
                pair: dict[str, list[float]] = {"storage": [], "baseline": []}
                for side in (first, second, second, first):
                    pair[side.side].append(side.time(op, run, verify))
                if run:
                    for name, values in pair.items():
                        times[name].setdefault(op, []).append(statistics.fmean(values))
            nofsync = baseline.time("local_put_nofsync", run)
            if run:
                baseline_nofsync.append(nofsync)
            for side in (storage, baseline):
                side.send({"command": "cleanup"})
            if run:
                print(
                    f"run {run}: "
                    + " ".join(
                        f"{op}={times['storage'][op][-1]:.3f}/{times['baseline'][op][-1]:.3f}s"
                        for op in OPS
                    ),
                    flush=True,
                )

        peak = storage.send({"command": "rss"})["peak_rss_mib"]
        baseline_peak = baseline.send({"command": "rss"})["peak_rss_mib"]
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
            f"size {args.size_mib} MiB, {args.runs} runs, baseline worker peak RSS "
            f"{baseline_peak:.0f} MiB, storage worker peak RSS {peak:.0f} MiB"
        )
        print(
            f"storage_bench s3_put_ratio={ratios['s3_put']:.3f} "
            f"s3_get_ratio={ratios['s3_get']:.3f} "
            f"local_put_ratio={ratios['local_put']:.3f} "
            f"local_get_ratio={ratios['local_get']:.3f} "
            f"peak_rss_mib={peak:.0f}"
        )
    finally:
        for w in workers:
            w.close()
        if server is not None:
            server.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
