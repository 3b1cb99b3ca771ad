"""The shipped screening rules (CLINICAL.md section 2, exactly as written)."""

from __future__ import annotations

from patients.domain.answers import Condition, Medication
from patients.domain.screening.outcome import Outcome
from patients.domain.screening.rules import (
    EMERGENCY_DEPARTMENT,
    EMERGENCY_NUMBER,
    AboveLimit,
    AgeOver,
    AllOf,
    AnyOf,
    AtLeast,
    Between,
    Flag,
    HasCondition,
    HasMedication,
    Not,
    Rule,
    RuleSet,
    WithinDays,
    WithinMonths,
)

_URGENT = Outcome.URGENT_REFERRAL
_UNSAFE = Outcome.CONTRAINDICATED
_REVIEW = Outcome.REVIEW_REQUIRED

_SEE_DOCTOR_TODAY = "Please contact your doctor or an urgent care service today."
_GO_TO_EMERGENCY = (
    "With back pain this needs to be checked by a doctor straight away. "
    f"Please go to {EMERGENCY_DEPARTMENT} today, or call emergency services on "
    f"{EMERGENCY_NUMBER} if you can't get there."
)
_NOT_THE_TABLE = (
    "You will not use the inversion table, but your clinician can still plan exercises with you."
)
_CLINICIAN_CHECKS = (
    "Your clinician will check it is safe for you before you use the inversion table."
)

DEFAULT_RULE_SET = RuleSet(
    version="2026.1",
    rules=(
        # Red flags: urgent referral, no programme at all.
        Rule(
            "red_flag_cauda_equina_bladder_bowel",
            _URGENT,
            WithinDays("bladder_bowel_change", "bladder_bowel_change_date", days=14),
            "New or worsening bladder or bowel disturbance in the last 14 days: "
            "possible cauda equina syndrome. Refer the same day.",
            f"You told us about a change in your bladder or bowel control. {_GO_TO_EMERGENCY}",
        ),
        Rule(
            "red_flag_cauda_equina_saddle_numbness",
            _URGENT,
            Flag("saddle_numbness"),
            "Saddle (perineal) numbness: possible cauda equina syndrome. Refer the same day.",
            "You told us about numbness between your legs or around your bottom. "
            f"{_GO_TO_EMERGENCY}",
        ),
        Rule(
            "red_flag_both_legs_or_sexual_dysfunction",
            _URGENT,
            AnyOf(Flag("both_legs_symptoms"), Flag("new_sexual_dysfunction")),
            "Symptoms in both legs or new sexual dysfunction with back pain: "
            "possible cauda equina syndrome. Refer urgently.",
            "Together with back pain, the symptoms you told us about need to be checked by a "
            f"doctor soon. {_SEE_DOCTOR_TODAY}",
        ),
        Rule(
            "red_flag_progressive_neuro_deficit",
            _URGENT,
            AnyOf(Flag("progressive_leg_weakness"), Flag("foot_drop")),
            "Progressive neurological deficit (worsening leg weakness or foot drop). "
            "Refer urgently.",
            "Weakness in your leg or foot that is getting worse needs to be checked by a doctor "
            f"soon. {_SEE_DOCTOR_TODAY}",
        ),
        Rule(
            "red_flag_malignancy_cancer_history",
            _URGENT,
            AllOf(
                HasCondition(Condition.CANCER_HISTORY),
                AnyOf(Flag("night_pain"), Flag("unexplained_weight_loss")),
            ),
            "History of cancer with night pain or unexplained weight loss: "
            "suspected spinal malignancy. Refer urgently for investigation.",
            "Because of your medical history and the symptoms you told us about, a doctor needs "
            "to check your back before we go further. Please contact your doctor as soon as you "
            "can; your clinician will help.",
        ),
        Rule(
            "red_flag_malignancy_age_no_improvement",
            _URGENT,
            AllOf(AgeOver(50), Flag("no_improvement_after_month_of_care")),
            "Over 50 with no improvement after a month of care: suspected serious pathology. "
            "Refer for investigation.",
            "As your back has not improved after a month of care, a doctor needs to check it "
            "before we go further. Please contact your doctor as soon as you can; your clinician "
            "will help.",
        ),
        Rule(
            "red_flag_infection",
            _URGENT,
            # Every intake is for back pain, so fever alone meets "fever with back pain".
            AnyOf(
                Flag("fever"),
                Flag("intravenous_drug_use"),
                HasCondition(Condition.IMMUNOSUPPRESSION),
                HasMedication(Medication.IMMUNOSUPPRESSANT),
            ),
            "Suspected spinal infection (fever, intravenous drug use or immunosuppression, "
            "with back pain). Refer urgently.",
            "With back pain, some of your answers mean a doctor needs to rule out an infection. "
            f"{_SEE_DOCTOR_TODAY}",
        ),
        Rule(
            "red_flag_fracture",
            _URGENT,
            AnyOf(
                Flag("significant_trauma"),
                AllOf(HasMedication(Medication.LONG_TERM_STEROID), Flag("new_back_pain")),
            ),
            "Suspected vertebral fracture (significant trauma, or long-term steroids with new "
            "pain). Refer for assessment and imaging.",
            "A doctor needs to check your back for an injury to the bones before we go further. "
            f"{_SEE_DOCTOR_TODAY}",
        ),
        # Contraindications: exercise-only, no inversion by any path.
        Rule(
            "ci_glaucoma_eye_disease",
            _UNSAFE,
            HasCondition(
                Condition.GLAUCOMA,
                Condition.OCULAR_HYPERTENSION,
                Condition.RETINAL_DETACHMENT,
                Condition.RETINAL_VASCULAR_DISEASE,
                Condition.MACULAR_DEGENERATION,
            ),
            "Glaucoma, ocular hypertension or retinal/macular disease: intraocular pressure "
            "roughly doubles when inverted (Friberg & Weinreb 1985). No inversion.",
            "Hanging upside down raises the pressure inside your eyes, which is not safe with "
            f"the eye condition you told us about. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_eye_surgery",
            _UNSAFE,
            WithinMonths("eye_surgery", "eye_surgery_date", months=6),
            "Eye surgery in the last 6 months: inversion raises intraocular pressure. "
            "No inversion.",
            "Your eyes are still healing from surgery, and hanging upside down raises the "
            f"pressure inside them. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_heart_disease",
            _UNSAFE,
            HasCondition(
                Condition.HEART_FAILURE,
                Condition.UNCONTROLLED_ARRHYTHMIA,
                Condition.HEART_DISEASE_UNDER_TREATMENT,
            ),
            "Heart failure, uncontrolled arrhythmia, or heart or circulatory disease under "
            "treatment. No inversion.",
            "Hanging upside down puts extra strain on your heart and circulation, so it is not "
            f"safe for you. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_heart_attack",
            _UNSAFE,
            WithinMonths("heart_attack", "heart_attack_date", months=12),
            "Heart attack in the last 12 months. No inversion.",
            "After a recent heart attack, hanging upside down puts too much strain on your "
            f"heart. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_stroke_aneurysm",
            _UNSAFE,
            HasCondition(Condition.STROKE_OR_TIA, Condition.CEREBRAL_ANEURYSM),
            "Stroke or TIA ever, or known cerebral aneurysm. No inversion.",
            "Hanging upside down raises the pressure in the blood vessels of your head, which is "
            f"not safe with your history. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_pregnancy",
            _UNSAFE,
            Flag("pregnant"),
            "Pregnancy. No inversion.",
            "The inversion table is not safe during pregnancy. Your clinician can still plan "
            "exercises that suit you.",
        ),
        Rule(
            "ci_blood_pressure",
            _UNSAFE,
            AnyOf(AtLeast("systolic_bp", 160), AtLeast("diastolic_bp", 100)),
            "Blood pressure at intake at or above 160 systolic or 100 diastolic. No inversion.",
            "Your blood pressure was high when it was measured, and hanging upside down raises "
            "it further. Please talk to your doctor about your blood pressure. "
            f"{_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_spinal_pathology",
            _UNSAFE,
            HasCondition(
                Condition.SPINAL_FRACTURE,
                Condition.SPINAL_INSTABILITY,
                Condition.SPINAL_TUMOUR,
                Condition.SPINAL_INFECTION,
            ),
            "Spinal fracture, instability, tumour or infection. No inversion.",
            "With the spine condition you told us about, stretching your spine on the inversion "
            "table is not safe. Your clinician will talk with you about what is safe for you.",
        ),
        Rule(
            "ci_table_limits",
            _UNSAFE,
            AnyOf(
                AboveLimit("weight_kg", "max_weight_kg"),
                AboveLimit("height_cm", "max_height_cm"),
            ),
            "Weight or height above the clinic's table limits. No inversion.",
            "The inversion table is only rated to hold people up to a certain weight and height, "
            f"so it would not be safe for you. {_NOT_THE_TABLE}",
        ),
        # Relative contraindications: inversion only with a clinician's recorded override.
        Rule(
            "rc_blood_pressure",
            _REVIEW,
            AnyOf(Between("systolic_bp", 140, 159), Between("diastolic_bp", 90, 99)),
            "Blood pressure at intake 140-159 systolic or 90-99 diastolic.",
            f"Your blood pressure was a little high when it was measured. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_hypertension_on_medication",
            _REVIEW,
            AnyOf(
                HasCondition(Condition.HYPERTENSION_ON_MEDICATION),
                HasMedication(Medication.ANTIHYPERTENSIVE),
            ),
            "Hypertension controlled by medication.",
            f"You take medicine for your blood pressure. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_osteoporosis_osteopenia",
            _REVIEW,
            HasCondition(Condition.OSTEOPOROSIS, Condition.OSTEOPENIA),
            "Osteoporosis or osteopenia.",
            f"Your bones may be thinner than usual. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_recent_fracture",
            _REVIEW,
            WithinMonths("fracture", "fracture_date", months=12),
            "Fracture in the last 12 months.",
            f"You broke a bone in the last year. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_anticoagulant_aspirin",
            _REVIEW,
            HasMedication(Medication.ANTICOAGULANT, Medication.DAILY_ASPIRIN),
            "Anticoagulant or daily aspirin.",
            f"You take medicine that thins your blood. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_hernia",
            _REVIEW,
            HasCondition(Condition.HIATAL_HERNIA, Condition.VENTRAL_HERNIA),
            "Hiatal or ventral hernia.",
            f"You have a hernia. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_ear_eye_infection",
            _REVIEW,
            HasCondition(Condition.MIDDLE_EAR_INFECTION, Condition.CONJUNCTIVITIS),
            "Middle-ear infection or conjunctivitis: temporary, re-screen when resolved.",
            f"You have an ear or eye infection. {_CLINICIAN_CHECKS} "
            "Please let us know when it has cleared, so we can update your answers.",
        ),
        Rule(
            "rc_skeletal_implant",
            _REVIEW,
            HasCondition(Condition.SKELETAL_IMPLANT),
            "Skeletal implant (spine, hip, knee or ankle).",
            f"You have an implant in your spine or a joint. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_recent_surgery",
            _REVIEW,
            WithinMonths("surgery", "surgery_date", months=6),
            "Surgery of any kind in the last 6 months.",
            f"You had an operation in the last 6 months. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_weight_bearing_joint",
            _REVIEW,
            HasCondition(Condition.WEIGHT_BEARING_JOINT_PROBLEM),
            "Ankle, knee or hip problem: these joints bear the body's weight in the ankle holds.",
            "The inversion table holds you by your ankles, so your clinician will check your "
            "ankles, knees and hips before you use it.",
        ),
        Rule(
            "rc_diabetes",
            _REVIEW,
            HasCondition(Condition.DIABETES),
            "Diabetes: retinal risk with raised intraocular pressure when inverted.",
            f"Diabetes can affect the eyes. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_dizziness_vertigo_fainting",
            _REVIEW,
            HasCondition(Condition.DIZZINESS_VERTIGO_FAINTING),
            "History of dizziness, vertigo or fainting.",
            f"You have had dizziness or fainting. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_bmi",
            _REVIEW,
            # Above the table's limits is already contraindicated; don't report it twice.
            AllOf(
                AtLeast("bmi", 35.0),
                Not(AboveLimit("weight_kg", "max_weight_kg")),
                Not(AboveLimit("height_cm", "max_height_cm")),
            ),
            "Body-mass index 35 or more, within the table's limits.",
            "Your clinician will check that the inversion table is comfortable and safe for you "
            "before you use it.",
        ),
    ),
)
