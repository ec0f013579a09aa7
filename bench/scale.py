"""National scale: the app's own queries over a synthetic database of a million vaults.

A database of its own (``vault_scale`` on the PostgreSQL server of the tests,
127.0.0.1:5432, or ``--database-url``), dropped and created at the start,
migrated with the app's migrations (``vault.core.migrate.upgrade``, as
``vault db upgrade``), then filled with ``COPY``: each table's rows are made on
the server by a ``COPY (SELECT ... FROM generate_series(...)) TO STDOUT`` and
streamed block by block into ``COPY <table> FROM STDIN`` on a second
connection (no row goes through Python). While it loads, the tables have no
index and no constraint; the migrations' own definitions, read from the
catalogue beforehand, are put back afterwards (indexes built once rather than
row by row, foreign keys validated over the whole table), and the bench checks
that the schema is then exactly the migrated one. Then ``VACUUM ANALYZE``.

Default sizes (``--persons 1000000``): 1,000,000 persons, 10,000,000 documents
(and as many versions and blob rows), 10,000,000 journal events, 3,000
counsellors (about 333 people each), 200 establishments, one title index per
vault, two key slots per person, a share with two sealed keys per person, and
requests, external links, recovery requests and retention notices in
proportion. Binary columns hold bytes of the size the real ones have (a
hybrid public key, a sealed title, a DEK sealed to a counsellor...).

Timed (``--targets`` random people, default 1,000), by calling the functions
the views call, on the app's own session: see ``SCENARIOS``. What is timed is
the database work of each scenario: from the first statement sent to the last
row received, summed over its statements (SQLAlchemy's cursor events), which
is what grows with the size of the service; the whole call, with the ORM and
the decryption of the few titles shown, is printed beside it. Each run ends
its transaction as a request does (``vault.core.db.finish``), so the
statements run as prepared statements once warm, as in service. Each scenario's
statements are also run under ``EXPLAIN`` once, and a sequential scan of a
large table is reported. Before the timing, every table and index is read
once through the OS cache (``warm``, pg_prewarm): the database as a server
in service holds it, in memory, rather than whatever the machine's cache
kept from what ran before. The server's own shared buffers stay as they
are (128 MB on the tests' server). Each scenario is then timed again over
the same targets ("read again"), now also in PostgreSQL's buffers as far as
they go. Only the first reading counts for the last line.

``--reuse`` skips the load and times the database as it is (after running the
migrations not yet applied, then ``VACUUM ANALYZE`` as autovacuum would: that
is how an index added later reaches it);
``--keep`` leaves the database in place at the end (it is dropped otherwise).

The last line is exactly::

    scale_bench persons=N documents=D worst_p95_ms=X worst_query=NAME
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
DEFAULT_NAME = "vault_scale"
# One fixed vault key for every synthetic person: the titles of the people the
# bench reads are sealed with it (see make_targets_real).
VAULT_KEY = bytes(range(32))
TODAY = date(2026, 12, 6)
LARGE_TABLES = {
    "users",
    "person_profiles",
    "documents",
    "document_versions",
    "blobs",
    "journal_events",
    "shares",
    "share_keys",
    "assignments",
    "key_slots",
    "vault_indexes",
    "document_requests",
}


def log(message: str) -> None:
    print(message, flush=True)


# --- the synthetic rows --------------------------------------------------------------------------

FIRST_NAMES = [
    "Jean",
    "Pierre",
    "Michel",
    "André",
    "Philippe",
    "Alain",
    "Bernard",
    "Jacques",
    "Daniel",
    "Patrick",
    "Nicolas",
    "Christophe",
    "Stéphane",
    "Laurent",
    "Frédéric",
    "Julien",
    "David",
    "Sébastien",
    "Thomas",
    "Olivier",
    "Mohamed",
    "Karim",
    "Mehdi",
    "Yacine",
    "Kevin",
    "Anthony",
    "Maxime",
    "Romain",
    "Alexandre",
    "Antoine",
    "Hugo",
    "Lucas",
    "Mathieu",
    "Vincent",
    "Franck",
    "Eric",
    "Pascal",
    "Thierry",
    "Didier",
    "Gilles",
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Sandrine",
    "Sarah",
    "Fatima",
    "Aïcha",
    "Léa",
    "Camille",
    "Manon",
    "Julie",
    "Céline",
    "Élodie",
    "Laura",
    "Sonia",
    "Nadia",
    "Samira",
    "Claire",
]
# Surnames made of three syllables: about 27,000 of them, spelt like names
# (the trigram statistics of the name search then resemble real ones).
SYLLABLES = [
    "ber",
    "mar",
    "dur",
    "lau",
    "ros",
    "fon",
    "gar",
    "mou",
    "che",
    "val",
    "pel",
    "tan",
    "bou",
    "ric",
    "lam",
    "gui",
    "sal",
    "ven",
    "dam",
    "nor",
    "cou",
    "mer",
    "bla",
    "lef",
    "rou",
    "mon",
    "bel",
    "hen",
]


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(q(v) for v in values) + "]::text[]"


# The column order of each SELECT below (the models' order; the migrated
# tables' differs where columns were added later).
COLUMNS = {
    "establishments": "id, name, networks, restrict_signin, external_links, created_at",
    "users": "id, username, role, status, display_name, establishment_id, public_key, "
    "activation_expires_at, created_by_id, created_at, activated_at, last_signin_at, "
    "previous_signin_at, pending_deposits, passphrase_changed_at, locale",
    "documents": "id, vault_id, category, doc_type, expiry_date, meta, meta_sealed, "
    "current_version, mime, size, deposited_by_id, created_at, updated_at",
    "document_versions": "id, document_id, version, blob_id, preview_blob_id, preview_failed_at, "
    "mime, size, wrapped_dek, sealed_dek, created_by_id, created_at",
    "document_requests": "id, vault_id, counsellor_id, doc_type, message_for_person, "
    "message_for_counsellor, status, document_id, created_at, answered_at",
    "external_links": "id, vault_id, document_id, version, token_hash, wrapped, recipient, "
    "has_pin, pin_failures, wrong_pins, pin_failed_at, expires_at, max_downloads, downloads, "
    "status, approved_by_id, created_at, revoked_at, revoked_reason",
    "recovery_requests": "id, user_id, kind, status, created_at, approved_by_id, approved_at, "
    "second_officer_id, identity_check, identity_sealed, completed_at",
}


def table_specs(n: int, counsellors: int, establishments: int) -> list[tuple[str, int, str]]:
    """(table, rows, SELECT over generate_series(0, rows - 1) AS i)."""
    from vault.core.catalog import TYPE_CATEGORY

    types = list(TYPE_CATEGORY)
    cats = [TYPE_CATEGORY[t] for t in types]
    nt = len(types)
    firsts, syl = sql_array(FIRST_NAMES), sql_array(SYLLABLES)
    ns = len(SYLLABLES)
    # Ids derived from a number, so that every table can point at another's rows.
    person = "md5('u' || ({}))::uuid".format
    counsellor = "md5('c' || ({}))::uuid".format
    estab = "md5('e' || ({}))::uuid".format
    doc = "md5('d' || ({}))::uuid".format

    # A hash of i, to spread choices without the order of i showing through.
    def hash_of(tag: str, var: str) -> str:
        return f"(('x' || substr(md5('{tag}' || {var}), 1, 8))::bit(32)::int & 2147483647)"

    h, h2 = hash_of("h", "i"), hash_of("k", "i")
    # Random-looking bytes of a given size (under 2 kB a value is stored as it
    # is, uncompressed, so repeating a digest does not make it smaller on disk).
    blob = "substr(decode(repeat(md5('{tag}' || i), {reps}), 'hex'), 1, {size})".format
    epoch = "timestamptz '2017-01-01 00:00:00+00'"
    docs = 10 * n
    events = 10 * n
    # Person i: detained in an establishment (8 %), else released (2 % of
    # everyone closed). The service is taken in its steady state: vaults
    # unused for three years after release are gone (the retention sweep),
    # so the released were released, or last signed in, within the last
    # 2 years 9 months (the notice is sent 3 months ahead): about one day's
    # worth is due a notice today, as on any day.
    detained = f"({h} % 100 < 8)"
    released_on = f"(date '{TODAY.isoformat()}' - ({h} % 1004))"
    followup = f"({h} % 3 = 0)"
    # Counsellors' access after a release without follow-up: 90 days.
    today = f"date '{TODAY.isoformat()}'"
    grace_over = f"(NOT {followup} AND {released_on} + 90 < {today})"
    access_over = f"(NOT {detained} AND ({h} % 100 < 10 OR {grace_over}))"
    ended = f"(i >= {n} OR {access_over})"

    def first_of(var: str) -> str:
        return f"({firsts})[1 + {hash_of('h', var)} % {len(FIRST_NAMES)}]"

    def last_of(var: str) -> str:
        k = hash_of("k", var)
        return (
            f"initcap(({syl})[1 + {k} % {ns}] || ({syl})[1 + ({k} / {ns}) % {ns}]"
            f" || ({syl})[1 + ({k} / {ns * ns}) % {ns}])"
        )

    first, last = first_of("i"), last_of("i")
    admin = "md5('admin')::uuid"
    specs: list[tuple[str, int, str]] = [
        (
            "establishments",
            establishments,
            f"SELECT {estab('i')}, 'Établissement ' || i, '', false, 'approval', {epoch}"
            " FROM generate_series(0, {rows}) AS i",
        ),
        # Staff: one administrator, then the counsellors.
        (
            "users",
            1,
            f"SELECT {admin}, 'admin', 'administrator', 'active', 'Admin', NULL, "
            f"{blob(tag='a', reps=38, size=1216)}, NULL, NULL, {epoch}, {epoch}, now(), NULL, 0, "
            "NULL, NULL FROM generate_series(0, {rows}) AS i",
        ),
        (
            "users",
            counsellors,
            f"SELECT {counsellor('i')}, 'conseiller.' || i, 'counsellor', 'active', "
            f"'Conseiller ' || i, {estab(f'i % {establishments}')}, "
            f"{blob(tag='cp', reps=38, size=1216)}, NULL, {admin}, {epoch}, {epoch}, "
            "now() - interval '1 day', now() - interval '2 days', 0, NULL, 'fr' "
            "FROM generate_series(0, {rows}) AS i",
        ),
        (
            "users",
            n,
            f"SELECT {person('i')}, 'p' || lpad(i::text, 7, '0'), 'person', 'active', "
            f"{first} || ' ' || {last}, "
            f"CASE WHEN {detained} THEN {estab(f'{h} % {establishments}')} END, "
            f"{blob(tag='pk', reps=38, size=1216)}, NULL, {admin}, "
            f"{epoch} + (i % 3000) * interval '1 day', {epoch} + (i % 3000) * interval '1 day', "
            # Last signed in between the release (or two years before, if
            # detained) and today.
            f"CASE WHEN {detained} THEN {today} - ({h2} % 730) * interval '1 day' "
            f"ELSE {released_on} + ({h2} % ({today} - {released_on} + 1)) * interval '1 day' END, "
            f"{epoch} + ({h} % 2000) * interval '1 day', 0, NULL, "
            "CASE WHEN i % 10 = 0 THEN 'en' END FROM generate_series(0, {rows}) AS i",
        ),
        (
            "person_profiles",
            n,
            f"SELECT {person('i')}, {first}, {last}, date '1960-01-01' + {h} % 15000, "
            f"lpad(((i::bigint * 7919) % 10000000)::text, 7, '0'), "
            f"CASE WHEN {detained} THEN 'detained' WHEN {h} % 100 < 10 THEN 'closed' "
            "ELSE 'released' END, "
            f"CASE WHEN NOT {detained} THEN {released_on} END, "
            f"(NOT {detained} AND {followup}), "
            f"CASE WHEN NOT {detained} AND NOT {followup} THEN {released_on} + 90 END, "
            f"CASE WHEN NOT {detained} AND {h} % 100 < 10 THEN now() END, "
            # retention_from (D-201): the released without a pending notice
            # (those are people i * 200, below) carry their reference day, the
            # later of the release and the last sign-in (the users' rows above).
            f"CASE WHEN NOT {detained} AND {h} % 100 >= 10 AND i % 200 <> 0 "
            f"THEN {released_on} + {h2} % ({today} - {released_on} + 1) END "
            "FROM generate_series(0, {rows}) AS i",
        ),
        # A password slot (Argon2id parameters, salt, wrapped key) and an
        # escrow slot (the user key sealed to the escrow's hybrid public key).
        (
            "key_slots",
            2 * n,
            f"SELECT md5('s' || i)::uuid, {person('i / 2')}, "
            "CASE WHEN i % 2 = 0 THEN 'password' ELSE 'escrow' END, "
            f"CASE WHEN i % 2 = 0 THEN {blob(tag='sp', reps=8, size=120)} "
            f"ELSE {blob(tag='se', reps=36, size=1150)} END, {epoch} "
            "FROM generate_series(0, {rows}) AS i",
        ),
        (
            "assignments",
            n + n // 5,
            # Everyone followed by one counsellor now; one in five also by
            # another before (an ended assignment).
            f"SELECT md5('a' || i)::uuid, {person(f'i % {n}')}, "
            f"{counsellor(f'CASE WHEN i < {n} THEN i ELSE i + 7 END % {counsellors}')}, "
            f"{admin}, {epoch} + (i % 2000) * interval '1 day', "
            # Ended: the earlier ones, and those of people whose counsellors'
            # access is over (the retention sweep ends them).
            f"CASE WHEN {ended} THEN {epoch} + (i % 2000 + 30) * interval '1 day' END, "
            f"CASE WHEN {ended} THEN {admin} END, "
            # access_until: the current assignment of a person released
            # without follow-up carries their counsellor_access_until (D-200).
            f"CASE WHEN i < {n} AND NOT {detained} AND NOT {followup} AND {h} % 100 >= 10 "
            f"THEN {released_on} + 90 END, "
            # person_name (D-203): the person's display name, as in users.
            f"{first_of(f'(i % {n})')} || ' ' || {last_of(f'(i % {n})')} "
            "FROM generate_series(0, {rows}) AS i",
        ),
        # Document j belongs to person j % n: each vault's ten documents are
        # spread over the table, as they arrive over years in a real service.
        (
            "blobs",
            docs,
            "SELECT md5('b' || i)::uuid, 's3', 'v/' || md5('b' || i), 100000 + i % 3000000, "
            "md5('t' || i), 'dek:' || md5('v' || i)::uuid, "
            f"{epoch} + i * interval '30 seconds' FROM generate_series(0, {{rows}}) AS i",
        ),
        (
            "documents",
            docs,
            f"SELECT {doc('i')}, {person(f'i % {n}')}, "
            f"({sql_array(cats)})[1 + {h} % {nt}], ({sql_array(types)})[1 + {h} % {nt}], "
            f"CASE WHEN {h} % 3 = 0 THEN date '2025-01-01' + {h} % 2000 END, "
            f"{blob(tag='m', reps=8, size=130)}, false, 1, "
            "CASE WHEN i % 3 = 0 THEN 'image/jpeg' ELSE 'application/pdf' END, "
            "100000 + i % 3000000, "
            f"CASE WHEN {h} % 100 < 3 THEN {counsellor(f'(i % {n}) % {counsellors}')} END, "
            f"{epoch} + i * interval '30 seconds', {epoch} + i * interval '30 seconds' "
            "FROM generate_series(0, {rows}) AS i",
        ),
        (
            "document_versions",
            docs,
            f"SELECT md5('v' || i)::uuid, {doc('i')}, 1, md5('b' || i)::uuid, NULL, NULL, "
            "CASE WHEN i % 3 = 0 THEN 'image/jpeg' ELSE 'application/pdf' END, "
            f"100000 + i % 3000000, {blob(tag='w', reps=6, size=88)}, NULL, "
            f"{person(f'i % {n}')}, {epoch} + i * interval '30 seconds' "
            "FROM generate_series(0, {rows}) AS i",
        ),
        (
            "vault_indexes",
            n,
            f"SELECT {person('i')}, {blob(tag='x', reps=50, size=1550)}, now() "
            "FROM generate_series(0, {rows}) AS i",
        ),
        # Ten events per vault, seq 1..10, interleaved like the documents;
        # seven in ten by the person themselves.
        (
            "journal_events",
            events,
            f"SELECT md5('j' || i)::uuid, {person(f'i % {n}')}, i / {n} + 1, "
            f"{epoch} + i * interval '30 seconds', "
            f"CASE WHEN {h} % 10 < 7 THEN {person(f'i % {n}')} "
            f"ELSE {counsellor(f'(i % {n}) % {counsellors}')} END, "
            f"CASE WHEN {h} % 10 < 7 THEN 'person' ELSE 'counsellor' END, "
            "(ARRAY['document.added','document.opened','signin','share.created',"
            "'document.downloaded'])[1 + i % 5], "
            f"CASE WHEN i % 5 <> 2 THEN {doc('i')} END, 'ok', "
            """'{"category":"identity","version":1}', md5('p' || i) || md5('q' || i), """
            "md5('r' || i) || md5('s' || i) FROM generate_series(0, {rows}) AS i",
        ),
        # Each person shares one category with their counsellor: two documents
        # (their 1st and 2nd), each key sealed to the counsellor.
        (
            "shares",
            n,
            f"SELECT md5('sh' || i)::uuid, {person('i')}, {counsellor(f'i % {counsellors}')}, "
            "NULL, 'identity', NULL, false, "
            f"{epoch} + (i % 3000) * interval '1 day', NULL FROM generate_series(0, {{rows}}) AS i",
        ),
        (
            "share_keys",
            2 * n,
            f"SELECT md5('sk' || i)::uuid, md5('sh' || (i % {n}))::uuid, {doc('i')}, 1, "
            f"{blob(tag='sk', reps=40, size=1250)} FROM generate_series(0, {{rows}}) AS i",
        ),
        (
            "document_requests",
            n // 3,
            f"SELECT md5('rq' || i)::uuid, {person('i * 3')}, "
            f"{counsellor(f'(i * 3) % {counsellors}')}, 'id_card', "
            f"{blob(tag='rm', reps=13, size=200)}, {blob(tag='rc', reps=13, size=200)}, "
            "CASE WHEN i % 2 = 0 THEN 'open' ELSE 'answered' END, NULL, "
            f"{epoch} + (i % 3000) * interval '1 day', NULL FROM generate_series(0, {{rows}}) AS i",
        ),
        (
            "external_links",
            n // 10,
            f"SELECT md5('l' || i)::uuid, {person('i * 10')}, {doc('i * 10')}, 1, "
            f"md5('lt' || i) || md5('lu' || i), {blob(tag='lw', reps=8, size=120)}, 'employer', "
            "false, 0, 0, NULL, now() + interval '10 days', NULL, 0, "
            "CASE WHEN i % 20 = 0 THEN 'pending' ELSE 'active' END, NULL, now(), NULL, NULL "
            "FROM generate_series(0, {rows}) AS i",
        ),
        (
            "recovery_requests",
            max(1, n // 1000),
            f"SELECT md5('rr' || i)::uuid, {person('i * 1000')}, 'kit', 'pending', now(), "
            "NULL, NULL, NULL, '', NULL, NULL FROM generate_series(0, {rows}) AS i",
        ),
        (
            "retention_notices",
            max(1, n // 200),
            f"SELECT md5('rn' || i)::uuid, {person('i * 200')}, date '2027-03-01' + i % 90, "
            "now() - interval '10 days', 'pending' FROM generate_series(0, {rows}) AS i",
        ),
    ]
    return [(t, rows, sql.replace("{rows}", str(rows - 1))) for t, rows, sql in specs]


# --- load -----------------------------------------------------------------------------------------


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(server) + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(server) + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_catalogue(conn: Any) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str]]]:
    """(constraints: table, name, type, definition), (other indexes: name, definition)."""
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f') ORDER BY 1, 2"
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY 1"
    ).fetchall()
    return constraints, indexes


def load(url: str, n: int, counsellors: int, establishments: int) -> dict[str, float]:
    """Fill the migrated database; {step: seconds}."""
    import psycopg

    timings: dict[str, float] = {}
    dsn = psycopg_url(url)
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True) as src,
    ):
        for c in (conn, src):
            c.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        constraints, indexes = schema_catalogue(conn)
        # Off while loading; put back as the migrations defined them.
        for table, name, _kind, _ in sorted(constraints, key=lambda c: c[2] != "f"):
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        total = time.perf_counter()
        for table, rows, select in table_specs(n, counsellors, establishments):
            start = time.perf_counter()
            columns = COLUMNS.get(table) or [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
            ]
            cols = columns if isinstance(columns, str) else ", ".join(f'"{c}"' for c in columns)
            with (
                src.cursor().copy(f"COPY ({select}) TO STDOUT") as out,
                conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as into,
            ):
                for block in out:
                    into.write(block)
            took = time.perf_counter() - start
            timings[f"copy {table}"] = timings.get(f"copy {table}", 0) + took
            log(f"  copy {table}: {rows:,} rows in {took:.1f} s")
        timings["copy (all tables)"] = time.perf_counter() - total
        start = time.perf_counter()
        for table, name, kind, definition in sorted(constraints, key=lambda c: c[2] == "f"):
            if kind != "f":
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            step = time.perf_counter()
            conn.execute(definition)
            log(f"  index {name}: {time.perf_counter() - step:.1f} s")
        timings["primary keys, unique constraints and indexes"] = time.perf_counter() - start
        start = time.perf_counter()
        for table, name, kind, definition in constraints:
            if kind == "f":
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        timings["foreign keys (validated)"] = time.perf_counter() - start
        if schema_catalogue(conn) != (constraints, indexes):
            raise SystemExit("the schema after the load is not the migrated one")
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = time.perf_counter() - start
    return timings


def vacuum_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def warm(url: str) -> int:
    """Read every table and index of the database through the OS cache; bytes read.

    A server in service holds its working set in memory (docs/operations.md
    sizes its RAM for that); without this, what the first reading finds in
    the cache depends on what ran on the machine before (the same code
    measured 4.5 and 14 ms at p95 for the counsellor's home, one run after
    another bench run, one after the test suite). pg_prewarm's "read" mode,
    the largest relations first so that the smaller ones, the indexes, are
    the last read and the last the OS would let go.
    """
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = conn.execute(
            "SELECT c.oid::regclass::text, pg_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't') "
            "ORDER BY pg_relation_size(c.oid) DESC"
        ).fetchall()
        for name, _size in relations:
            conn.execute("SELECT pg_prewarm(%s::regclass, 'read')", [name])
    return sum(size for _name, size in relations)


def database_size(url: str) -> tuple[int, list[tuple[str, int, int]]]:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        tables = conn.execute(
            "SELECT relname, pg_table_size(oid), pg_indexes_size(oid) FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
            "ORDER BY pg_total_relation_size(oid) DESC LIMIT 14"
        ).fetchall()
    return size, tables


# --- the timed scenarios --------------------------------------------------------------------------


class Recorder:
    """Database time of the statements run between start() and stop(), from SQLAlchemy's events."""

    def __init__(self) -> None:
        self.active = False
        self.seconds = 0.0
        self.statements: list[tuple[str, Any]] = []
        self.each: list[float] = []  # seconds of each statement, in order
        self._started: float = 0.0

    def before(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if self.active:
            self._started = time.perf_counter()

    def after(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if self.active:
            # psycopg's client-side cursor has every row once execute returns.
            took = time.perf_counter() - self._started
            self.seconds += took
            self.each.append(took)
            self.statements.append((statement, params))


def uid(tag: str, i: int) -> uuid.UUID:
    import hashlib

    return uuid.UUID(hashlib.md5(f"{tag}{i}".encode()).hexdigest())


def make_targets_real(db: Any, targets: list[int], n: int) -> None:
    """Seal the titles of the targets' documents with VAULT_KEY, and build their title indexes.

    With the app's own functions (seal_meta, rebuild_index): the pages read
    then decrypt real titles as they do in service.
    """
    from vault.accounts.keys import Unlocked
    from vault.core.envelope import VaultKey
    from vault.documents import index
    from vault.documents.keys import Meta, seal_meta
    from vault.models import Document, User

    for i in targets:
        person = db.get(User, uid("u", i))
        for k in range(10):
            document = db.get(Document, uid("d", i + k * n))
            title = f"Attestation {k} de {person.display_name}"
            document.meta = seal_meta(
                VaultKey(VAULT_KEY), person.id, document.id, Meta(title, f"scan-{k}.pdf", "0" * 64)
            )
        db.flush()
        index.rebuild_index(db, Unlocked(person, VaultKey(VAULT_KEY)))
    db.commit()


def followed_targets(db: Any, n: int, count: int) -> list[int]:
    """People whose counsellor may read their vault now (an active assignment), at random."""
    from sqlalchemy import select

    from vault.models import Assignment, User

    rng = random.Random(1206)
    candidates = rng.sample(range(n), min(n, 5 * count))
    names = {f"p{i:07d}": i for i in candidates}
    found = set(
        db.execute(
            select(User.username)
            .join(Assignment, Assignment.person_id == User.id)
            .where(User.username.in_(list(names)), Assignment.ended_at.is_(None))
        ).scalars()
    )
    return [names[u] for u in names if u in found][:count]


def scenarios(db: Any, n: int, counsellors: int) -> dict[str, Callable[[int], Any]]:
    """{name: function of a target number} calling what each page calls."""
    from vault.accounts.keys import Unlocked
    from vault.accounts.views.admin.account_pages import search_accounts
    from vault.core.envelope import VaultKey
    from vault.documents import index
    from vault.documents import service as documents
    from vault.documents.views.library import PAGE_SIZE
    from vault.journal.views import page_events
    from vault.lifecycle import retention
    from vault.models import PersonProfile, User
    from vault.sharing.views.counsellor import caseload, person_page

    def owner(i: int) -> Unlocked:
        return Unlocked(db.get(User, uid("u", i)), VaultKey(VAULT_KEY))

    def counsellor(i: int) -> User:
        return db.get(User, uid("c", i % counsellors))

    counsellor_key = bytes(32)

    def prison_number(i: int) -> str:
        return db.get(PersonProfile, uid("u", i)).prison_number

    def name(i: int) -> str:
        return db.get(User, uid("u", i)).display_name

    terms: dict[int, str] = {}

    def remember(read: Callable[[int], str]) -> Callable[[int], None]:
        def prepare(i: int) -> None:
            terms[i] = read(i)

        return prepare

    return {
        # GET /documents/: the first page, newest first.
        "person_list": lambda i: documents.list_documents(db, owner(i), limit=PAGE_SIZE),
        # GET /documents/?q=...: the sealed title index and its freshness check.
        "search_index": lambda i: index.title_index(db, owner(i)),
        # GET /journal/
        "person_journal": lambda i: page_events(db, owner(i), "", ""),
        # GET /conseiller/: the caseload (about 333 people) with its counts.
        "counsellor_home": lambda i: caseload(db, counsellor(i), ""),
        # GET /conseiller/<person>/ by the person's counsellor.
        "counsellor_person": lambda i: person_page(db, counsellor(i), counsellor_key, uid("u", i)),
        # GET /admin/?q=<a person's full name>, then ?q=<a prison number>.
        # The term is read before the clock starts (the second function), as
        # the administrator types it: only the search is timed.
        "admin_search_name": (lambda i: search_accounts(db, terms[i]), remember(name)),
        "admin_search_prison_number": (
            lambda i: search_accounts(db, terms[i]),
            remember(prison_number),
        ),
        # vault lifecycle retention (daily): what is due.
        "retention_selection": lambda i: retention.plan(db, today=TODAY, years=3),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def explain_findings(db: Any, statements: list[tuple[str, Any]]) -> list[str]:
    """Sequential scans of large tables in these statements' plans."""
    from sqlalchemy import text

    found = []
    conn = db.connection()
    for statement, params in statements:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("EXPLAIN (FORMAT TEXT) " + statement, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        for line in plan.splitlines():
            if "Seq Scan on" in line:
                table = line.split("Seq Scan on", 1)[1].split()[0]
                if table in LARGE_TABLES:
                    found.append(
                        f"Seq Scan on {table}: {statement.split()[0]} ... "
                        f"{statement[statement.find('FROM') :][:120]}"
                    )
    del text
    return found


def time_runs(
    db: Any,
    recorder: Recorder,
    call: Callable[[int], Any],
    prepare: Callable[[int], None] | None,
    runs: list[int],
) -> tuple[list[float], list[float], dict[int, list[float]], list[tuple[str, Any]]]:
    """SQL and whole-call milliseconds of each run, each statement's, and the statements."""
    from vault.core.db import finish

    sql_ms: list[float] = []
    wall_ms: list[float] = []
    statements: list[tuple[str, Any]] = []
    per_statement: dict[int, list[float]] = {}
    for k, i in enumerate([*runs[:3], *runs]):
        if prepare is not None:
            prepare(i)  # the search term, read before the clock starts
        db.expire_all()
        recorder.seconds, recorder.statements, recorder.active = 0.0, [], True
        recorder.each = []
        start = time.perf_counter()
        call(i)
        wall = time.perf_counter() - start
        recorder.active = False
        # As a request ends (a COMMIT when it only read: the connection keeps
        # its prepared statements, D-206).
        finish(db)
        if k < 3:
            continue  # warm-up: connection, statement caches
        sql_ms.append(recorder.seconds * 1000)
        for index, took in enumerate(recorder.each):
            per_statement.setdefault(index, []).append(took * 1000)
        wall_ms.append(wall * 1000)
        statements = statements or list(recorder.statements)
    return sql_ms, wall_ms, per_statement, statements


def measure(
    app: Any, n: int, counsellors: int, targets: list[int], only: list[str] | None
) -> dict[str, dict[str, float]]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from vault.core.db import db_session

    recorder = Recorder()
    event.listen(Engine, "before_cursor_execute", recorder.before)
    event.listen(Engine, "after_cursor_execute", recorder.after)
    results: dict[str, dict[str, float]] = {}
    with app.test_request_context("/"):
        db = db_session()
        log(f"sealing the titles of {len(targets)} target vaults with the app's functions")
        make_targets_real(db, targets, n)
        followed = followed_targets(db, n, len(targets))
        for name, entry in scenarios(db, n, counsellors).items():
            if only and name not in only:
                continue
            call, prepare = entry if isinstance(entry, tuple) else (entry, None)
            runs = followed if name == "counsellor_person" else targets
            if name == "retention_selection":
                # One sweep a day reads the whole service: fewer runs.
                runs = targets[: max(5, len(targets) // 50)]
            sql_ms, wall_ms, per_statement, statements = time_runs(
                db, recorder, call, prepare, runs
            )
            # The same targets again, their pages read just before (in the
            # server's shared buffers as far as 128 MB go). Printed beside
            # the first reading, which alone decides the last line.
            again, _, _, _ = time_runs(db, recorder, call, prepare, runs)
            findings = explain_findings(db, statements)
            db.rollback()
            results[name] = {
                "runs": len(sql_ms),
                "statements": len(statements),
                "sql_p50": statistics.median(sql_ms),
                "sql_p95": percentile(sql_ms, 95),
                "sql_max": max(sql_ms),
                "wall_p50": statistics.median(wall_ms),
                "wall_p95": percentile(wall_ms, 95),
                "again_p50": statistics.median(again),
                "again_p95": percentile(again, 95),
            }
            r = results[name]
            log(
                f"{name:28s} runs={r['runs']:<5d} statements={r['statements']:<3d} "
                f"sql p50={r['sql_p50']:.2f} p95={r['sql_p95']:.2f} max={r['sql_max']:.2f} ms   "
                f"whole call p50={r['wall_p50']:.2f} p95={r['wall_p95']:.2f} ms   "
                f"read again: sql p50={r['again_p50']:.2f} p95={r['again_p95']:.2f} ms"
            )
            if r["statements"] > 1:
                # Which statement the time goes to (the first run's text, cut).
                for index, times in sorted(per_statement.items()):
                    text = (
                        " ".join(statements[index][0].split())[:90]
                        if index < len(statements)
                        else ""
                    )
                    log(
                        f"    statement {index + 1}: p50={statistics.median(times):.2f} "
                        f"p95={percentile(times, 95):.2f} ms  {text}"
                    )
            for finding in findings:
                log(f"    EXPLAIN: {finding}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--server", default=os.environ.get("VAULT_SCALE_SERVER", DEFAULT_SERVER))
    parser.add_argument("--database", default=DEFAULT_NAME)
    parser.add_argument("--reuse", action="store_true", help="time the database as it is")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--only", action="append", help="time only this scenario (repeatable)")
    args = parser.parse_args()

    import base64
    import secrets
    import tempfile

    from vault import create_app
    from vault.core import migrate
    from vault.core.config import Settings, dev_escrow_pair
    from vault.core.db import make_engine

    n = args.persons
    counsellors = max(1, round(n * 3 / 1000))
    establishments = 200
    if args.database in ("test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use database {args.database!r}")
    url = f"{args.server}/{args.database}"
    log(
        f"scale bench: {n:,} persons, {10 * n:,} documents, {10 * n:,} journal events, "
        f"{counsellors:,} counsellors, {establishments} establishments; database {args.database}"
    )
    load_seconds = None
    try:
        if not args.reuse:
            create_database(args.server, args.database)
        start = time.perf_counter()
        engine = make_engine(url)
        with engine.connect() as connection:
            before = migrate.current_revision(connection)
        migrate.upgrade(engine)
        engine.dispose()
        log(f"migrations: {time.perf_counter() - start:.1f} s")
        if args.reuse and before != migrate.head_revision():
            # What autovacuum does in service after a migration's UPDATE (the
            # tests' server runs without it): statistics of the new columns,
            # and GIN pending lists merged (each scan reads them whole).
            start = time.perf_counter()
            vacuum_analyze(url)
            log(f"VACUUM ANALYZE after the migrations: {time.perf_counter() - start:.1f} s")
        if not args.reuse:
            start = time.perf_counter()
            timings = load(url, n, counsellors, establishments)
            load_seconds = time.perf_counter() - start
            for step, seconds in timings.items():
                log(f"load: {step}: {seconds:.1f} s")
            log(f"load: total {load_seconds:.1f} s")
        size, tables = database_size(url)
        log(f"database size: {size / 2**30:.2f} GiB")
        for table, data, idx in tables:
            log(f"  {table:20s} table {data / 2**20:9.1f} MiB   indexes {idx / 2**20:9.1f} MiB")
        rng = random.Random(20261206)
        targets = rng.sample(range(n), min(args.targets, n))
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                env="testing",
                instance_path=Path(tmp),
                database_url=url,
                storage_url=(Path(tmp) / "blobs").as_uri(),
                secret_key=secrets.token_urlsafe(48),
                server_keys="1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
                escrow_public_key=dev_escrow_pair()["escrow_public_key"],
            )
            app = create_app(settings)
            start = time.perf_counter()
            warmed = warm(url)
            log(f"warm-up: {warmed / 2**30:.2f} GiB read in {time.perf_counter() - start:.1f} s")
            results = measure(app, n, counsellors, targets, args.only)
    finally:
        if not args.keep:
            drop_database(args.server, args.database)
            log(f"database {args.database} dropped")
    worst = max(results, key=lambda k: results[k]["sql_p95"])
    log(
        f"scale_bench persons={n} documents={10 * n} "
        f"worst_p95_ms={results[worst]['sql_p95']:.2f} worst_query={worst}"
    )


if __name__ == "__main__":
    main()
