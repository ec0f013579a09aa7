"""Categories and document types, with their French labels and pictograms.

Codes are stored; labels go through the translation layer when shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


@dataclass(frozen=True)
class Category:
    code: str
    label: LazyString | str
    icon: str


CATEGORIES: tuple[Category, ...] = (
    Category("identity", _l("Identity"), "identity"),
    Category("justice", _l("Justice"), "justice"),
    Category("health", _l("Health"), "health"),
    Category("housing", _l("Housing"), "housing"),
    Category("work", _l("Work and CV"), "work"),
    Category("education", _l("Education and training"), "education"),
    Category("benefits", _l("Benefits and money"), "benefits"),
    Category("family", _l("Family"), "family"),
    Category("other", _l("Other"), "other"),
)
CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}

# Document types per category; "other" exists in each so nothing is forced.
DOCUMENT_TYPES: dict[str, tuple[tuple[str, LazyString], ...]] = {
    "identity": (
        ("id_card", _l("Identity card")),
        ("passport", _l("Passport")),
        ("residence_permit", _l("Residence permit")),
        ("birth_certificate", _l("Birth certificate")),
        ("identity_other", _l("Other identity document")),
    ),
    "justice": (
        ("judgment", _l("Court decision")),
        ("release_certificate", _l("Release certificate")),
        ("detention_certificate", _l("Detention certificate")),
        ("justice_other", _l("Other justice document")),
    ),
    "health": (
        ("social_security_card", _l("Social security card (carte Vitale)")),
        ("social_security_certificate", _l("Social security certificate")),
        ("health_insurance", _l("Complementary health insurance")),
        ("medical", _l("Medical document")),
        ("health_other", _l("Other health document")),
    ),
    "housing": (
        ("proof_of_address", _l("Proof of address")),
        ("accommodation_certificate", _l("Accommodation certificate")),
        ("lease", _l("Lease")),
        ("housing_other", _l("Other housing document")),
    ),
    "work": (
        ("cv", _l("CV")),
        ("cover_letter", _l("Cover letter")),
        ("employment_registration", _l("Employment service registration")),
        ("employment_certificate", _l("Employment certificate")),
        ("payslip", _l("Payslip")),
        ("work_other", _l("Other work document")),
    ),
    "education": (
        ("diploma", _l("Diploma")),
        ("training_certificate", _l("Training certificate")),
        ("education_other", _l("Other education document")),
    ),
    "benefits": (
        ("bank_details", _l("Bank details (RIB)")),
        ("benefits_certificate", _l("Benefits certificate")),
        ("tax_notice", _l("Tax notice")),
        ("benefits_other", _l("Other money document")),
    ),
    "family": (
        ("family_record_book", _l("Family record book")),
        ("family_other", _l("Other family document")),
    ),
    "other": (("other", _l("Other document")),),
}
TYPE_LABELS = {code: label for types in DOCUMENT_TYPES.values() for code, label in types}
TYPE_CATEGORY = {code: cat for cat, types in DOCUMENT_TYPES.items() for code, _ in types}


# The "other" type of each category: the last of its list, « Autre document … ».
OTHER_TYPE = {category: types[-1][0] for category, types in DOCUMENT_TYPES.items()}


def is_valid(category: str, doc_type: str) -> bool:
    return TYPE_CATEGORY.get(doc_type) == category


def type_within(category: str, doc_type: str) -> str:
    """`doc_type` if it belongs to `category`, else the category's "other" type (D-080).

    Without JavaScript the type list shows every category's types; a type
    left on a default, or chosen before the category changed, must neither
    refuse a valid category nor file the paper under another category's type.
    An unknown category gives "" (the form refuses it).
    """
    if category not in OTHER_TYPE:
        return ""
    return doc_type if is_valid(category, doc_type) else OTHER_TYPE[category]


def preselected(doc_type: str, category: str) -> tuple[str, str]:
    """The category and type a form opens with, from a link's `type` and `categorie`.

    A known type brings its own category (a request answered); else a known
    category, else "other" (not "identity": a paper left on the defaults is not
    an identity card), with the category's "other" type (D-080).
    """
    chosen = TYPE_CATEGORY.get(doc_type) or category
    if chosen not in OTHER_TYPE:
        chosen = "other"
    return chosen, type_within(chosen, doc_type)


@dataclass(frozen=True)
class Labels:
    """Every label translated for one locale: plain strings, ready to show."""

    categories: tuple[Category, ...]
    types: Mapping[str, str]  # read-only: shared by every request in the locale


def labels() -> Labels:
    """The labels in the request's language.

    A lazy string looks up the locale and its catalogue each time it is shown;
    the list page shows dozens on every request, and they never change while
    the process runs, so each locale's are translated once.
    """
    return _labels_for(str(get_locale()))


@lru_cache(maxsize=8)
def _labels_for(_locale: str) -> Labels:
    # Translated through the request's locale, which is the key.
    return Labels(
        categories=tuple(Category(c.code, str(c.label), c.icon) for c in CATEGORIES),
        types=MappingProxyType({code: str(label) for code, label in TYPE_LABELS.items()}),
    )
