from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py demo_data`: the demo clinic `make run` starts with. Above every app."""

    name = "demo"
    verbose_name = "Demo data"
