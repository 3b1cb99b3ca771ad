"""Reminder channels behind one interface: e-mail, SMS (pluggable provider), portal, console.

Each `send` either delivers or raises `ChannelError`. The ledger key travels
with every message as an idempotency key (e-mail Message-ID, SMS provider
header), so a provider can recognise a resend after a crash mid-call.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from patients.models import Patient
from programmes.models import PortalNotice, ReminderDelivery

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    """The channel could not deliver; the ledger records it and the send is retried."""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


class Channel(Protocol):
    name: str
    # True when `send` only writes to the database, inside the caller's transaction.
    transactional: bool

    def send(self, *, delivery: ReminderDelivery, patient: Patient, message: Message) -> None: ...


class EmailChannel:
    name = "email"
    transactional = False

    def send(self, *, delivery: ReminderDelivery, patient: Patient, message: Message) -> None:
        if not patient.email:
            raise ChannelError("the patient has no e-mail address")
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            to=[patient.email],
            headers={"Message-ID": f"<{delivery.idempotency_key}@inverto>"},
        )
        email.attach_alternative(message.html, "text/html")
        try:
            email.send()
        except OSError as error:
            raise ChannelError(f"e-mail not sent: {error}") from error


class SmsProvider(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> None: ...


class ConsoleSmsProvider:
    """Prints the SMS: the default until a real provider is configured."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        sys.stdout.write(f"[sms to {to}] {body} ({idempotency_key})\n")
        sys.stdout.flush()


class HttpSmsProvider:
    """A JSON-over-HTTPS SMS gateway: POST {to, body} with an Idempotency-Key header."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL is the clinic's configured gateway
            self.url,
            data=json.dumps({"to": to, "body": body}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": idempotency_key,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if response.status >= 300:
                    raise ChannelError(f"SMS gateway answered {response.status}")
        except OSError as error:
            raise ChannelError(f"SMS gateway unreachable: {error}") from error


def sms_provider() -> SmsProvider:
    if settings.SMS_PROVIDER == "http":
        return HttpSmsProvider(settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN)
    return ConsoleSmsProvider()


class SmsChannel:
    name = "sms"
    transactional = False

    def __init__(self, provider: SmsProvider | None = None) -> None:
        self.provider = provider

    def send(self, *, delivery: ReminderDelivery, patient: Patient, message: Message) -> None:
        if not patient.phone:
            raise ChannelError("the patient has no phone number")
        (self.provider or sms_provider()).send(
            to=patient.phone, body=message.text[:300], idempotency_key=delivery.idempotency_key
        )


class PortalChannel:
    """A notice in the portal, written in the ledger's own transaction: exactly once."""

    name = "portal"
    transactional = True

    def send(self, *, delivery: ReminderDelivery, patient: Patient, message: Message) -> None:
        PortalNotice.objects.create(patient=patient, delivery=delivery, message=message.text)


class ConsoleChannel:
    """Prints the reminder in the worker's output (demo and benchmark)."""

    transactional = False
    name = "console"

    def send(self, *, delivery: ReminderDelivery, patient: Patient, message: Message) -> None:
        sys.stdout.write(f"[reminder {delivery.idempotency_key}] {message.text.splitlines()[0]}\n")


CHANNELS: dict[str, Channel] = {
    "email": EmailChannel(),
    "sms": SmsChannel(),
    "portal": PortalChannel(),
    "console": ConsoleChannel(),
}
