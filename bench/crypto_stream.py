"""Benchmark of VSF1 file-to-file encryption against ``age``, measured in the same run.

One random file (1 GiB by default) is encrypted and decrypted file to file:

- ours: ``crypto.encrypt_stream`` / ``crypto.decrypt_stream`` in a fresh Python
  process (interpreter start-up and imports included, as age's start-up is);
- age: the Debian ``age`` binary with an X25519 recipient from ``age-keygen``
  (ChaCha20-Poly1305 in 64 KiB chunks).

After one untimed warm-up round (which also checks that both round trips give
the source back), each round runs the four operations with the order of the two
sides alternating between rounds. Before every measurement, outside the timing,
the output file is removed and ``os.sync()`` flushes earlier writes, so that
neither side pays for the other's dirty pages. Ratios are the median of our
times over the median of age's. ``peak_rss_mib`` is the largest ``ru_maxrss``
of our worker processes, read with ``os.wait4`` for each child alone, so the
harness's own memory is not counted.

The last line is exactly::

    crypto_bench encrypt_ratio_vs_age=X decrypt_ratio_vs_age=Y peak_rss_mib=Z
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
AAD = b"vsf1|crypto-bench"


def child(mode: str, dek_hex: str, source: str, target: str) -> None:
    """Run in the worker process: one file-to-file operation through crypto/."""
    sys.path.insert(0, str(REPO))
    from crypto import decrypt_stream, encrypt_stream

    operation = encrypt_stream if mode == "encrypt" else decrypt_stream
    # Unbuffered files: readinto() fills our segment buffers straight from the
    # kernel and each segment goes out in one write().
    with open(source, "rb", buffering=0) as src, open(target, "wb", buffering=0) as dst:
        operation(bytes.fromhex(dek_hex), AAD, src, dst)


def timed(command: list[str]) -> tuple[float, int]:
    """Run ``command``; return (wall seconds, the child's own peak RSS in KiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed ({process.returncode}): {command[:3]}")
    return elapsed, usage.ru_maxrss


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def write_random_file(path: Path, size: int) -> None:
    with open(path, "wb") as file:
        remaining = size
        while remaining:
            chunk = os.urandom(min(4 * MiB, remaining))
            file.write(chunk)
            remaining -= len(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "DEK", "SOURCE", "TARGET"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    age, age_keygen = shutil.which("age"), shutil.which("age-keygen")
    if age is None or age_keygen is None:
        raise SystemExit("age and age-keygen are needed (Debian package 'age')")

    work = Path(tempfile.mkdtemp(prefix="crypto-bench-", dir="/tmp"))
    try:
        source = work / "plain.bin"
        write_random_file(source, args.size_mib * MiB)
        subprocess.run(
            [age_keygen, "-o", str(work / "age.key")], check=True, stderr=subprocess.DEVNULL
        )
        recipient = subprocess.run(
            [age_keygen, "-y", str(work / "age.key")], check=True, capture_output=True, text=True
        ).stdout.strip()
        dek_hex = os.urandom(32).hex()
        ours_blob, age_blob = work / "ours.vsf1", work / "age.age"
        ours_back, age_back = work / "ours.back", work / "age.back"

        def ours(mode: str, src: Path, dst: Path) -> list[str]:
            script = str(Path(__file__).resolve())
            return [sys.executable, script, "--child", mode, dek_hex, str(src), str(dst)]

        commands = {
            ("ours", "encrypt"): (ours("encrypt", source, ours_blob), ours_blob),
            ("ours", "decrypt"): (ours("decrypt", ours_blob, ours_back), ours_back),
            ("age", "encrypt"): (
                [age, "-r", recipient, "-o", str(age_blob), str(source)],
                age_blob,
            ),
            ("age", "decrypt"): (
                [age, "-d", "-i", str(work / "age.key"), "-o", str(age_back), str(age_blob)],
                age_back,
            ),
        }
        times: dict[tuple[str, str], list[float]] = {key: [] for key in commands}
        peak_kib = 0

        def measure(side: str, op: str, record: bool) -> None:
            nonlocal peak_kib
            command, output = commands[(side, op)]
            output.unlink(missing_ok=True)
            os.sync()
            elapsed, rss_kib = timed(command)
            if side == "ours":
                peak_kib = max(peak_kib, rss_kib)
            if record:
                times[(side, op)].append(elapsed)

        for op in ("encrypt", "decrypt"):  # warm-up, untimed
            measure("ours", op, record=False)
            measure("age", op, record=False)
        expected = sha256(source)
        if sha256(ours_back) != expected or sha256(age_back) != expected:
            raise SystemExit("a round trip did not give the source back")

        for round_number in range(args.rounds):
            sides = ("ours", "age") if round_number % 2 == 0 else ("age", "ours")
            for op in ("encrypt", "decrypt"):
                for side in sides:
                    measure(side, op, record=True)

        medians = {key: statistics.median(values) for key, values in times.items()}
        size = args.size_mib * MiB
        for (side, op), median in sorted(medians.items()):
            print(
                f"{side:4} {op:7} median {median:6.3f} s  {size / median / 1e9:5.2f} GB/s  "
                f"runs {' '.join(f'{t:.3f}' for t in times[(side, op)])}"
            )
        encrypt_ratio = medians[("ours", "encrypt")] / medians[("age", "encrypt")]
        decrypt_ratio = medians[("ours", "decrypt")] / medians[("age", "decrypt")]
        print(
            f"crypto_bench encrypt_ratio_vs_age={encrypt_ratio:.2f} "
            f"decrypt_ratio_vs_age={decrypt_ratio:.2f} peak_rss_mib={peak_kib / 1024:.1f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
