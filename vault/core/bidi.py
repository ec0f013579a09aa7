"""Bidirectional isolation of what people typed (docs/rtl.md).

A title or a name may be written in another script than the page: an Arabic
title in a French sentence, a Latin name on an Arabic page. Without isolation
the Unicode bidirectional algorithm lets it pull the punctuation and numbers
around it to its own side, and the sentence reads scrambled. `<bdi>` isolates
it and gives it the direction of its own first letter.
"""

from __future__ import annotations

from markupsafe import Markup


def bdi(value: object) -> Markup:
    """`<bdi>value</bdi>`, the value escaped (a Jinja filter: `{{ title|bdi }}`)."""
    return Markup("<bdi>{}</bdi>").format(value)
