from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_intake_odi_optional")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="stop_symptom_note",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
        migrations.AddField(
            model_name="patient",
            name="stop_symptom_reported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
