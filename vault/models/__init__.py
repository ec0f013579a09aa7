"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from vault.models.base import Base
from vault.models.blob import Blob

__all__ = ["Base", "Blob"]
