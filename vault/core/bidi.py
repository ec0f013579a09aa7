"""Bidirectional isolation of what people typed (docs/rtl.md).

A title or a name may be written in another script than the page: an Arabic
title in a French sentence, a Latin name on an Arabic page. Without isolation
the Unicode bidirectional algorithm lets it pull the punctuation and numbers
around it to its own side, and the sentence reads scrambled. `<bdi>` isolates
it and gives it the direction of its own first letter.
"""

from __future__ import annotations

from markupsafe import Markup, escape

# FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE: <bdi> in plain text.
FSI = "\u2068"
PDI = "\u2069"


def bdi(value: object) -> Markup:
    """`<bdi>value</bdi>`, the value escaped (a Jinja filter: `{{ title|bdi }}`)."""
    return Markup("<bdi>{}</bdi>").format(value)


def isolate(value: object) -> str:
    """`value` isolated in plain text, for a sentence built in Python (a journal line).

    The Unicode isolates do in text what `<bdi>` does in a page; a PDF (Pango)
    and a JSON reader honour them as they are, and `isolated` turns them into
    `<bdi>` on a page. Isolates inside the value (a title may hold any
    character) are left out, so the pairs never nest nor cross.
    """
    plain = str(value).replace(FSI, "").replace(PDI, "")
    return f"{FSI}{plain}{PDI}"


def isolated(text: object) -> Markup:
    """`text` escaped, its isolates as `<bdi>` (a Jinja filter: `{{ line.text|isolated }}`).

    Only whole pairs become elements: an unpaired isolate (a title holding one)
    stays a character, so the markup stays well formed.
    """
    parts = str(text).split(FSI)
    out = [escape(parts[0])]
    for part in parts[1:]:
        inner, pop, rest = part.partition(PDI)
        if pop:
            out.append(Markup("<bdi>{}</bdi>{}").format(inner, rest))
        else:
            out.append(escape(FSI + part))
    return Markup("").join(out)
