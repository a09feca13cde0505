"""Who may call each courses RPC. Row scoping (own institution, region, own enrollments) is in the app layer."""

from training_runtime.auth import AccessPolicy, Role, allow

R = Role
SIGNED_IN = (
    R.TRAINEE,
    R.INSTITUTION_ADMIN,
    R.INSTITUTION_STAFF,
    R.EMPLOYER,
    R.OPERATOR,
    R.REGULATOR,
    R.EXAM_INSTITUTION,
    R.SERVICE,
)
INSTITUTION = (R.INSTITUTION_ADMIN, R.INSTITUTION_STAFF)

POLICY = AccessPolicy(
    "training.courses.v1.CoursesService",
    {
        "CreateSyllabus": allow(R.OPERATOR),
        "GetSyllabus": allow(*SIGNED_IN),
        "ListSyllabi": allow(*SIGNED_IN),
        "CreateCourse": allow(*INSTITUTION),
        "UpdateCourse": allow(*INSTITUTION),
        "SubmitCourse": allow(*INSTITUTION),
        "ReviewCourse": allow(R.OPERATOR),
        "AcceptCourse": allow(R.INSTITUTION_ADMIN),
        "PublishCourse": allow(R.INSTITUTION_ADMIN),
        "WithdrawCourse": allow(R.OPERATOR, R.REGULATOR, R.SERVICE),
        "GetCourse": allow(*SIGNED_IN),
        "ListCourses": allow(*SIGNED_IN),
        "ListCourseDecisions": allow(*INSTITUTION, R.OPERATOR, R.REGULATOR, R.SERVICE),
        "OpenClass": allow(R.INSTITUTION_ADMIN),
        "GetClass": allow(R.TRAINEE, *INSTITUTION, R.OPERATOR, R.REGULATOR, R.SERVICE),
        "ListClasses": allow(R.TRAINEE, *INSTITUTION, R.OPERATOR, R.REGULATOR, R.SERVICE),
        "EnrollTrainee": allow(*INSTITUTION),
        "ListEnrollments": allow(R.TRAINEE, *INSTITUTION, R.EMPLOYER, R.OPERATOR, R.REGULATOR, R.SERVICE),
        "RateCourse": allow(R.TRAINEE),
        "GetQualityFigures": allow(*INSTITUTION, R.OPERATOR, R.REGULATOR),
    },
)
