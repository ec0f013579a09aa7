"""The intake file reader (docs/intake.md §1): pure, no database."""

from __future__ import annotations

from datetime import date

import pytest

from vault.intake.csvfile import MAX_LINES, Action, FileRefused, parse

TODAY = date(2026, 12, 6)


def test_spreadsheet_exports_are_read_whatever_their_dialect() -> None:
    semicolons = (
        "\ufeffAction;Numéro d'écrou;ÉTABLISSEMENT;Nom;Prénom;Date de naissance\r\n"
        'Arrivée;24-1187;Centre  Pénitentiaire;"Martin; Dupont";Léa;12/05/1991\r\n'
        ";;;;;\r\n"
        "\r\n"
        "ARRIVEE;24-1188;Centre Pénitentiaire;Roux;Inès;1990-01-31\r\n"
    ).encode()
    commas = (
        b"numero_ecrou,etablissement,action,date_sortie,suivi\n"
        b"22-0977,Centre,sortie,03/11/2026,Oui\n"
    )
    lines, refused = parse(semicolons, today=TODAY)
    assert refused == []
    assert [(line.number, line.action, line.last_name, line.birth_date) for line in lines] == [
        (2, Action.ARRIVAL, "Martin; Dupont", date(1991, 5, 12)),
        (5, Action.ARRIVAL, "Roux", date(1990, 1, 31)),
    ]
    assert lines[0].establishment == "Centre Pénitentiaire"  # spaces folded
    (release,), refused = parse(commas, today=TODAY)
    assert (release.action, release.released_on, release.followup) == (
        Action.RELEASE,
        date(2026, 11, 3),
        True,
    )


def test_every_mistake_of_a_line_is_reported_at_once() -> None:
    data = (
        b"action;numero_ecrou;etablissement;nom;prenom;date_naissance\n"
        b"arrivee;;;;;32/01/1990\n"
        b"sortie;1;X;;;\n"
        b"transfert;1;X;;;\n"
    )
    lines, refused = parse(data, today=TODAY)
    assert lines == []
    assert [r.reasons for r in refused] == [
        (
            "missing_prison_number",
            "missing_establishment",
            "missing_last_name",
            "missing_first_name",
            "bad_date",
        ),
        ("missing_release_date",),
        ("missing_destination",),
    ]


def test_a_future_release_and_a_transfer_to_the_same_place_are_refused() -> None:
    data = (
        "action;numero_ecrou;etablissement;etablissement_destination;date_sortie;suivi\n"
        "sortie;1;X;;07/12/2026;\n"
        "sortie;2;X;;06/12/2026;peut-être\n"
        "transfert;3;Centre A;CENTRE  a;;\n"
    ).encode()
    _lines, refused = parse(data, today=TODAY)
    assert [r.reasons for r in refused] == [
        ("future_date",),
        ("bad_followup",),
        ("same_establishment",),
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"   \n", "empty"),
        (b"action;numero_ecrou;etablissement\n" + b'"x;1;2\n' * 3, "malformed"),
        (
            b"action;numero_ecrou;etablissement\n" + b"arrivee;1;X\n" * (MAX_LINES + 1),
            "too_many_lines",
        ),
    ],
)
def test_a_file_is_refused_whole_when_it_cannot_be_trusted(data: bytes, code: str) -> None:
    with pytest.raises(FileRefused) as caught:
        parse(data, today=TODAY)
    assert caught.value.code == code


def test_the_language_column_takes_a_code_or_a_name_and_refuses_the_unknown() -> None:
    data = (
        "action;numero_ecrou;etablissement;nom;prenom;Langue de la personne\n"
        "arrivee;1;X;Benali;Youssef;AR\n"
        "arrivee;2;X;Petrov;Ivan;Русский\n"
        "arrivee;3;X;Silva;Ana;portugais\n"
        "arrivee;4;X;Martin;Léa;\n"
        "arrivee;5;X;Kapanadze;Nino;ka\n"
    ).encode()
    lines, refused = parse(data, today=TODAY)
    assert [(line.number, line.locale) for line in lines] == [
        (2, "ar"),
        (3, "ru"),
        (4, "pt"),
        (5, None),
    ]
    assert [(r.number, r.reasons, r.fields) for r in refused] == [
        (6, ("bad_language",), ("langue",))
    ]
