"""The vault: a coffre-fort numérique for people in prison and after release."""

from __future__ import annotations

import ctypes
import logging
import os
import sys

from flask import Flask

from vault.core.config import PROJECT_ROOT, ConfigError, Settings, forget_secrets

log = logging.getLogger(__name__)

MULTIPART_SLACK = 1024 * 1024
PR_SET_DUMPABLE = 4


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings`, or from the environment when none are given.

    Built from the environment (wsgi.py, the CLI, gunicorn), an invalid setting
    ends the process with one line naming the variable and exit status 2,
    rather than a traceback in front of the operator. Once the settings are
    read, the secrets leave the environment and the process becomes
    undumpable (see `make_undumpable`).
    """
    if settings is not None:
        return _build(settings)
    try:
        settings = Settings.from_env()
        forget_secrets(os.environ)
        make_undumpable()
        return _build(settings)
    except ConfigError as e:
        sys.stderr.write(f"vault: configuration error: {e}\n")
        raise SystemExit(2) from None


def make_undumpable() -> None:
    """Keep other processes of the same user out of this one's memory and environment.

    The serving process holds the server key ring, database and S3 credentials
    and the session vault keys. Undumpable, its /proc/<pid>/mem, environ and
    maps belong to root and ptrace is refused to the same user, so a subverted
    child (the preview worker) or any other process of the app's user cannot
    read them; no core dump is written either. Root, with its capabilities,
    still can: the preview worker gives those up (vault.documents.preview_worker).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _build(settings: Settings) -> Flask:
    from vault.accounts import auth
    from vault.cli.groups import register_commands
    from vault.core import error_pages as errors
    from vault.core import extensions, monitoring, security, templating
    from vault.core.http import VaultRequest

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
    monitoring.init_app(app, settings)
    errors.init_app(app)
    templating.init_app(app)
    _register_views(app)
    register_commands(app)
    return app


def _register_views(app: Flask) -> None:
    """Every feature's blueprint; the factory is the one place that knows them all.

    Imported here, not at the top: importing the package (for `make_undumpable`
    in gunicorn's configuration, or `create_app` in the CLI) must not load the
    whole app.
    """
    from vault.accounts.limits import limit_signins
    from vault.accounts.views import account, admin, language
    from vault.accounts.views import auth as auth_views
    from vault.cv.views import builder as cv
    from vault.cv.views import letter as cv_letter
    from vault.documents.views import deposits
    from vault.documents.views import library as documents
    from vault.export import views as export
    from vault.home import views as main
    from vault.intake import views as intake
    from vault.journal import views as journal
    from vault.lifecycle import views as lifecycle
    from vault.overview import views as overview
    from vault.recovery import views as recovery
    from vault.sharing.views import counsellor, public_links
    from vault.sharing.views import person as sharing

    for module in (
        main,
        auth_views,
        language,
        account,
        documents,
        journal,
        admin,
        counsellor,
        deposits,
        sharing,
        public_links,
        recovery,
        export,
        lifecycle,
        cv,
        cv_letter,
        intake,
        overview,
    ):
        app.register_blueprint(module.bp)
    limit_signins(app, "auth.sign_in", "auth.activate", "public_links.download", "recovery.start")
    # Upload views read their body as a stream and check the token themselves.
    csrf = app.extensions["csrf"]
    csrf.exempt("vault.documents.views.library.upload")
    csrf.exempt("vault.documents.views.library.replace")
    csrf.exempt("vault.documents.views.deposits.upload")
    csrf.exempt("vault.intake.views.upload")


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
    from vault.core import logs

    logs.install(json=settings.log_format == "json")
