"""Fault tests: a service of the real stack fails in the middle of a request (issue 16)."""
