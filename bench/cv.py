"""What a CV's "Make the PDF" costs: the PDF of a full two-page CV made 50 times.

Everything runs in this process, on a temporary instance (SQLite file and
local blob folder, as ``make run``; the test suite's settings, migrated to
head) with one person's account made through the real services. Each round
is what the ``POST /cv/pdf`` route does after its form check, through the
app's service (vault.cv.making): the draft's record laid out by WeasyPrint
(``render_cv``, model "columns", the fullest), then filed as a new version of
the CV document through the one intake (``file_into_vault``: sealed,
encrypted into the store, committed), inside a request context.

The CV is a full one: nine experiences with their details, eight trainings,
every skill of three trades plus free text, five languages, two licences,
interests; it takes two A4 pages, which the benchmark checks. In the same
run, the baseline: a one-page cover letter through the same renderer
(``render_letter``), not filed.

One untimed warm-up of each (WeasyPrint and its fonts load on the first
PDF), then 50 rounds of each, alternated. ``p95_ms`` is the nearest-rank 95th
percentile of the CV rounds' wall time (their CPU time is printed too: on
a shared machine it varies less); ``peak_rss_mib`` the process's ``VmHWM``.

Targets (issue 15): p95 ≤ 1500 ms, peak RSS ≤ 250 MiB. The last line is exactly::

    cv_bench p95_ms=X peak_rss_mib=Y
"""

from __future__ import annotations

import math
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdfium2 as pdfium

from tests.conftest import make_settings
from tests.factories import make_account
from vault import create_app
from vault.core import migrate
from vault.core.db import db_session, make_engine
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.cv import making
from vault.documents.intake import Limits
from vault.documents.service import Unlocked
from vault.models import User

ROUNDS = 50


def peak_rss_mib() -> float:
    """This process's peak resident set size (``VmHWM``), in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def full_cv() -> dict[str, object]:
    details = (
        "Préparation des commandes, contrôle des quantités, étiquetage et rangement; "
        "travail en équipe de six, respect des consignes de sécurité et des délais."
    )
    return {
        "v": 1,
        "template": "columns",
        "identity": {
            "first_name": "Karim",
            "last_name": "Benali",
            "phone": "06 12 34 56 78",
            "email": "karim.benali@exemple.fr",
            "town": "Lyon",
        },
        "job": {
            "title": "Préparateur de commandes",
            "summary": "Sérieux, ponctuel et soigneux, j'aime le travail bien fait et en équipe.",
        },
        "experience": [
            {
                "title": f"Agent de production {n}",
                "place": "Atelier de production",
                "dates": f"{2012 + n}–{2013 + n}",
                "details": details,
            }
            for n in range(9)
        ],
        "training": [
            {"title": f"Formation qualifiante {n}", "place": "GRETA", "year": str(2010 + n)}
            for n in range(8)
        ],
        "skills": {
            "picked": [
                "handling",
                "stock",
                "picking",
                "forklift",
                "assembly",
                "packing",
                "machine",
                "quality",
                "teamwork",
                "punctuality",
                "care",
                "safety",
            ],
            "other": "Inventaire\nGestion des retours\nLecture de plans",
        },
        "languages": [
            {"language": name, "level": level}
            for name, level in (
                ("Français", "native"),
                ("Arabe", "C1"),
                ("Anglais", "B1"),
                ("Espagnol", "A2"),
                ("Italien", "A1"),
            )
        ],
        "licence": {"kinds": ["B", "C"]},
        "interests": "Football en club, course à pied, cuisine, lecture de romans policiers.",
    }


LETTER = {
    "job": {"title": "Préparateur de commandes", "employer": "Entrepôt Sud", "name": "K. Benali"},
    "p1": "Je vous propose ma candidature au poste de préparateur de commandes.",
    "p2": "J'ai déjà fait ce type de travail : je sais ce qu'il demande et j'apprends vite.",
    "p3": "Je suis disponible rapidement et je serais heureux de vous rencontrer.",
}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cv-bench-") as tmp:
        settings = make_settings(Path(tmp))
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)
        engine.dispose()
        app = create_app(settings)
        account = make_account(app, first="Karim", last="Benali")
        record = full_cv()
        cv_ms: list[float] = []
        cv_cpu_ms: list[float] = []
        letter_ms: list[float] = []
        with app.test_request_context("/cv/pdf", method="POST"):
            db = db_session()
            user = db.get(User, account.user.id)
            assert user is not None
            owner = Unlocked(user, account.key)
            config = get_settings()
            limits = Limits(config.max_upload_bytes, config.vault_quota_bytes)

            render_ms: list[float] = []

            def make_cv() -> bytes:
                start = time.perf_counter()
                pdf = making.render_cv(record)
                render_ms.append((time.perf_counter() - start) * 1000)
                intake, document = making.file_into_vault(
                    db,
                    get_store(),
                    get_keyring(),
                    owner,
                    limits,
                    pdf,
                    doc_type="cv",
                    title=making.cv_title(record),
                    filename="cv.pdf",
                    previous=str(record.get("document_id", "")),
                )
                intake.commit()
                record["document_id"] = str(document.id)
                return pdf

            first = make_cv()
            pages = len(pdfium.PdfDocument(first))
            assert pages == 2, f"the full CV takes {pages} pages, not two"
            making.render_letter(LETTER, {"name": "K. Benali"})
            for _ in range(ROUNDS):
                start, cpu = time.perf_counter(), time.process_time()
                make_cv()
                cv_ms.append((time.perf_counter() - start) * 1000)
                cv_cpu_ms.append((time.process_time() - cpu) * 1000)
                start = time.perf_counter()
                making.render_letter(LETTER, {"name": "K. Benali"})
                letter_ms.append((time.perf_counter() - start) * 1000)
        print(
            f"cv (2 pages, rendered and filed): median {statistics.median(cv_ms):.0f} ms, "
            f"p95 {percentile(cv_ms, 95):.0f} ms, max {max(cv_ms):.0f} ms; "
            f"{ROUNDS} versions filed; of which rendering: median "
            f"{statistics.median(render_ms[1:]):.0f} ms; CPU: median "
            f"{statistics.median(cv_cpu_ms):.0f} ms, p95 {percentile(cv_cpu_ms, 95):.0f} ms"
        )
        print(
            f"baseline letter (1 page, rendered): median {statistics.median(letter_ms):.0f} ms, "
            f"p95 {percentile(letter_ms, 95):.0f} ms"
        )
        print(f"cv_bench p95_ms={percentile(cv_ms, 95):.0f} peak_rss_mib={peak_rss_mib():.0f}")


if __name__ == "__main__":
    main()
