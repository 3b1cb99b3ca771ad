"""The one table of the bench: the rows its minimal write inserts."""

from __future__ import annotations

from django.db import models


class WriteProbe(models.Model):
    """One row per minimal write (`bench.views.MinimalWrite`); the bench empties it."""

    user_id = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"write {self.pk} by {self.user_id}"
