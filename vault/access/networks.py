"""Where a detained person may sign in from: their establishment's networks.

An establishment may limit its people's sign-in to its own networks (the
kiosks' addresses). Staff, released people and establishments without the
rule are not checked. The list is typed by an administrator (vault.lifecycle)
and read here at every sign-in (vault.accounts.signin): a rule of access, below
both.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy.orm import Session

from vault.access.rules import is_detained
from vault.core.errors import ServiceError
from vault.journal import service as journal
from vault.models import Role, User


class OutsideNetworks(ServiceError):
    """Right passphrase, but from outside the networks of the person's establishment."""

    code = "outside_networks"


class BadNetwork(ValueError):
    """A line of a network list is not an address or a CIDR block; `line` says which."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def parse_networks(text: str) -> list[str]:
    """The CIDR blocks of a list typed one per line (commas also separate).

    A bare address counts as its own /32 or /128 block. Raises BadNetwork
    naming the first line that is neither.
    """
    networks: list[str] = []
    items = (item.strip() for line in text.splitlines() for item in line.split(","))
    for item in filter(None, items):
        try:
            network = str(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise BadNetwork(item) from None
        if network not in networks:
            networks.append(network)
    return networks


def in_networks(address: str | None, text: str) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
        blocks = parse_networks(text)
    except (ValueError, BadNetwork):
        # An unparsable address, or a list damaged outside the app: refuse
        # rather than open sign-in to everyone.
        return False
    return any(ip in ipaddress.ip_network(block) for block in blocks)


def signin_allowed(user: User, address: str | None) -> bool:
    """May `user` sign in from `address`?

    Only people held at an establishment that limits sign-in are checked:
    staff, released people and establishments without the rule are not.
    """
    if user.role != Role.PERSON or not is_detained(user):
        return True
    place = user.establishment
    if place is None or not place.restrict_signin:
        return True
    return in_networks(address, place.networks)


def check_signin(db: Session, user: User, address: str | None) -> None:
    """After a right passphrase: refuse (and journal) a sign-in from outside the networks."""
    if signin_allowed(user, address):
        return
    journal.append(
        db,
        vault_id=user.id,
        action="signin",
        actor=user,
        outcome="refused",
        details={"reason": "network"},
    )
    raise OutsideNetworks()
