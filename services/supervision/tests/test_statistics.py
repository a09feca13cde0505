"""Regulators' statistics: figures of a region or one institution, from what was reported."""

from __future__ import annotations

import pytest

from training.common.v1 import common_pb2
from training.exams.v1 import exams_events_pb2 as xev
from training.supervision.v1 import supervision_pb2 as pb
from training_certificates.testing import Graduate

pytestmark = pytest.mark.slow


async def test_figures_of_one_institution(scenario, people) -> None:
    institution = await people.institution("440106")
    learners = [await scenario.learner(institution.institution_id) for _ in range(2)]
    for learner in learners:
        await scenario.publish(learner.enrollment_created(), learner.hours_credited(1), learner.hours_credited(2))
    first = Graduate(trainee=learners[0].trainee, institution_id=institution.institution_id, region_code="440106")
    first.enrollment_id, first.class_id = learners[0].enrollment_id, learners[0].class_id
    await scenario.publish(
        first.class_completed(),
        first.attempt_graded(passed=False),
        first.attempt_graded(passed=True),
        first.attempt_graded(passed=True, kind=xev.EXAM_KIND_MOCK),  # not a final: not reported
    )
    # The institution, per learner its trainee, enrollment and two hour records, a completion, two finals.
    await scenario.acknowledged(1 + 2 * 3 + 1 + 2, institution_id=institution.institution_id)
    regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440100")

    figures = (
        await scenario.stub.GetRegionStatistics(
            pb.GetRegionStatisticsRequest(institution_id=institution.institution_id), metadata=regulator.metadata
        )
    ).statistics

    assert figures.region_code == "440100"
    assert figures.institutions == 1
    assert (figures.trainees, figures.enrollments, figures.completions) == (2, 2, 1)
    assert figures.credited_hours == pytest.approx(4 * 600 / 2700)
    assert (figures.final_exams, figures.final_exams_passed, figures.pass_rate) == (2, 1, 0.5)
    assert (figures.certificates_issued, figures.anomalies) == (0, 0)
