"""Operator commands: `vault db upgrade`, `vault storage check|gc`,
`vault accounts first-admin|create-admin|disable|enable`, `vault demo`,
`vault escrow init|recover|check`, `vault journal verify`, `vault keys ...`,
`vault retention run`, `vault recovery ...`, `vault export verify`.

Also reachable as `flask --app wsgi ...`. Each command commits its own work and
reports failure as one line on stderr with a non-zero exit status, never a
traceback: operators run these from scripts and health checks. One module per
command group; each exposes `commands`, the click objects it adds, which
`vault.cli.groups.register_commands` gives the app. The console script is
`vault.cli.main`.
"""
