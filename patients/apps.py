from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients and screening"

    def ready(self) -> None:
        # clinic announces new table limits; patients re-screens those now above them in
        # the same transaction. Connected here, not by an import side effect.
        from clinic.services import table_limits_changed
        from patients.services import rescreen_above_table_limits

        table_limits_changed.connect(
            rescreen_above_table_limits, dispatch_uid="patients.rescreen_above_table_limits"
        )
