"""Categories and types: the type follows the category (issue 13, D-080)."""

from __future__ import annotations

import pytest

from vault.core.catalog import DOCUMENT_TYPES, OTHER_TYPE, TYPE_LABELS, preselected, type_within


def test_every_category_has_an_other_type_of_its_own() -> None:
    assert set(OTHER_TYPE) == set(DOCUMENT_TYPES)
    for category, other in OTHER_TYPE.items():
        assert other.endswith("other"), (category, other)
        assert other in dict(DOCUMENT_TYPES[category])
    assert len(set(OTHER_TYPE.values())) == len(OTHER_TYPE)


@pytest.mark.parametrize(
    ("category", "doc_type", "filed"),
    [
        ("benefits", "tax_notice", "tax_notice"),
        ("benefits", "id_card", "benefits_other"),
        ("benefits", "", "benefits_other"),
        ("other", "id_card", "other"),
        ("nowhere", "id_card", ""),
        ("", "", ""),
    ],
)
def test_a_type_outside_its_category_is_the_categorys_other(
    category: str, doc_type: str, filed: str
) -> None:
    assert type_within(category, doc_type) == filed


@pytest.mark.parametrize(
    ("doc_type", "category", "opened"),
    [
        ("tax_notice", "", ("benefits", "tax_notice")),
        ("tax_notice", "identity", ("benefits", "tax_notice")),  # the type wins
        ("", "housing", ("housing", "housing_other")),
        ("nothing", "housing", ("housing", "housing_other")),
        ("", "", ("other", "other")),
        ("", "nowhere", ("other", "other")),
    ],
)
def test_a_form_opens_with_a_category_and_one_of_its_types(
    doc_type: str, category: str, opened: tuple[str, str]
) -> None:
    assert preselected(doc_type, category) == opened
    assert opened[1] in TYPE_LABELS
