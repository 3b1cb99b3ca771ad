"""Audit of admin reads: every admin page of a health-data model that shows rows leaves one
`read` row naming the patients it showed (a list page too: one INSERT for the page).

It works on the rendered page's context, not per view, so list, change, history and
delete pages, actions' confirmation pages and a model admin's own pages (`get_urls`)
are all covered without each having to remember.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern

from clinic.audit import Channel, audit_read

# Keys of an admin page's context that hold the rows it shows: the list page's ChangeList,
# the change/history/delete pages' object, custom pages' object or patient, and the rows
# of an action's confirmation page.
_ONE_ROW_KEYS = ("original", "object", "patient")
_MANY_ROW_KEYS = ("queryset", "deletable_objects_queryset")


def _page_kind(url_name: str | None) -> str:
    if not url_name:
        return "page"
    return url_name.rsplit("_", 1)[-1]


class AuditedReadsAdmin:
    """Mixin for a ModelAdmin of health data: each page it renders is audited as a read.

    `audit_patient_field` is the attribute of a row holding its patient's id ("pk" for the
    patient itself); None for a model that holds no health data (no audit).
    """

    audit_patient_field: str | None = "patient_id"

    def audit_patient_ids(self, obj: models.Model) -> list[int | None]:
        return [getattr(obj, self.audit_patient_field)] if self.audit_patient_field else []

    @property
    def urls(self) -> list:
        # The final list, with a subclass's own pages (its `get_urls` puts them first).
        urls = self.get_urls()
        if self.audit_patient_field is None:
            return urls
        return [
            URLPattern(
                url.pattern, self._audited(url.callback, url.name), url.default_args, url.name
            )
            if isinstance(url, URLPattern)
            else url
            for url in urls
        ]

    def _audited(self, view: Callable, url_name: str | None) -> Callable:
        kind = _page_kind(url_name)

        @wraps(view)
        def audited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if response.status_code == 200:
                self.audit_page(request, response, kind=kind)
            return response

        return audited

    def _shown(self, context) -> tuple[list[models.Model], bool]:
        """The rows the page shows, and whether it is a list."""
        changelist = context.get("cl")
        if changelist is not None and hasattr(changelist, "result_list"):
            # Evaluated here, it is cached for the template: no second query.
            return list(changelist.result_list), True
        for key in _MANY_ROW_KEYS:
            rows = context.get(key)
            if isinstance(rows, models.QuerySet) and rows.model is self.model:
                return list(rows), True
        for key in _ONE_ROW_KEYS:
            obj = context.get(key)
            if isinstance(obj, self.model):
                return [obj], False
        return [], False

    def audit_page(self, request: HttpRequest, response: HttpResponse, *, kind: str) -> None:
        context = getattr(response, "context_data", None)
        if not context:
            return
        rows, is_list = self._shown(context)
        if not rows:
            return
        ids: Iterable[int | None] = (pk for row in rows for pk in self.audit_patient_ids(row))
        first = rows[0]
        opts = self.model._meta
        what = f"{opts.verbose_name_plural} list" if is_list else f"{opts.verbose_name} {kind}"
        audit_read(
            request,
            object_type=opts.label_lower,
            object_id="" if is_list else str(first.pk),
            clinic_id=getattr(first, "clinic_id", None),
            patient_ids=ids,
            channel=Channel.ADMIN,
            summary=f"Admin {what} read ({len(rows)} shown): {request.get_full_path()}",
        )
