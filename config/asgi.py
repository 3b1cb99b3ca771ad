import os

from django.core.asgi import get_asgi_application

from clinic.environment import exit_on_settings_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
with exit_on_settings_error():
    application = get_asgi_application()
