"""Plain French on the person's pages (issue 14; the rules are docs/writing.md).

Every page a person can open (each GET of the authorization matrix that
answers 200 to the owner or to anyone signed out, so a page added later is
checked too) is rendered in French with data that fills it, and the text of
its main area is read the way a person reads it: each block (a heading, a
paragraph, a list item, a label, a button) cut into sentences. No sentence
may be longer than 20 words, no listed jargon word may appear, and no
sentence may give the reader a grammatical gender they may not have.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.helpers import text_of
from tests.integration.core.matrix_roles import ANONYMOUS, OWNER
from tests.integration.core.test_authorization_matrix import MATRIX, World, world
from vault.core.languages import CODES

__all__ = ["world"]  # the matrix's fixture, with its data, serves here too

LONGEST_SENTENCE = 20
TRANSLATIONS = Path(__file__).parents[3] / "vault" / "translations"
FRENCH_CATALOGUE = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
# The rules every language shares (docs/writing.md): the same sentence length,
# and no file names or format words, whatever the script.
FILE_WORDS = re.compile(r"(manifest|journal)\.json|resume\.pdf|\bzip\b", re.IGNORECASE)

# Words a person should not have to know (docs/writing.md, "Words we do not use").
JARGON = re.compile(
    r"\b(manifest|json|zip|archive|pièces? justificatives?|sha-?256|empreinte|"
    r"métadonnées|hachage|chiffrement|chiffrée?s?|téléverser|upload|url|mime|"
    r"navigateur|token|jeton)\b",
    re.IGNORECASE,
)
# "Vous êtes connecté", "vous serez informé": the participle or adjective gives
# the reader a gender. Sentences are turned so that the subject is a thing or an action.
GENDERED = re.compile(
    r"\b(?:vous|je)\s+(?:ne\s+|n')?(?:vous\s+|me\s+)?(?:êtes|serez|étiez|soyez|avez\s+été|seriez|"
    r"suis|serai|étais|ai\s+été)\s+"
    r"(?:pas\s+|plus\s+|bien\s+|encore\s+|déjà\s+)?"
    r"(connecté|déconnecté|sûr|prêt|seul|informé|arrivé|libéré|sorti|transféré|détenu|"
    r"inscrit|averti|invité|prévenu|certain|obligé|perdu|bloqué|concerné|intéressé)\b",
    re.IGNORECASE,
)
# Endpoints that answer a file or an image rather than a page to read.
NOT_PAGES = {
    "static",
    "main.health",
    "metrics",
    "documents.download",
    "documents.preview",
    "documents.page",
}
BLOCKS = {
    "p", "li", "h1", "h2", "h3", "h4", "label", "button", "a", "legend", "dt", "dd",
    "td", "th", "summary", "figcaption", "caption", "div", "section", "option",
}  # fmt: skip
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
WORD = re.compile(r"[\wÀ-ÿ'’-]+")


class MainText(HTMLParser):
    """The visible text of `<main>`, one string per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # inside <main> when > 0
        self.hidden = 0  # inside <script>, <style>, <template> or a hidden element
        self.blocks: list[str] = [""]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.depth += 1
        if self.hidden or tag in {"script", "style", "template"} or ("hidden", None) in attrs:
            if tag not in {"br", "img", "input", "meta", "link"}:
                self.hidden += 1
            return
        if tag in BLOCKS or tag == "br":
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            self.hidden -= 1
            return
        if tag == "main":
            self.depth -= 1
        if tag in BLOCKS:
            self.blocks.append("")

    def handle_data(self, data: str) -> None:
        if self.depth and not self.hidden:
            self.blocks[-1] += data


def sentences(html: str) -> list[str]:
    parser = MainText()
    parser.feed(html)
    found = []
    for block in parser.blocks:
        text = " ".join(block.split())
        found += [s for s in SENTENCE_END.split(text) if WORD.search(s)]
    return found


def words(sentence: str) -> int:
    return len(WORD.findall(sentence))


PAGES = sorted(
    endpoint
    for endpoint, (method, _path, expected) in MATRIX.items()
    if method == "GET"
    and endpoint not in NOT_PAGES
    and (expected[OWNER] == 200 or expected[ANONYMOUS] == 200)
)


# Words do not depend on the database: one is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("endpoint", PAGES)
def test_person_page_is_plain_french(world: World, endpoint: str) -> None:
    _method, template, expected = MATRIX[endpoint]
    role = OWNER if expected[OWNER] == 200 else ANONYMOUS
    response = world.clients[role].get(template.format(**world.ids))
    assert response.status_code == 200
    assert response.mimetype == "text/html", f"{endpoint}: not a page; list it in NOT_PAGES"
    read = sentences(text_of(response))
    assert read, f"{endpoint}: no text found in <main>: the check would prove nothing"
    faults = (
        [f"over {LONGEST_SENTENCE} words: {s}" for s in read if words(s) > LONGEST_SENTENCE]
        + [f"jargon: {s}" for s in read if JARGON.search(s)]
        + [f"gendered: {s}" for s in read if GENDERED.search(s)]
    )
    assert not faults, f"{endpoint}: " + "\n".join(faults)


def test_the_reader_finds_long_sentences_jargon_and_gender() -> None:
    """The checks above would catch what they claim to (a control on known text)."""
    html = (
        "<html><body><nav><p>Un menu très long qui n'est pas dans la page principale et "
        "qui compte bien plus de vingt mots pour voir si on le lit par erreur ici.</p></nav>"
        "<main><h1>Titre</h1><p>Court. Une phrase de vingt et un mots, ce qui est un de plus "
        "que la limite fixée pour ces pages ici.</p>"
        "<p>Le fichier manifest.json liste tout.</p><p>Vous êtes bien connecté.</p>"
        "<script>var x = 'une très longue chaîne de script que personne ne lit jamais'</script>"
        "<p hidden>caché, avec un mot comme archive</p></main></body></html>"
    )
    read = sentences(html)
    assert read[:2] == ["Titre", "Court."]
    assert [words(s) for s in read if words(s) > LONGEST_SENTENCE] == [21]
    assert [s for s in read if JARGON.search(s)] == ["Le fichier manifest.json liste tout."]
    assert [s for s in read if GENDERED.search(s)] == ["Vous êtes bien connecté."]
    assert not any("caché" in s or "menu" in s or "script" in s for s in read)


def test_every_french_message_follows_the_rules() -> None:
    """The same rules on the whole French catalogue: flash messages, errors and the
    staff's pages too, which a page visit in one state of the data cannot all reach."""
    with open(FRENCH_CATALOGUE, "rb") as f:
        catalogue = read_po(f)
    faults = []
    for message in catalogue:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for form in forms:
            text = " ".join(re.sub(r"<[^>]+>", " ", form).split())
            faults += [
                f"over {LONGEST_SENTENCE} words: {s}"
                for s in SENTENCE_END.split(text)
                if words(s) > LONGEST_SENTENCE
            ]
            faults += [f"jargon: {text}"] if JARGON.search(text) else []
            faults += [f"gendered: {text}"] if GENDERED.search(text) else []
    assert len(catalogue) > 1000  # the real catalogue, not an empty file
    assert not faults, "\n".join(faults)


def catalogue_faults(path: Path) -> list[str]:
    with open(path, "rb") as f:
        catalogue = read_po(f)
    faults = []
    for message in catalogue:
        forms = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for form in forms if message.id else []:
            text = " ".join(re.sub(r"<[^>]+>", " ", form).split())
            faults += [
                f"over {LONGEST_SENTENCE} words: {s}"
                for s in SENTENCE_END.split(text)
                if words(s) > LONGEST_SENTENCE
            ]
            faults += [f"file word: {text}"] if FILE_WORDS.search(text) else []
    return faults


@pytest.mark.parametrize("code", [c for c in CODES if c != "fr"])
def test_every_language_keeps_sentences_short_and_names_no_file(code: str) -> None:
    """Rules 1 and 4 of docs/writing.md in each catalogue: a translation does not
    bring back the long sentence or the file name that the French one lost."""
    faults = catalogue_faults(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po")
    assert not faults, f"{code}:\n" + "\n".join(faults)


def test_the_shared_rules_catch_a_long_sentence_and_a_file_name(tmp_path: Path) -> None:
    catalogue = tmp_path / "messages.po"
    catalogue.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "a"\nmsgstr "ملف manifest.json"\n\n'
        'msgid "b"\nmsgstr "' + " ".join(["слово"] * 21) + '."\n',
        encoding="utf-8",
    )
    assert [f.split(":")[0] for f in catalogue_faults(catalogue)] == [
        "file word",
        f"over {LONGEST_SENTENCE} words",
    ]
