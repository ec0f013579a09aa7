"""Sharing's pages: the person's (blueprint "sharing"), the counsellor's, a link's public page.

The "sharing" blueprint is made in person.py and spans person.py,
person_requests.py and person_links.py; the "counsellor" blueprint is made in
counsellor.py and spans counsellor_links.py. Importing the others here
registers their routes, whichever of the package's modules the app imports
first.
"""

from vault.sharing.views import counsellor_links as counsellor_links
from vault.sharing.views import person_links as person_links
from vault.sharing.views import person_requests as person_requests
