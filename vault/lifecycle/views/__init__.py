"""Release and after: administrators' pages (transfer, release, follow-up, networks,
the release checklist) and the person's (my release, closing the vault).

One blueprint, "lifecycle", made in common.py; importing the route modules
here registers their routes on it.
"""

from vault.lifecycle.views import admin_settings as admin_settings
from vault.lifecycle.views import own_release as own_release
from vault.lifecycle.views import person_way as person_way
from vault.lifecycle.views.common import bp as bp
