"""Intake files for the tests: a large arrivals list with known bad lines."""

from __future__ import annotations

PLACE = "Centre pénitentiaire de Test"
OTHER_PLACE = "Maison d'arrêt de Lyon"
HEADER = "action;numero_ecrou;etablissement;nom;prenom;date_naissance;conseiller"

# (line as written, the reason code the report must give); 20 bad lines.
BAD_LINES = [
    ("arrivee;;{place};Durand;Paul;01/02/1990;", "missing_prison_number"),
    ("arrivee;A/B*9;{place};Durand;Paul;01/02/1990;", "bad_prison_number"),
    ("arrivee;B{n};;Durand;Paul;01/02/1990;", "missing_establishment"),
    ("arrivee;B{n};Prison de Nulle Part;Durand;Paul;;", "unknown_establishment"),
    ("arrivee;B{n};{place};;Paul;01/02/1990;", "missing_last_name"),
    ("arrivee;B{n};{place};Durand;;01/02/1990;", "missing_first_name"),
    ("arrivee;B{n};{place};Durand;Paul;31/02/1990;", "bad_date"),
    ("arrivee;B{n};{place};Durand;Paul;01/02/1850;", "impossible_birth_date"),
    ("arrivee;B{n};{place};Durand;Paul;01/02/1990;personne.inconnue", "unknown_counsellor"),
    ("arriver;B{n};{place};Durand;Paul;01/02/1990;", "bad_action"),
    ("arrivee;B{n};{place};" + "D" * 101 + ";Paul;;", "long_last_name"),
    ("arrivee;B{n};{place};Durand;" + "P" * 101 + ";;", "long_first_name"),
    ("arrivee;B{n};{place};Durand;Paul;1990-13-01;", "bad_date"),
    ("arrivee;B{n};{place};Durand;Paul;01/02/2990;", "impossible_birth_date"),
    ("depart;B{n};{place};Durand;Paul;;", "bad_action"),
    ("arrivee;B{n};{place};Durand;Paul;;;en trop", "extra_cells"),
    ("arrivee;" + "9" * 33 + ";{place};Durand;Paul;;", "bad_prison_number"),
    ("arrivee;B{n};{place};Durand;Paul;;claire.absente", "unknown_counsellor"),
    ("arrivee;B{n};{place};Durand;Paul;hier;", "bad_date"),
    # Repeats good line 2's prison number (A0000): which one is meant?
    ("arrivee;A0000;{place};Autre;Personne;;", "duplicate:2"),
]


def arrivals(
    good: int = 480, counsellor: str = "", place: str = PLACE
) -> tuple[bytes, dict[int, str]]:
    """`good` arrivals and the 20 bad lines spread among them; (file, {line: reason})."""
    rows = [HEADER]
    expected: dict[int, str] = {}
    bad = iter(BAD_LINES)
    step = max(1, good // len(BAD_LINES))
    for i in range(good):
        rows.append(
            f"arrivee;A{i:04d};{place};Nom{i};Prénom{i};{1 + i % 28:02d}/03/1990;"
            + (counsellor if i % 3 == 0 else "")
        )
        if i % step == step - 1:
            line = next(bad, None)
            if line is not None:
                rows.append(line[0].format(place=place, n=i))
                expected[len(rows)] = line[1]
    for line in bad:
        rows.append(line[0].format(place=place, n=999))
        expected[len(rows)] = line[1]
    return ("\r\n".join(rows) + "\r\n").encode(), expected
