"""The Celery app: Redis broker, settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("inverto")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="clinic.ping", ignore_result=False)
def ping(token: str) -> str:
    """Echo a token: proves a task sent by the web process runs in a worker."""
    return f"pong:{token}"
