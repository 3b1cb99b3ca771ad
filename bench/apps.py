from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The synthetic clinic (`manage.py synthetic_clinic`) and `make bench`'s measurements.

    Above every app, as the project's wiring is: it builds rows of all of them.
    """

    name = "bench"
    verbose_name = "Benchmarks"
