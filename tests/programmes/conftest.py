"""Fixtures shared by the programme tests."""

from __future__ import annotations

import pytest

from clinic.models import Role
from tests import factories
from tests.factories import member


@pytest.fixture
def staff_client(client):
    """Sign a user of the staff area in; the one place report tests log in.

    `staff_client(clinic)` makes a staff member of `clinic`; pass `role=` for another
    role or `user=` for an existing user. Returns the signed-in test client, with the
    user as `client.user`. (A second factor for the staff area belongs here too.)
    """

    def login(clinic=None, *, role: str = Role.STAFF, user=None):
        user = user or member(role, clinic)
        # With the second factor in place, a staff session is one that has passed it.
        otp_login = getattr(factories, "otp_login", None)
        if otp_login is not None:
            otp_login(client, user)
        else:
            client.force_login(user)
        client.user = user
        return client

    return login
