"""The API docs page under the content security policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularSwaggerSplitView

from clinic.security import content_security_policy


class SwaggerView(SpectacularSwaggerSplitView):
    """The API docs page: its script served as a file, and the Swagger UI assets'
    origin (drf-spectacular's setting) allowed on this page alone."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        dist = urlsplit(spectacular_settings.SWAGGER_UI_DIST)
        origin = f"{dist.scheme}://{dist.netloc}" if dist.netloc else ""
        if origin:
            response.headers["Content-Security-Policy"] = content_security_policy(
                {"script-src": origin, "style-src": origin, "img-src": origin}
            )
        return response
