"""The shipped starter library: exercises and two programme templates every clinic sees.

Rows carry `clinic=None`. Re-running is harmless: exercises are keyed on slug, templates on
name, and a template's steps and exercises are rewritten from the lists below.
"""

import contextlib

from django.db import migrations
from django.db.models.deletion import ProtectedError

# Every exercise carries "urgent_referral": a red flag means no programme at all.
NO_RED_FLAGS = ["urgent_referral"]

EXERCISES = [
    {
        "slug": "piriformis-stretch",
        "name": "Piriformis stretch",
        "category": "stretch",
        "patient_instructions": (
            "Lie on your back with both knees bent and feet flat on the floor. "
            "Cross the ankle of your sore side over the opposite knee. "
            "Hold behind the lower thigh and gently draw it towards your chest. "
            "You should feel a stretch deep in the buttock of the crossed leg; breathe normally "
            "while you hold, then change sides. "
            "Do not bounce or force the knee down. "
            "Stop if pain spreads further down your leg or you feel new numbness or tingling."
        ),
        "clinician_notes": (
            "Supine figure-4 stretch for piriformis and deep hip rotators. Useful where buttock "
            "pain dominates. Avoid or modify after recent hip replacement (flexion with "
            "adduction) or with symptomatic hip impingement."
        ),
        "default_sets": 1,
        "default_repetitions": 3,
        "default_hold_seconds": 30,
        "default_times_per_day": 2,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "knee-to-chest-stretch",
        "name": "Knee-to-chest stretch",
        "category": "stretch",
        "patient_instructions": (
            "Lie on your back with both knees bent and feet flat on the floor. "
            "Bring one knee up towards your chest and hold it with both hands behind the thigh. "
            "You should feel a gentle stretch in your lower back and buttock. "
            "Keep the other foot on the floor and your head relaxed; do not pull hard. "
            "Lower the leg slowly and repeat with the other side. "
            "Stop if pain spreads further down your leg or your back pain gets sharply worse."
        ),
        "clinician_notes": (
            "Lumbar flexion stretch. Often eases facet-type or stenotic pain; may aggravate an "
            "acute disc presentation with a flexion intolerance, so progress to both knees only "
            "if single-knee is comfortable."
        ),
        "default_sets": 1,
        "default_repetitions": 3,
        "default_hold_seconds": 20,
        "default_times_per_day": 2,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "prone-press-up",
        "name": "Prone press-up (McKenzie extension)",
        "category": "mobility",
        "patient_instructions": (
            "Lie on your front with your hands on the floor under your shoulders. "
            "Slowly straighten your arms to lift your chest, keeping your hips on the floor and "
            "letting your back and bottom relax. "
            "Pause for a second or two at the top, then lower slowly. "
            "Leg pain that moves up towards your back is a good sign. "
            "Only go as high as is comfortable and do not lift your hips. "
            "Stop if pain spreads further down your leg or you get new numbness or tingling."
        ),
        "clinician_notes": (
            "Repeated end-range extension for a directional preference for extension. Monitor "
            "centralisation versus peripheralisation. Often unsuitable for spinal stenosis or "
            "spondylolisthesis where extension provokes symptoms; start from lying on elbows if "
            "full press-up is too much."
        ),
        "default_sets": 1,
        "default_repetitions": 10,
        "default_hold_seconds": None,
        "default_times_per_day": 3,
        "contraindication_tags": ["urgent_referral"],
    },
    {
        "slug": "sciatic-nerve-glide",
        "name": "Sciatic nerve glide (flossing)",
        "category": "mobility",
        "patient_instructions": (
            "Sit upright on a firm chair with your feet flat on the floor. "
            "Slowly straighten the knee of your sore leg while tipping your head back to look up. "
            "Then bend the knee again as you bring your chin down towards your chest. "
            "Keep the movement smooth and do not hold at the end. "
            "A mild pull or tingle that goes as soon as you bend the knee is fine. "
            "Stop if tingling or numbness lasts after you finish, or your leg pain gets worse."
        ),
        "clinician_notes": (
            "Seated slider technique: neural mobility without sustained tension. Progress to "
            "a tensioner only if sliders are well tolerated. Reduce range if symptoms linger "
            "beyond the movement."
        ),
        "default_sets": 1,
        "default_repetitions": 10,
        "default_hold_seconds": None,
        "default_times_per_day": 2,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "bird-dog",
        "name": "Bird-dog",
        "category": "core",
        "patient_instructions": (
            "Kneel on all fours with hands under your shoulders and knees under your hips. "
            "Tighten your tummy gently and keep your back flat. "
            "Slowly reach one arm forwards and the opposite leg back, then hold. "
            "You should feel your tummy and buttock muscles working, not your back. "
            "Do not arch your back or twist your hips; lower, then swap sides. "
            "Stop if you feel sharp pain or pain spreading down your leg."
        ),
        "clinician_notes": (
            "Low-load trunk stabilisation (McGill). Start with leg-only or arm-only reaches if "
            "control is poor. Repetitions are per side."
        ),
        "default_sets": 2,
        "default_repetitions": 8,
        "default_hold_seconds": 5,
        "default_times_per_day": 1,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "dead-bug",
        "name": "Dead bug",
        "category": "core",
        "patient_instructions": (
            "Lie on your back with arms pointing to the ceiling and knees bent up over your "
            "hips. "
            "Press your lower back gently into the floor. "
            "Slowly lower one arm behind your head and straighten the opposite leg towards the "
            "floor, then return and swap sides. "
            "You should feel your tummy muscles working. "
            "Do not let your back arch off the floor or hold your breath. "
            "Stop if you feel sharp back pain or pain spreading down your leg."
        ),
        "clinician_notes": (
            "Anti-extension core control. Regress to heel taps with knees bent; progress range "
            "only while the lumbar spine stays neutral. Repetitions are per side."
        ),
        "default_sets": 2,
        "default_repetitions": 8,
        "default_hold_seconds": None,
        "default_times_per_day": 1,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "glute-bridge",
        "name": "Glute bridge",
        "category": "core",
        "patient_instructions": (
            "Lie on your back with knees bent and feet flat, hip-width apart. "
            "Squeeze your buttocks and lift your hips until your body is in a straight line "
            "from shoulders to knees. "
            "Hold briefly, then lower slowly. "
            "You should feel your buttocks working more than your back or hamstrings. "
            "Do not push your hips too high or arch your back. "
            "Stop if you feel sharp back pain or pain spreading down your leg."
        ),
        "clinician_notes": (
            "Gluteal activation with a neutral spine. Progress to single-leg bridge or longer "
            "holds. Hamstring cramping suggests feet too far from the hips."
        ),
        "default_sets": 2,
        "default_repetitions": 10,
        "default_hold_seconds": 5,
        "default_times_per_day": 1,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "cat-camel",
        "name": "Cat-camel",
        "category": "mobility",
        "patient_instructions": (
            "Kneel on all fours with hands under your shoulders and knees under your hips. "
            "Slowly round your back up towards the ceiling, letting your head drop. "
            "Then slowly let your back sag a little as you lift your head. "
            "Move gently within a comfortable range; you should feel your back loosening. "
            "Do not force either end of the movement. "
            "Stop if pain spreads down your leg or the movement makes your pain sharply worse."
        ),
        "clinician_notes": (
            "Gentle segmental motion through mid-range, not an end-range stretch (McGill "
            "warm-up). Good first thing in the morning."
        ),
        "default_sets": 1,
        "default_repetitions": 10,
        "default_hold_seconds": None,
        "default_times_per_day": 2,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "pelvic-tilt",
        "name": "Pelvic tilt",
        "category": "core",
        "patient_instructions": (
            "Lie on your back with knees bent and feet flat on the floor. "
            "Gently tighten your tummy and flatten your lower back into the floor by tilting "
            "your pelvis. "
            "Hold for a few seconds while breathing normally, then relax. "
            "You should feel your tummy muscles working gently. "
            "Do not lift your bottom or hold your breath. "
            "Stop if the movement causes sharp pain or pain spreading down your leg."
        ),
        "clinician_notes": (
            "Entry-level lumbopelvic control, suitable in the acute phase. Can be done in "
            "sitting or standing once learnt."
        ),
        "default_sets": 2,
        "default_repetitions": 10,
        "default_hold_seconds": 5,
        "default_times_per_day": 2,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "hamstring-stretch-strap",
        "name": "Hamstring stretch (lying, with strap)",
        "category": "stretch",
        "patient_instructions": (
            "Lie on your back with a strap or towel around the sole of one foot. "
            "Keep the other knee bent with that foot on the floor. "
            "Use the strap to lift the leg, keeping its knee straight but not locked, until you "
            "feel a stretch at the back of the thigh. "
            "Hold and breathe normally, then lower slowly and swap sides. "
            "Do not pull into pain or bounce. "
            "Stop if you feel tingling, numbness or pain running down into your calf or foot."
        ),
        "clinician_notes": (
            "Supine hamstring stretch. Distal tingling or calf/foot pain indicates neural "
            "tension rather than muscle length: use the nerve glide instead and reduce range."
        ),
        "default_sets": 1,
        "default_repetitions": 3,
        "default_hold_seconds": 30,
        "default_times_per_day": 2,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "side-plank-knees",
        "name": "Side plank from knees",
        "category": "core",
        "patient_instructions": (
            "Lie on your side propped up on your elbow, with your elbow under your shoulder and "
            "knees bent behind you. "
            "Lift your hips so your body is in a straight line from head to knees. "
            "Hold, breathing normally, then lower gently and swap sides. "
            "You should feel the muscles along your side working. "
            "Do not let your hips sag or roll backwards. "
            "Stop if you feel sharp back or shoulder pain or pain spreading down your leg."
        ),
        "clinician_notes": (
            "Lateral trunk endurance (quadratus lumborum, obliques) with low spinal load. "
            "Progress hold time before progressing to a full side plank. Avoid with shoulder "
            "pathology on the weight-bearing side."
        ),
        "default_sets": 1,
        "default_repetitions": 3,
        "default_hold_seconds": 15,
        "default_times_per_day": 1,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "walking",
        "name": "Walking",
        "category": "aerobic",
        "patient_instructions": (
            "Walk at a comfortable pace on level ground, standing tall with your arms "
            "swinging naturally. "
            "Start with 10 minutes and build up towards 20 as you feel able. "
            "You should feel a little warmer and slightly out of breath, but able to talk. "
            "Wear supportive shoes and avoid steep hills at first. "
            "Split it into shorter walks if a long one flares your pain. "
            "Stop and rest if leg pain, numbness or weakness builds as you walk."
        ),
        "clinician_notes": (
            "Graded aerobic activity; default 15 minutes. Leg symptoms that build with walking "
            "and ease with sitting or bending forwards suggest neurogenic claudication: review."
        ),
        "default_sets": 1,
        "default_repetitions": None,
        "default_hold_seconds": 900,
        "default_times_per_day": 1,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "childs-pose",
        "name": "Child's pose",
        "category": "mobility",
        "patient_instructions": (
            "Kneel on the floor with your knees apart and big toes together. "
            "Sit back towards your heels and walk your hands forwards until your forehead rests "
            "on the floor or a cushion. "
            "Let your back relax and breathe slowly; you should feel a gentle stretch along your "
            "back. "
            "Do not force your bottom down to your heels. "
            "Use your hands to come back up slowly. "
            "Stop if pain spreads down your leg or your knees hurt."
        ),
        "clinician_notes": (
            "Relaxed lumbar flexion. Place a cushion between heels and buttocks if knee "
            "flexion is limited. May aggravate flexion-intolerant disc pain."
        ),
        "default_sets": 1,
        "default_repetitions": 3,
        "default_hold_seconds": 30,
        "default_times_per_day": 1,
        "contraindication_tags": NO_RED_FLAGS,
    },
    {
        "slug": "inversion-table-session",
        "name": "Inversion table session",
        "category": "inversion",
        "patient_instructions": (
            "Set the table to the angle in your plan before you start, and never go beyond it. "
            "Lock your ankles securely in the holds and check they are firm before you tip back. "
            "Use your arms to tip back slowly and to control the angle throughout. "
            "Breathe normally the whole time; do not hold your breath. "
            "Return upright slowly, over about 30 seconds, then sit for a minute before you "
            "stand. "
            "Stop at once and come upright if you feel dizzy, or get a headache, eye pain, "
            "blurred vision or chest pain, and report it in your check-in."
        ),
        "clinician_notes": (
            "Angle and time come from the plan's inversion steps, not these defaults. Clinic "
            "caps: start 20° for 1 minute, at most +10° and +1 minute per step, 60° ceiling, "
            "at most 5 minutes a day in the first two weeks. Needs a cleared screening, or "
            "review required with a recorded override. Evidence is weak (Cochrane, Wegner "
            "2013; Prasad 2012 pilot)."
        ),
        "default_sets": 1,
        "default_repetitions": None,
        "default_hold_seconds": 60,
        "default_times_per_day": 1,
        "contraindication_tags": ["review_required", "contraindicated", "urgent_referral"],
    },
]

INVERSION_TEMPLATE = "Progressive inversion (default)"
EXERCISE_ONLY_TEMPLATE = "Exercise only — sciatica and low-back pain"

# (slug, sets, repetitions, hold_seconds, times_per_day). Walking's hold is 10 minutes, the
# most a template row allows, twice a day.
TEMPLATES = [
    {
        "name": INVERSION_TEMPLATE,
        "kind": "inversion",
        "description": (
            "Gentle progressive inversion with a short daily exercise routine for sciatica and "
            "low-back pain. It follows the clinic's caps: it starts at 20° for 1 minute, each "
            "step adds at most 10° and 1 minute, the ceiling is 60°, and time inverted is at "
            "most 5 minutes a day in the first two weeks. Advance a step only after at least "
            "three tolerated sessions at the current one. Needs a cleared screening, or review "
            "required with a clinician's recorded override."
        ),
        # (angle_deg, hold_seconds)
        "steps": [(20, 60), (30, 120), (40, 180), (50, 240), (60, 300)],
        "exercises": [
            ("knee-to-chest-stretch", 1, 3, 20, 2),
            ("pelvic-tilt", 2, 10, 5, 2),
            ("sciatic-nerve-glide", 1, 10, None, 2),
            ("walking", 1, None, 600, 2),
            ("bird-dog", 2, 8, 5, 1),
        ],
    },
    {
        "name": EXERCISE_ONLY_TEMPLATE,
        "kind": "exercise_only",
        "description": (
            "Exercise programme for sciatica and low-back pain without inversion: gentle "
            "mobility, nerve glides, stretches, core control and walking. Suitable when "
            "inversion is contraindicated or not wanted."
        ),
        "steps": [],
        "exercises": [
            ("pelvic-tilt", 2, 10, 5, 2),
            ("knee-to-chest-stretch", 1, 3, 20, 2),
            ("piriformis-stretch", 1, 3, 30, 2),
            ("sciatic-nerve-glide", 1, 10, None, 2),
            ("glute-bridge", 2, 10, 5, 1),
            ("bird-dog", 2, 8, 5, 1),
            ("walking", 1, None, 600, 2),
        ],
    },
]


def create_library(apps, schema_editor):
    Exercise = apps.get_model("programmes", "Exercise")
    ProgrammeTemplate = apps.get_model("programmes", "ProgrammeTemplate")
    TemplateInversionStep = apps.get_model("programmes", "TemplateInversionStep")
    TemplateExercise = apps.get_model("programmes", "TemplateExercise")

    exercises = {}
    for spec in EXERCISES:
        fields = dict(spec)
        slug = fields.pop("slug")
        exercises[slug], _ = Exercise.objects.update_or_create(
            clinic=None, slug=slug, defaults=fields
        )

    for spec in TEMPLATES:
        template, _ = ProgrammeTemplate.objects.update_or_create(
            clinic=None,
            name=spec["name"],
            defaults={"kind": spec["kind"], "description": spec["description"], "is_active": True},
        )
        TemplateInversionStep.objects.filter(template=template).delete()
        TemplateInversionStep.objects.bulk_create(
            TemplateInversionStep(
                template=template,
                order=order,
                angle_deg=angle,
                hold_seconds=hold,
                sessions_per_day=1,
                days_per_week=7,
            )
            for order, (angle, hold) in enumerate(spec["steps"])
        )
        TemplateExercise.objects.filter(template=template).delete()
        TemplateExercise.objects.bulk_create(
            TemplateExercise(
                template=template,
                order=order,
                exercise=exercises[slug],
                sets=sets,
                repetitions=repetitions,
                hold_seconds=hold,
                times_per_day=times,
            )
            for order, (slug, sets, repetitions, hold, times) in enumerate(spec["exercises"])
        )


def delete_library(apps, schema_editor):
    Exercise = apps.get_model("programmes", "Exercise")
    ProgrammeTemplate = apps.get_model("programmes", "ProgrammeTemplate")

    # Plans made from these templates keep their copies (template is SET_NULL).
    ProgrammeTemplate.objects.filter(
        clinic=None, name__in=[spec["name"] for spec in TEMPLATES]
    ).delete()
    for exercise in Exercise.objects.filter(
        clinic=None, slug__in=[spec["slug"] for spec in EXERCISES]
    ):
        # Still prescribed in a plan or a clinic's own template: keep it rather than fail
        # the rollback; re-applying updates it in place.
        with contextlib.suppress(ProtectedError):
            exercise.delete()


class Migration(migrations.Migration):
    dependencies = [("programmes", "0002_inversion_guard")]
    operations = [migrations.RunPython(create_library, delete_library)]
