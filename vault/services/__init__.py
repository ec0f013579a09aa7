"""Business rules. Services take their collaborators as arguments, flush and
never commit: the view or CLI command that called them commits."""
