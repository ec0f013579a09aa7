"""Right to left stays possible (docs/rtl.md): cheap checks on the stylesheets.

The layout follows `<html dir>` only if no rule names a physical side: a
`margin-left`, a `float: right` or a `text-align: left` put back in a
stylesheet would stick to the same side in Arabic. The pictograms that point
the way the text reads must turn round in right-to-left pages.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STYLESHEETS = sorted((ROOT / "static" / "css").glob("*.css"))
TEMPLATES = ROOT / "templates"
# The pictograms that point along the line (an arrow back, the way out, the
# sound going out of the speaker); the others read the same both ways.
DIRECTIONAL_ICONS = ("back", "signout", "listen")

SIDE = re.compile(r"\b(left|right)\b", re.IGNORECASE)
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# A page-margin box (`@bottom-right`) has no logical name in CSS Paged Media;
# it only places the printed page number.
MARGIN_BOX = re.compile(r"@(?:top|bottom)-(?:left|right)(?:-corner)?\b")
STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)


def css_sources() -> list[tuple[str, str]]:
    """Every stylesheet, and every <style> in a template (the printed sheets)."""
    sources = [(str(path.relative_to(ROOT)), path.read_text()) for path in STYLESHEETS]
    for template in sorted(TEMPLATES.rglob("*.html")):
        for block in STYLE_BLOCK.findall(template.read_text()):
            sources.append((str(template.relative_to(ROOT)), block))
    return sources


def physical_sides(css: str) -> list[str]:
    """Declarations that name a physical side, in property or value."""
    css = MARGIN_BOX.sub("", COMMENT.sub("", css))
    found = []
    for declaration in re.findall(r"[\w-]+\s*:[^;{}]*", css):
        if SIDE.search(declaration):
            found.append(declaration.strip())
    return found


def test_no_stylesheet_names_a_physical_side() -> None:
    """margin-inline-start, not margin-left; text-align: start, not left."""
    offenders = [
        f"{name}: {declaration}"
        for name, css in css_sources()
        for declaration in physical_sides(css)
    ]
    assert not offenders, offenders


def test_the_check_catches_physical_sides() -> None:
    """The check itself: what it must refuse, and what it must let through."""
    refused = [
        ".a { margin-left: 1rem; }",
        ".a { padding-right: 0 }",
        ".a { float: right; }",
        ".a { text-align: left; }",
        ".a { border-left: 4px solid; }",
        ".a { position: absolute; left: 0; }",
        ".a { border-top-right-radius: 2px; }",
    ]
    for css in refused:
        assert physical_sides(css), css
    allowed = [
        ".a { margin-inline-start: 1rem; text-align: start; float: inline-end; }",
        "/* was margin-left */ .a { inset-inline: 0; }",
        "@page { @bottom-right { content: counter(page); } }",
        ".bright { color: red; }",
    ]
    for css in allowed:
        assert not physical_sides(css), css


def test_no_template_sets_a_side_in_markup() -> None:
    """No `align="left"` and the like: the CSP forbids style attributes, and an
    HTML attribute would fix the side the same way a property does."""
    pattern = re.compile(r"""\balign=["']?(left|right)""", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in TEMPLATES.rglob("*.html")
        if pattern.search(path.read_text())
    ]
    assert not offenders, offenders


def test_directional_icons_turn_round_right_to_left() -> None:
    css = (ROOT / "static" / "css" / "vault.css").read_text()
    rule = re.search(r"([^{}]*)\{\s*transform:\s*scaleX\(-1\);?\s*\}", COMMENT.sub("", css))
    assert rule, "no mirroring rule in vault.css"
    selectors = {s.strip() for s in rule.group(1).split(",")}
    assert selectors == {f"[dir=rtl] .icon-{name}" for name in DIRECTIONAL_ICONS}, selectors
    sprite = (ROOT / "static" / "icons" / "sprite.svg").read_text()
    for name in DIRECTIONAL_ICONS:
        assert f'<symbol id="{name}"' in sprite, name


def test_text_arrows_are_icons() -> None:
    """A "←" typed in a template points left in Arabic too, where "back" is to
    the right: back links use the `back` pictogram, which turns round."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in TEMPLATES.rglob("*.html")
        if re.search("[←→]", path.read_text())
    ]
    assert not offenders, offenders
