"""Admin for clinic-wide records. The clinic scoping every clinical admin uses is in
`clinic.admin_scoping`, its names re-exported here."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from clinic.admin_scoping import (  # noqa: F401
    # Re-exported: the apps' admins import the scoping from here.
    ClinicScopedAdmin,
    ClinicScopedChoices,
    ClinicScopedInline,
    OfferedChoiceFilter,
    clinic_choices,
    clinic_lookup_of,
)
from clinic.audit import audit_change
from clinic.models import (
    TABLE_MAX_HEIGHT_CM,
    TABLE_MAX_WEIGHT_KG,
    ApiToken,
    AuditEvent,
    Clinic,
    Membership,
    Role,
    TableLimitsVersion,
)
from clinic.otp import second_factor_reset
from clinic.roles import actor_of, clinic_of, role_of
from clinic.rules import ROLE_RANK, role_change_refusal
from clinic.services import (
    clinic_table_limits_change,
    membership_change,
    membership_create,
    membership_delete,
)
from clinic.tokens import Reason, token_expired, tokens_revoke


class TableLimitsForm(forms.Form):
    max_weight_kg = forms.DecimalField(
        label="Maximum weight (kg)",
        max_digits=5,
        decimal_places=1,
        min_value=30,
        max_value=TABLE_MAX_WEIGHT_KG,
        help_text=f"At most {TABLE_MAX_WEIGHT_KG:g} kg, the shipped table rating.",
    )
    max_height_cm = forms.DecimalField(
        label="Maximum height (cm)",
        max_digits=5,
        decimal_places=1,
        min_value=100,
        max_value=TABLE_MAX_HEIGHT_CM,
        help_text=f"At most {TABLE_MAX_HEIGHT_CM:g} cm, the shipped table rating.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required, and kept with the new version (e.g. the new table's rating).",
    )


class TableLimitsVersionInline(ClinicScopedInline):
    model = TableLimitsVersion
    fields = ["version", "max_weight_kg", "max_height_cm", "reason", "changed_by", "changed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Table limits history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "time_zone",
        "emergency_number",
        "table_max_weight_kg",
        "table_max_height_cm",
        "table_limits_version",
    ]
    prepopulated_fields = {"slug": ["name"]}
    # Table limits change only through `clinic_table_limits_change` (versioned, audited).
    readonly_fields = ["table_limits"]
    fields = ["name", "slug", "time_zone", "emergency_number", "table_limits"]
    inlines = [TableLimitsVersionInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        return queryset.filter(pk=clinic.pk) if clinic else queryset.none()

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if change:  # never the table limits: they change only by their own page
                obj.save(update_fields=[name for name in form.changed_data if name in self.fields])
            else:
                obj.save()
            audit_change(
                obj,
                "update" if change else "create",
                "Clinic details changed" if change else "Clinic created",
                by=request.user,
                channel=AuditEvent.Channel.ADMIN,
                changes={
                    name: str(form.cleaned_data[name])
                    for name in form.changed_data
                    if name in ("emergency_number", "time_zone", "name")
                },
                request=request,
            )

    @admin.display(description="Table limits")
    def table_limits(self, clinic: Clinic) -> str:
        if clinic.pk is None:
            return (
                f"{TABLE_MAX_WEIGHT_KG:g} kg and {TABLE_MAX_HEIGHT_CM:g} cm (the shipped "
                "rating); change them once the clinic is saved."
            )
        url = reverse("admin:clinic_clinic_table_limits", args=[clinic.pk])
        return format_html(
            '{} kg, {} cm (version {}) <a class="button" href="{}">Change table limits…</a>',
            f"{clinic.table_max_weight_kg:g}",
            f"{clinic.table_max_height_cm:g}",
            clinic.table_limits_version,
            url,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/table-limits/",
                self.admin_site.admin_view(self.table_limits_view),
                name="clinic_clinic_table_limits",
            ),
            *super().get_urls(),
        ]

    def table_limits_view(self, request, pk: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        clinic = self.get_queryset(request).filter(pk=pk).first()
        if clinic is None:
            raise Http404("No such clinic.")
        form = TableLimitsForm(
            request.POST or None,
            initial={
                "max_weight_kg": clinic.table_max_weight_kg,
                "max_height_cm": clinic.table_max_height_cm,
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                limits = clinic_table_limits_change(
                    clinic=clinic,
                    max_weight_kg=form.cleaned_data["max_weight_kg"],
                    max_height_cm=form.cleaned_data["max_height_cm"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
                    for field, errors in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, getattr(error, "messages", None) or str(error))
            else:
                self.message_user(
                    request, f"Table limits version {limits.version} saved.", messages.SUCCESS
                )
                return redirect("admin:clinic_clinic_change", clinic.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": clinic,
            "title": f"Table limits of {clinic}",
            "form": form,
            "clinic_url": reverse("admin:clinic_clinic_change", args=[clinic.pk]),
        }
        return TemplateResponse(request, "admin/clinic/clinic/table_limits.html", context)


class MembershipForm(forms.ModelForm):
    """Roles offered are those the signed-in user may grant; `clinic.services` decides."""

    class Meta:
        model = Membership
        fields = ["user", "clinic", "role"]

    by = None  # the signed-in user, set by MembershipAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actor = actor_of(self.by)
        if "role" in self.fields and not actor.is_superuser:
            self.fields["role"].choices = [
                (value, label) for value, label in Role.choices if ROLE_RANK[value] <= actor.rank
            ]

    def clean(self):
        cleaned = super().clean()
        current = self.instance if self.instance.pk else None
        if current is not None:
            current = Membership.objects.select_related("user").get(pk=current.pk)
        user = current.user if current else cleaned.get("user")
        clinic = cleaned.get("clinic") or (current.clinic if current else None)
        role = cleaned.get("role")
        if user is None or clinic is None or role is None:
            return cleaned
        refusal = role_change_refusal(
            actor_of(self.by),
            target_is_superuser=user.is_superuser,
            current_role=current.role if current else None,
            current_clinic_id=current.clinic_id if current else None,
            new_role=role,
            new_clinic_id=clinic.pk,
        )
        if refusal:
            raise ValidationError(refusal)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(ClinicScopedAdmin):
    """Roles change only through `clinic.services` (staff-side flag, second factor, tokens,
    audit): never above the changer's own role, never into another clinic."""

    form = MembershipForm
    audit_patient_field = None  # the staff directory, no health data (changes are audited)
    list_display = ["user", "role", "clinic", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    actions = ["reset_second_factor"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"by": request.user})

    def get_readonly_fields(self, request, obj=None):
        # Whose membership it is never changes; a new one is a superuser's to create.
        return ["user"] if obj is not None else []

    def has_add_permission(self, request):
        # Patients join by invitation; staff accounts are created by a superuser.
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        if change:
            membership_change(
                by=request.user,
                membership=obj,
                role=form.cleaned_data["role"],
                clinic=form.cleaned_data["clinic"],
                channel=AuditEvent.Channel.ADMIN,
                request=request,
            )
        else:
            saved = membership_create(
                by=request.user,
                user=form.cleaned_data["user"],
                clinic=form.cleaned_data["clinic"],
                role=form.cleaned_data["role"],
                channel=AuditEvent.Channel.ADMIN,
                request=request,
            )
            obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        membership_delete(
            by=request.user, membership=obj, channel=AuditEvent.Channel.ADMIN, request=request
        )

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            membership_delete(
                by=request.user,
                membership=membership,
                channel=AuditEvent.Channel.ADMIN,
                request=request,
            )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            # The service refused on the locked row: nothing was saved; say why.
            for message in refusal.messages:
                self.message_user(request, f"Not saved: {message}", messages.ERROR)
            return redirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as refusal:
            for message in refusal.messages:
                self.message_user(request, f"Not removed: {message}", messages.ERROR)
            return redirect("admin:clinic_membership_changelist")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN):
            actions.pop("reset_second_factor", None)
        return actions

    def response_action(self, request, queryset):
        try:
            return super().response_action(request, queryset)
        except ValidationError as refusal:
            for message in refusal.messages:
                self.message_user(request, f"Refused: {message}", messages.ERROR)
            return redirect("admin:clinic_membership_changelist")

    @admin.action(description="Reset the second factor (lost authenticator)")
    def reset_second_factor(self, request, queryset):
        done = 0
        for membership in queryset.select_related("user", "clinic"):
            try:
                second_factor_reset(membership=membership, by=request.user, request=request)
            except PermissionDenied as refused:
                self.message_user(request, f"{membership.user}: {refused}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                f"Second factor reset for {done} account(s): each sets up a new "
                "authenticator at their next sign-in.",
            )


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin):
    """The audit trail, searchable by clinic administrators; nobody can change it."""

    list_display = [
        "at",
        "actor",
        "action",
        "channel",
        "object_type",
        "object_id",
        "patient_id",
        "patient_ids",
        "summary",
    ]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["summary", "object_id", "actor__username", "=patient_id"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and len(term) < 19:  # a patient id: the rows naming them in a list
            found = found | queryset.filter(patient_ids__contains=[int(term)])
        return found, duplicates

    def audit_patient_ids(self, obj: AuditEvent) -> list[int | None]:
        # Reading the trail is audited too: it names patients and what was done to them.
        return [obj.patient_id, *obj.patient_ids]

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _clinic_admin_or_superuser(request) -> bool:
    return request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN


class SecurityRecordAdmin(admin.ModelAdmin):
    """Read-only records of the clinic's accounts, for its administrators and superusers."""

    def has_module_permission(self, request):
        return _clinic_admin_or_superuser(request)

    def has_view_permission(self, request, obj=None):
        return _clinic_admin_or_superuser(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(SecurityRecordAdmin):
    """Every API token of the clinic's accounts, live and past; revoke from the list."""

    list_display = ["user", "status", "created_at", "last_used_at", "created_ip"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "revoked_reason"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    fields = [
        "user",
        "status",
        "created_at",
        "created_ip",
        "last_used_at",
        "revoked_at",
        "revoked_reason",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        if clinic is None:
            return queryset.none()
        return queryset.filter(user__membership__clinic=clinic)

    def get_actions(self, request):
        # Revoking changes nothing the has_change_permission guards: offered to whoever views.
        actions = super().get_actions(request)
        return actions if _clinic_admin_or_superuser(request) else {}

    @admin.display(description="Status")
    def status(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return f"Revoked: {token.get_revoked_reason_display()}"
        if token_expired(token, now=timezone.now()):
            return "Expired"
        return "Live"

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request, queryset):
        revoked = 0
        with transaction.atomic():
            for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
                revoked += tokens_revoke(
                    user=token.user,
                    reason=Reason.ADMINISTRATOR,
                    by=request.user,
                    channel=AuditEvent.Channel.ADMIN,
                    request=request,
                    tokens=ApiToken.objects.filter(pk=token.pk),
                )
        self.message_user(request, f"{revoked} API token(s) revoked.")


# django-axes' records of sign-ins: failures (kept), lockout counters and successes,
# shown to a clinic administrator for their own clinic's accounts. A user name that
# belongs to no account of theirs (a guess) is the superuser's to see.

admin.site.unregister(AccessAttempt)
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


class ClinicSignInRecordAdmin(SecurityRecordAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        if clinic is None:
            return queryset.none()
        usernames = get_user_model().objects.filter(membership__clinic=clinic)
        return queryset.filter(username__in=usernames.values("username"))


@admin.register(AccessAttempt)
class ScopedAccessAttemptAdmin(ClinicSignInRecordAdmin, AccessAttemptAdmin):
    """Lockout counters; a superuser may delete one to lift a lockout."""

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(AccessFailureLog)
class ScopedAccessFailureLogAdmin(ClinicSignInRecordAdmin, AccessFailureLogAdmin):
    pass


@admin.register(AccessLog)
class ScopedAccessLogAdmin(ClinicSignInRecordAdmin, AccessLogAdmin):
    pass
