"""The documents' pages: the person's library (blueprint "documents") and deposits.

The "documents" blueprint is made in library.py and spans library.py and
reading.py; importing reading here registers its routes, whichever of the
package's modules the app imports first.
"""

from vault.documents.views import reading as reading
