"""The vault: a coffre-fort numérique for people in prison and after release."""

from __future__ import annotations

import logging
import sys

from flask import Flask

from vault.config import PROJECT_ROOT, ConfigError, Settings

log = logging.getLogger(__name__)

MULTIPART_SLACK = 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings`, or from the environment when none are given.

    Built from the environment (wsgi.py, the CLI, gunicorn), an invalid setting
    ends the process with one line naming the variable and exit status 2,
    rather than a traceback in front of the operator.
    """
    if settings is not None:
        return _build(settings)
    try:
        return _build(Settings.from_env())
    except ConfigError as e:
        sys.stderr.write(f"vault: configuration error: {e}\n")
        raise SystemExit(2) from None


def _build(settings: Settings) -> Flask:
    from vault import auth, errors, extensions, security, views
    from vault.cli import register_commands
    from vault.http import VaultRequest

    app = Flask(
        "vault",
        root_path=str(PROJECT_ROOT / "vault"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(settings.instance_path),
    )
    app.request_class = VaultRequest
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Room for the form's other fields and the multipart framing.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + MULTIPART_SLACK,
        TESTING=settings.testing,
    )
    app.extensions["vault.settings"] = settings
    _configure_logging(settings)
    if settings.uses_dev_secrets:
        log.warning(
            "USING DEVELOPMENT SECRETS from %s: anyone with this folder can unwrap "
            "stored keys. Never run like this in production.",
            settings.instance_path,
        )

    extensions.init_app(app, settings)
    auth.init_app(app)
    security.init_app(app, settings)
    errors.init_app(app)
    views.init_app(app)
    register_commands(app)
    return app


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("vault").setLevel(settings.log_level)
    # urllib3 logs every retry with the request path; the storage layer reports
    # the outcome once, so its chatter only adds noise.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    # WeasyPrint narrates every render at INFO; only its problems matter here.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    # No link token, query string or Referer in any line: Werkzeug's request
    # log (`vault run`) and the app's own (gunicorn's: docker/gunicorn.conf.py).
    from vault import logs

    logs.install()
