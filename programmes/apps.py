from django.apps import AppConfig


class ProgrammesConfig(AppConfig):
    name = "programmes"
    verbose_name = "Programmes"

    def ready(self) -> None:
        # patients announces screening changes; programmes answers them in the same
        # transaction (pause inversion, tell the clinician). Connected here, not by an
        # import side effect.
        from patients.services import screening_changed
        from programmes.services import pause_when_screening_forbids

        screening_changed.connect(
            pause_when_screening_forbids, dispatch_uid="programmes.pause_on_screening"
        )
