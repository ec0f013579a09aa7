"""Benchmark of an intake: 10,000 arrivals imported into PostgreSQL through the app's service.

Everything runs on this machine: a fresh schema on the PostgreSQL server named
by ``VAULT_TEST_DATABASE_URL`` (default 127.0.0.1:5432, database ``test``,
as the tests), dropped at the end, and a blob folder in a temporary directory
(an intake writes no blob). The app is built in code with generated secrets;
nothing lowers Argon2id: every activation slot costs what it costs in
production (``vault.accounts.keys.params_for("activation")``, D-111).

Measured: ``vault.intake.service.plan`` then ``apply`` over a file of 10,000
arrivals (one establishment, a counsellor named on every third line),
committed every 200 lines, with the keys made by ``vault.intake.keysource.pool``
(one worker process per core), exactly as ``vault intake import`` runs them,
the activation sheets' PDF excepted (the command renders it at the end; the
benchmark measures the import). Then the same file again, which must change
nothing.

Baseline, in the same run: what the 10,000 activation slots would cost at a
passphrase's Argon2id cost in one process (64 MiB, t=3, p=4), extrapolated
from 20 runs; and the same at the activation cost, one process. They say how
much of the time the key derivation is and what the pool saves.

``peak_rss_mib`` is the largest peak RSS (``ru_maxrss``) of the main process
and of the pool's workers.

The last line is exactly::

    intake_bench rows=10000 seconds=S peak_rss_mib=R
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PLACE = "Centre pénitentiaire du Banc d'Essai"
BATCH = 200


def log(message: str) -> None:
    print(message, flush=True)


def arrivals(rows: int, counsellor: str) -> bytes:
    lines = ["action;numero_ecrou;etablissement;nom;prenom;date_naissance;conseiller"]
    for i in range(rows):
        lines.append(
            f"arrivee;{100000 + i};{PLACE};Nom{i};Prénom{i};{1 + i % 28:02d}/{1 + i % 12:02d}/1985;"
            + (counsellor if i % 3 == 0 else "")
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def baseline(samples: int = 20) -> tuple[float, float]:
    """Seconds per Argon2id slot at a passphrase's cost and at the activation cost."""
    from crypto import DEFAULT_ARGON2, PassphraseSlot
    from vault.accounts.keys import params_for
    from vault.models import SlotKind

    out = []
    for params in (DEFAULT_ARGON2, params_for(SlotKind.ACTIVATION)):
        start = time.perf_counter()
        for _ in range(samples):
            PassphraseSlot.create(os.urandom(32), "1234567812345678", b"bench", params=params)
        out.append((time.perf_counter() - start) / samples)
    return out[0], out[1]


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from sqlalchemy import func, select, text
    from sqlalchemy.engine import make_url

    from vault import create_app
    from vault.accounts.opening import open_account
    from vault.core import migrate
    from vault.core.config import Settings, dev_escrow_pair
    from vault.core.db import db_session, get_database, make_engine
    from vault.core.extensions import get_escrow_key, get_keyring
    from vault.intake import keysource
    from vault.intake import service as intake
    from vault.models import Establishment, PersonProfile, Role
    from vault.models.base import utcnow

    base = os.environ.get("VAULT_TEST_DATABASE_URL", DEFAULT_PG)
    schema = f"vault_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    database_url = url.render_as_string(hide_password=False)
    try:
        engine = make_engine(database_url)
        migrate.upgrade(engine)
        engine.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                env="testing",
                instance_path=Path(tmp),
                database_url=database_url,
                storage_url=(Path(tmp) / "blobs").as_uri(),
                secret_key=secrets.token_urlsafe(48),
                server_keys="1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
                escrow_public_key=dev_escrow_pair()["escrow_public_key"],
            )
            app = create_app(settings)
            with app.app_context():
                db = db_session()
                db.add(Establishment(name=PLACE))
                counsellor = open_account(
                    db,
                    get_keyring(),
                    get_escrow_key(),
                    role=Role.COUNSELLOR,
                    first_name="Claire",
                    last_name="Banc",
                    created_by=None,
                )
                db.commit()
                data = arrivals(args.rows, counsellor.user.username)
                log(f"file: {args.rows} arrivals, {len(data)} bytes")

                def run() -> tuple[float, dict[str, int]]:
                    start = time.perf_counter()
                    today = utcnow().date()
                    plan = intake.plan(db, data, today=today)
                    ctx = intake.Context(get_keyring(), get_escrow_key(), None, 30, 30, today)
                    counts: dict[str, int] = {}
                    with keysource.pool(plan.new_accounts, args.workers) as keys:
                        for done, report in enumerate(intake.apply(db, plan, ctx, keys), 1):
                            counts[report.outcome] = counts.get(report.outcome, 0) + 1
                            if done % BATCH == 0:
                                db.commit()
                                db.expunge_all()
                        db.commit()
                    return time.perf_counter() - start, counts

                seconds, counts = run()
                log(f"import: {seconds:.1f} s {counts}")
                people = db.execute(select(func.count()).select_from(PersonProfile)).scalar_one()
                assert people == args.rows == counts.get("created"), (people, counts)
                again, counts_again = run()
                log(f"same file again: {again:.1f} s {counts_again}")
                assert counts_again == {"unchanged": args.rows}, counts_again
            get_database(app).dispose()
        passphrase_cost, activation_cost = baseline()
        log(
            f"baseline: {args.rows} slots at a passphrase's cost in one process "
            f"{passphrase_cost * args.rows:.0f} s ({passphrase_cost * 1000:.0f} ms each); "
            f"at the activation cost {activation_cost * args.rows:.0f} s "
            f"({activation_cost * 1000:.0f} ms each); cores {os.cpu_count()}, "
            f"load {os.getloadavg()[0]:.1f}"
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    log(f"intake_bench rows={args.rows} seconds={seconds:.1f} peak_rss_mib={peak_rss_mib():.0f}")


if __name__ == "__main__":
    main()
