from django.apps import AppConfig


class ProgrammesConfig(AppConfig):
    name = "programmes"
    verbose_name = "Programmes"

    def ready(self) -> None:
        # patients announces screening changes; programmes answers them in the same
        # transaction (pause inversion, tell the clinician). Connected here, not by an
        # import side effect.
        from patients.services import (
            screening_awaiting_confirmation,
            screening_changed,
            time_zone_changed,
        )
        from programmes.screening_alerts import alert_on_awaiting_confirmation, alert_on_screening
        from programmes.services import (
            pause_when_screening_forbids,
            restart_step_count_on_zone_change,
        )

        screening_changed.connect(
            pause_when_screening_forbids, dispatch_uid="programmes.pause_on_screening"
        )
        # After the pause: a pause alert for the same screening stands in for its own.
        screening_changed.connect(alert_on_screening, dispatch_uid="programmes.screening_alerts")
        screening_awaiting_confirmation.connect(
            alert_on_awaiting_confirmation, dispatch_uid="programmes.confirm_screening_alerts"
        )
        time_zone_changed.connect(
            restart_step_count_on_zone_change, dispatch_uid="programmes.zone_restarts_count"
        )
