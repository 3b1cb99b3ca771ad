"""Adherence ratios, bands and thresholds (CLINICAL.md section 6). No database."""

import pytest

from programmes.domain import adherence
from programmes.domain.adherence import AdherenceBand, adherence_ratio, band_for


@pytest.mark.parametrize(
    ("ratio", "band"),
    [
        pytest.param(1.2, AdherenceBand.ADHERENT, id="more than prescribed is adherent"),
        pytest.param(1.0, AdherenceBand.ADHERENT, id="every session done is adherent"),
        pytest.param(0.8, AdherenceBand.ADHERENT, id="80 percent is adherent"),
        pytest.param(0.79, AdherenceBand.PARTIAL, id="79 percent is partial"),
        pytest.param(0.5, AdherenceBand.PARTIAL, id="50 percent is partial"),
        pytest.param(0.49, AdherenceBand.LOW, id="49 percent is low"),
        pytest.param(0.0, AdherenceBand.LOW, id="nothing done is low"),
        pytest.param(None, AdherenceBand.NO_DATA, id="nothing prescribed has no data"),
    ],
)
def test_band_for(ratio, band):
    assert band_for(ratio) == band


@pytest.mark.parametrize(
    ("completed", "prescribed", "ratio"),
    [
        pytest.param(4, 5, 0.8, id="4 of 5 sessions is 0.8"),
        pytest.param(12, 15, 0.8, id="12 of 15 sessions is exactly the adherent boundary"),
        pytest.param(3.5, 7, 0.5, id="3 sessions and a partial one of 7 is one half"),
        pytest.param(0, 7, 0.0, id="no sessions of 7 is zero"),
        pytest.param(0, 0, None, id="nothing prescribed gives no ratio"),
    ],
)
def test_adherence_ratio(completed, prescribed, ratio):
    assert adherence_ratio(completed, prescribed) == ratio


def test_twelve_of_fifteen_is_adherent_not_partial():
    """Floating-point division must not push an exact 80% into the partial band."""
    assert band_for(adherence_ratio(12, 15)) == AdherenceBand.ADHERENT


@pytest.mark.parametrize(
    ("completed", "prescribed"),
    [
        pytest.param(-1, 7, id="negative sessions done"),
        pytest.param(1, -7, id="negative prescribed"),
    ],
)
def test_adherence_ratio_refuses_negative_counts(completed, prescribed):
    with pytest.raises(ValueError):
        adherence_ratio(completed, prescribed)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("PARTIAL_SESSION_CREDIT", 0.5, id="a partial session counts one half"),
        pytest.param("DATA_DAYS_THRESHOLD", 16, id="16 data days is the RTM threshold"),
        pytest.param("NO_CHECKIN_ALERT_HOURS", 49, id="no check-in alerts after 49 hours"),
        pytest.param("STALLED_DAYS", 14, id="14 days without a check-in is stalled"),
        pytest.param("DROPPED_DAYS", 21, id="21 days without a check-in is dropped"),
        pytest.param("LOW_ADHERENCE_ALERT", 0.5, id="7-day adherence below 50 percent alerts"),
    ],
)
def test_shipped_thresholds_match_the_clinical_defaults(name, value):
    assert getattr(adherence, name) == value
