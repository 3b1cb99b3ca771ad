from django.db import migrations

# An override must point at a screening whose outcome is review_required. The
# check constraint pins the override's copy of the outcome; this composite
# foreign key makes that copy agree with the screening itself.
SQL = """
ALTER TABLE patients_screeningoverride
    ADD CONSTRAINT override_screening_outcome_matches
    FOREIGN KEY (screening_id, screening_outcome)
    REFERENCES patients_screening (id, outcome);
"""
REVERSE = (
    "ALTER TABLE patients_screeningoverride DROP CONSTRAINT override_screening_outcome_matches;"
)


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
