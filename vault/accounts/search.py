"""Finding accounts among all of a national service's: one rule for administrators and officers.

A name matches when each word typed is one of its words, in any order, the
last one typed only its beginning, as someone still typing ("Mart", "Camille
Martin", "Martin Cam" all find Camille Martin; a hyphen or an apostrophe
separates words: "Pierre" finds Jean-Pierre). A username or a prison number
matches when it contains what was typed.

Each test reads its own index, and the ids are united: one OR across users
and profiles read every account (a million in a national service,
docs/benchmarks.md). On PostgreSQL the name's words are a full-text vector
('simple': no stemming, no stop words, lower case) under a GIN index, whose
posting lists are those of whole words; the trigram index the name had
cost 9 ms of CPU per full name (D-202). Only the last word is a prefix: the
index answers a prefix by gathering every entry of every word that begins
so, 8 ms for a first name as common as Jean; a whole word is one list.
Username and prison number keep their trigram indexes. SQLite (a small
service) compares the same words with LIKE, and no index.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    and_,
    false,
    func,
    literal,
    literal_column,
    select,
    union,
)
from sqlalchemy.orm import Session

from vault.core import like
from vault.models import PersonProfile, User

# Words as the full-text parser cuts a name: letters and digits, nothing else
# (the underscore the parser also treats as a separator).
_WORD = re.compile(r"[^\W_]+")
# Characters that separate a name's words, for the SQLite comparison.
_SEPARATORS = ("-", "'", "’", ".", ",")
# The text-search configuration of the name index (migration 0017): the same
# literal in the query, or PostgreSQL does not recognise the indexed expression.
SIMPLE: ColumnElement[str] = literal_column("'simple'::regconfig")


def name_words_vector() -> ColumnElement[object]:
    """The indexed expression of users.display_name on PostgreSQL."""
    return func.to_tsvector(SIMPLE, User.display_name)


def name_matches(db: Session, q: str) -> ColumnElement[bool]:
    """Each word of `q` is a word of the account's name, the last one its beginning."""
    words = _WORD.findall(q)
    if not words:
        return false()
    *whole, last = words
    if db.get_bind().dialect.name == "postgresql":
        # Quoted lexemes, the last with the prefix mark; to_tsquery lowercases
        # them with the vector's own rules (words cannot hold a quote: _WORD).
        query = " & ".join([*(f"'{word}'" for word in whole), f"'{last}':*"])
        return name_words_vector().bool_op("@@")(func.to_tsquery(SIMPLE, query))
    spaced: ColumnElement[str] = User.display_name.expression
    for separator in _SEPARATORS:
        spaced = func.replace(spaced, separator, " ")
    padded = literal(" ") + spaced + literal(" ")
    return and_(*(padded.ilike(f"% {word} %") for word in whole), padded.ilike(f"% {last}%"))


def matching_ids(db: Session, q: str) -> CompoundSelect[tuple[uuid.UUID]]:
    """The ids of the accounts whose name, username or prison number matches `q`."""
    pattern = like.contains(q)
    return union(
        select(User.id).where(name_matches(db, q)),
        select(User.id).where(User.username.ilike(pattern, escape=like.ESCAPE)),
        select(PersonProfile.user_id).where(
            PersonProfile.prison_number.ilike(pattern, escape=like.ESCAPE)
        ),
    )
