"""Take the screenshots in docs/screens/ (docs/screens/README.md).

    .venv/bin/python scripts/screenshots.py [--out docs/screens]

Starts the app on the embedded default in a temporary folder, fills it with
`vault demo`'s accounts and papers, serves it on 127.0.0.1, and photographs
pages in Debian's Chromium through Playwright, at the kiosk's size (1280×1024)
and a phone's (390×844). The temporary folder, demo secrets included, is
removed at the end: nothing outside --out is kept.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"kiosk": {"width": 1280, "height": 1024}, "phone": {"width": 390, "height": 844}}


def demo_photo(label: str, colour: tuple[int, int, int]) -> bytes:
    """A photographed paper, drawn: the screenshots show its preview."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 820), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 570, 130), fill=colour)
    draw.text((50, 70), label, fill=(255, 255, 255))
    for y in range(180, 760, 40):
        draw.line((50, y, 550, y), fill=(150, 150, 150), width=4)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def serve(instance: Path) -> tuple[Any, str, str, str]:
    """The app with demo data, served in a thread: (server, base URL, username, passphrase)."""
    from werkzeug.serving import make_server

    os.environ.update({"VAULT_ENV": "development", "VAULT_INSTANCE_PATH": str(instance)})
    from vault import create_app
    from vault.core import migrate
    from vault.core.db import db_session, make_engine
    from vault.core.extensions import get_settings
    from vault.dev.demo import make_demo

    app = create_app()
    engine = make_engine(get_settings(app).database_url)
    migrate.upgrade(engine)
    engine.dispose()
    with app.app_context():
        db = db_session()
        lines = make_demo(db)
        db.commit()
    person = next(line for line in lines if line.startswith("person"))
    username, passphrase = re.split(r"\s{2,}", person)[1:3]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", username, passphrase


def shoot(base: str, username: str, passphrase: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("screenshots: Debian's chromium is not installed")
    taken: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for name, viewport in SIZES.items():
            phone = name == "phone"
            context = browser.new_context(
                base_url=base, locale="fr-FR", viewport=viewport, is_mobile=phone, has_touch=phone
            )
            page = context.new_page()

            def save(what: str, page: Any = page, name: str = name) -> None:
                path = out / f"{what}-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                taken.append(path)

            page.goto("/")
            save("home")
            page.goto("/connexion")
            page.get_by_label("Identifiant").fill(username)
            page.get_by_label("Phrase secrète").fill(passphrase)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(re.compile(r"/documents/"))
            page.goto("/documents/ajouter")
            save("add-form")
            page.locator("#photos").set_input_files(
                [
                    {
                        "name": "recto.jpg",
                        "mimeType": "image/jpeg",
                        "buffer": demo_photo("RECTO", (31, 78, 153)),
                    },
                    {
                        "name": "verso.jpg",
                        "mimeType": "image/jpeg",
                        "buffer": demo_photo("VERSO", (29, 107, 47)),
                    },
                ]
            )
            page.locator("#photo-pages img").nth(1).wait_for()
            save("add-form-photos")
            page.get_by_label("Date d'expiration (s'il y en a une)").fill("1899-01-01")
            page.get_by_role("button", name="Ajouter à mon coffre").click()
            page.locator("#expiry_date-error").wait_for()
            save("add-form-error")
            context.close()
        browser.close()
    return taken


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vault-screens-") as instance:
        server, base, username, passphrase = serve(Path(instance))
        try:
            for path in shoot(base, username, passphrase, args.out):
                print(
                    f"screenshots: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                )
        finally:
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
