"""Every page carries the security headers and a content security policy, and no page
has a script the policy would refuse: no inline <script>, no on* handler attributes."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from clinic.models import Role
from clinic.security import CONTENT_SECURITY_POLICY
from programmes import services as programme_services
from programmes.models import ProgrammeTemplate
from tests.factories import member, otp_login, patient_with_portal, screen

pytestmark = pytest.mark.django_db

# Data blocks (json_script) are not executed, so the policy doesn't concern them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class ScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        script_type = (attributes.get("type") or "").lower()
        if tag == "script" and not attributes.get("src") and script_type not in DATA_SCRIPT_TYPES:
            self.problems.append(f"inline <script {attributes}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> handler")
            if name in ("href", "action", "src") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:...>")


def script_problems(html: str) -> list[str]:
    finder = ScriptFinder()
    finder.feed(html)
    return finder.problems


def assert_secure(response, path: str) -> None:
    headers = response.headers
    assert headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "same-origin", path
    assert headers.get("X-Frame-Options") == "DENY", path
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", path
    assert "camera=()" in headers.get("Permissions-Policy", ""), path
    if "text/html" in headers.get("Content-Type", ""):
        assert script_problems(response.content.decode()) == [], path


def walk(client: Client, paths: list[str]) -> int:
    checked = 0
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 410), (path, response.status_code)
        assert_secure(response, path)
        checked += 1
    return checked


def test_policy_allows_scripts_from_this_origin_only():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_finder_catches_inline_scripts_and_handlers_but_not_data_blocks():
    assert script_problems('<script src="/static/a.js"></script>') == []
    assert script_problems('<script type="application/json" id="x">{}</script>') == []
    assert len(script_problems("<script>alert(1)</script>")) == 1
    assert len(script_problems('<button onclick="go()">Go</button>')) == 1
    assert len(script_problems('<a href="javascript:go()">Go</a>')) == 1


def test_sign_in_and_password_pages_carry_the_headers_and_no_inline_script():
    client = Client()
    paths = [
        "/accounts/login/",
        "/admin/login/",
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/bad-token/",
        "/invite/no-such-token/",
    ]
    assert walk(client, paths) == len(paths)


def test_portal_pages_carry_the_headers_and_no_inline_script():
    patient = patient_with_portal()
    screen(patient)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = programme_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    programme_services.plan_activate(plan=plan, by=patient.clinician)
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    paths = [
        "/",
        "/checkin/",
        "/history/",
        "/progress/",
        "/health/",
        "/settings/",
        "/questionnaire/",
    ]
    assert walk(client, paths) == len(paths)
    newcomer = patient_with_portal()
    client.force_login(newcomer.user, backend="django.contrib.auth.backends.ModelBackend")
    assert walk(client, ["/", "/intake/"]) == 2


def test_admin_pages_carry_the_headers_and_no_inline_script():
    patient = patient_with_portal()
    screen(patient)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = programme_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    administrator = member(Role.CLINIC_ADMIN, patient.clinic)
    client = Client()
    otp_login(client, administrator)
    paths = [
        "/admin/",
        "/admin/patients/patient/",
        "/admin/patients/patient/?outcome=cleared",
        "/admin/patients/patient/add/",
        f"/admin/patients/patient/{patient.pk}/change/",
        f"/admin/patients/patient/{patient.pk}/intake/",
        "/admin/programmes/plan/",
        f"/admin/programmes/plan/{plan.pk}/change/",
        f"/admin/programmes/plan/add/?patient={patient.pk}",
        "/admin/programmes/programmetemplate/",
        f"/admin/programmes/programmetemplate/{template.pk}/change/",
        "/admin/clinic/auditevent/",
        "/admin/clinic/membership/",
        "/admin/password_change/",
    ]
    assert walk(client, paths) == len(paths)
    confirmation = client.post(
        "/admin/patients/patient/",
        {"action": "erase_identity", "_selected_action": [patient.pk], "index": 0},
    )
    assert confirmation.status_code == 200
    assert_secure(confirmation, "erase confirmation")


def test_superuser_admin_pages_with_prepopulated_fields_have_no_inline_script(
    django_user_model,
):
    root = django_user_model.objects.create_superuser("root", "root@example.invalid", "pw")
    client = Client()
    otp_login(client, root)
    assert walk(client, ["/admin/clinic/clinic/add/", "/admin/auth/user/"]) == 2


def test_staff_reports_pages_carry_the_headers_and_no_inline_script():
    try:
        reports = reverse("reports:index")
    except NoReverseMatch:
        reports = "/reports/"
    staff = member(Role.STAFF)
    client = Client()
    otp_login(client, staff)
    assert walk(client, [reports]) == 1


def test_api_docs_page_loads_swagger_ui_from_our_own_static_files_under_the_strict_policy():
    response = Client().get("/api/docs/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["script-src"] == "'self'"
    html = response.content.decode()
    assert script_problems(html) == []
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]


def test_second_factor_pages_carry_the_headers_and_no_inline_script():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with_device = member(Role.CLINICIAN)
    TOTPDevice.objects.create(user=with_device, name="Phone", confirmed=True)
    without_device = member(Role.CLINICIAN)
    patient = patient_with_portal()
    for user, path in [
        (with_device, "/accounts/otp/"),
        (without_device, "/accounts/two-factor/"),
        (patient.user, "/accounts/two-factor/"),
    ]:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        assert walk(client, [path]) == 1


def test_production_profile_turns_on_hsts_secure_cookies_and_https_redirect():
    from tests.clinic.test_settings import PRODUCTION_ENV, manage

    script = (
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = manage("shell", "-c", script, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "31536000",
        "True",
        "True",
        "True",
        "True",
        "True",
    ]
    security = manage(
        "check", "--deploy", "--tag", "security", "--fail-level", "WARNING", env=PRODUCTION_ENV
    )
    assert security.returncode == 0, security.stdout + security.stderr
