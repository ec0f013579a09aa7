"""Where an intake's new accounts get their keys: this process, or a pool of processes.

Opening an account costs one Argon2id run (its activation slot, D-111); the
rest is a few milliseconds of database work. The operator's command runs the
Argon2id part in worker processes, one per core, while the main process
writes the rows: an establishment's thousands of arrivals take minutes. The
page of the administrators runs it in its own process (a file of a few
hundred lines, within the request).

The keys cross from a worker to the main process through a pipe, in memory
only, as the server's own processes; nothing touches a disk.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from itertools import repeat

from crypto import Argon2Params
from vault.accounts.keys import params_for
from vault.accounts.opening import AccountKeys, prepare_keys
from vault.models import SlotKind

# Results travel in chunks: one pipe message per few accounts, not per account.
CHUNK = 16


def in_process() -> Iterator[AccountKeys]:
    """Keys made here, one at a time, as they are asked for."""
    while True:
        yield prepare_keys()


@contextmanager
def pool(count: int, workers: int | None = None) -> Iterator[Iterator[AccountKeys]]:
    """`count` keys made by `workers` processes (default: one per core), in order.

    The pool starts fresh interpreters ("spawn"): forking a process that holds
    database connections and the key ring would copy them into the workers.
    The Argon2id costs are this process's (`params_for`), passed to each worker.
    """
    if count <= 0:
        yield iter(())
        return
    params: Argon2Params = params_for(SlotKind.ACTIVATION)
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as executor:
        yield executor.map(prepare_keys, repeat(params, count), chunksize=CHUNK)
