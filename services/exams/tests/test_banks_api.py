"""Banks through the API: a file with errors is refused whole with every bad row named, a new
version waits for review before any exam may use it, re-importing the same file changes nothing,
institutions own their banks, and an export (for the owner only) imports back unchanged."""

from __future__ import annotations

import json
import uuid

import grpc

from training.common.v1 import common_pb2 as R
from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training_exams.domain.bank import parse_bank
from training_exams.sample import sample_bank
from training_testkit.rpc import rpc_failure


def own_bank(code: str | None = None, *, break_rows: int = 0) -> bytes:
    document = json.loads(sample_bank())
    document["code"] = code or f"school-bank-{uuid.uuid4().hex[:8]}"
    document["title"] = "本校安全生产题库"
    for row in document["questions"][:break_rows]:
        row["answer"] = "Z" if row["type"] != "true_false" else "yes"
    return json.dumps(document, ensure_ascii=False).encode()


async def test_a_file_with_bad_rows_is_refused_whole_and_nothing_is_imported(exam_office, campus) -> None:
    school = await campus.school()
    code = f"broken-{uuid.uuid4().hex[:6]}"

    refused = await rpc_failure(
        exam_office.stub.ImportBank(
            pb.ImportBankRequest(content=own_bank(code, break_rows=3)), metadata=school.staff.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )

    assert refused.reason == "BANK_FILE_INVALID"
    assert refused.fields == ("questions[0].answer", "questions[1].answer", "questions[2].answer")
    listed = await exam_office.stub.ListBanks(pb.ListBanksRequest(), metadata=school.staff.metadata)
    assert code not in {b.code for b in listed.banks}


async def test_a_new_version_waits_for_review_and_only_approved_versions_are_examined(exam_office, campus) -> None:
    where = await exam_office.exam_class()
    imported = await exam_office.stub.ImportBank(
        pb.ImportBankRequest(content=own_bank()), metadata=where.school_class.school.staff.metadata
    )
    bank = imported.bank
    assert (imported.version, bank.versions[0].status) == (1, pb.BANK_VERSION_STATUS_PENDING_REVIEW)
    assert bank.institution_id == where.school_class.school.institution_id
    assert bank.versions[0].question_count == 110

    pending = await rpc_failure(
        exam_office.define(where, ev.EXAM_KIND_MOCK, bank=bank), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert pending.reason == "BANK_VERSION_NOT_APPROVED"

    operator = exam_office.people.operator.metadata
    unexplained = await rpc_failure(
        exam_office.stub.ReviewBankVersion(
            pb.ReviewBankVersionRequest(bank_id=bank.bank_id, version=1, decision=pb.REVIEW_DECISION_REJECT),
            metadata=operator,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert unexplained.fields == ("comment",)
    approved = await exam_office.stub.ReviewBankVersion(
        pb.ReviewBankVersionRequest(
            bank_id=bank.bank_id, version=1, decision=pb.REVIEW_DECISION_APPROVE, comment="审核通过"
        ),
        metadata=operator,
    )
    version = approved.bank.versions[0]
    assert (version.status, version.reviewed_by) == (
        pb.BANK_VERSION_STATUS_APPROVED,
        exam_office.people.operator.user_id,
    )
    again = await rpc_failure(
        exam_office.stub.ReviewBankVersion(
            pb.ReviewBankVersionRequest(
                bank_id=bank.bank_id, version=1, decision=pb.REVIEW_DECISION_REJECT, comment="x"
            ),
            metadata=operator,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert again.reason == "BANK_VERSION_NOT_PENDING"

    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK, bank=approved.bank)
    assert (exam.bank_id, exam.bank_version) == (bank.bank_id, 1)


async def test_reimporting_the_same_file_changes_nothing_and_a_changed_file_is_a_new_version(
    exam_office, campus
) -> None:
    school = await campus.school()
    code = f"versions-{uuid.uuid4().hex[:6]}"
    content = own_bank(code)
    first = await exam_office.stub.ImportBank(pb.ImportBankRequest(content=content), metadata=school.staff.metadata)
    same = await exam_office.stub.ImportBank(pb.ImportBankRequest(content=content), metadata=school.admin.metadata)

    document = json.loads(content)
    document["questions"] = document["questions"][:-5]
    changed = await exam_office.stub.ImportBank(
        pb.ImportBankRequest(content=json.dumps(document, ensure_ascii=False).encode()),
        metadata=school.staff.metadata,
    )

    assert (first.version, same.version, changed.version) == (1, 1, 2)
    assert first.bank.bank_id == same.bank.bank_id == changed.bank.bank_id
    assert [v.question_count for v in changed.bank.versions] == [110, 105]


async def test_institutions_own_their_banks_and_only_owners_export_answer_keys(exam_office, campus) -> None:
    platform = await exam_office.platform_bank()
    mine = await campus.school()
    theirs = await campus.school()
    imported = await exam_office.stub.ImportBank(pb.ImportBankRequest(content=own_bank()), metadata=mine.staff.metadata)
    bank_id = imported.bank.bank_id

    hidden = await rpc_failure(
        exam_office.stub.GetBank(pb.GetBankRequest(bank_id=bank_id), metadata=theirs.admin.metadata),
        grpc.StatusCode.NOT_FOUND,
    )
    assert hidden.code == grpc.StatusCode.NOT_FOUND
    listed = await exam_office.stub.ListBanks(pb.ListBanksRequest(), metadata=theirs.admin.metadata)
    assert bank_id not in {b.bank_id for b in listed.banks}
    assert platform.bank_id in {b.bank_id for b in listed.banks}
    refused = await rpc_failure(
        exam_office.stub.ExportBank(pb.ExportBankRequest(bank_id=platform.bank_id), metadata=theirs.admin.metadata),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert "owner" in refused.message

    exported = await exam_office.stub.ExportBank(pb.ExportBankRequest(bank_id=bank_id), metadata=mine.staff.metadata)
    assert exported.version == 1
    assert parse_bank(exported.content).questions == parse_bank(own_bank()).questions
    reimported = await exam_office.stub.ImportBank(
        pb.ImportBankRequest(content=exported.content), metadata=mine.staff.metadata
    )
    assert reimported.bank.bank_id == bank_id
    assert reimported.bank.versions[-1].counts == imported.bank.versions[0].counts


async def test_a_bank_for_other_qualifications_cannot_examine_a_class(exam_office, campus) -> None:
    where = await exam_office.exam_class()
    document = json.loads(own_bank())
    document["qualification_types"] = ["principal_non_high_risk"]
    imported = await exam_office.stub.ImportBank(
        pb.ImportBankRequest(content=json.dumps(document, ensure_ascii=False).encode()),
        metadata=where.school_class.school.staff.metadata,
    )
    approved = await exam_office.stub.ReviewBankVersion(
        pb.ReviewBankVersionRequest(
            bank_id=imported.bank.bank_id, version=1, decision=pb.REVIEW_DECISION_APPROVE, comment="通过"
        ),
        metadata=exam_office.people.operator.metadata,
    )
    listed = await exam_office.stub.ListBanks(
        pb.ListBanksRequest(qualification_type=R.QUALIFICATION_TYPE_PRINCIPAL_NON_HIGH_RISK),
        metadata=where.school_class.school.staff.metadata,
    )
    assert imported.bank.bank_id in {b.bank_id for b in listed.banks}

    refused = await rpc_failure(
        exam_office.define(where, ev.EXAM_KIND_MOCK, bank=approved.bank), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert refused.reason == "BANK_NOT_FOR_QUALIFICATION"
