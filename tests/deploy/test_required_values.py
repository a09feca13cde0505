"""A value an install cannot do without fails the render (as `helm install` would) with a message that
names the value and says what it is for, instead of a Deployment whose pods never start."""

from __future__ import annotations

import helm_python as helm
import pytest


def render_error(charts, chart: str, values: dict) -> str:
    with pytest.raises((helm.HelmRenderError, helm.HelmValuesError)) as failure:
        charts.render(chart, values)
    return str(failure.value)


def test_empty_secret_name_of_a_service_secret_names_the_value_and_the_setting(charts) -> None:
    message = render_error(charts, "identity", {"secretEnv": {"JWT_SIGNING_KEYS": {"name": ""}}})

    assert (
        "identity: secretEnv.JWT_SIGNING_KEYS.name is required:"
        " the existing Secret that holds IDENTITY_JWT_SIGNING_KEYS" in message
    )


def test_empty_database_secret_names_the_value(charts) -> None:
    message = render_error(charts, "exams", {"database": {"url": {"name": ""}}})

    assert "exams: database.url.name is required: the existing Secret that holds EXAMS_DATABASE_URL" in message


def test_empty_nats_secret_in_the_umbrella_names_the_global_value(charts) -> None:
    message = render_error(charts, "training-platform", {"global": {"nats": {"url": {"name": ""}}}})

    assert "global.nats.url.name is required: the existing Secret that holds" in message


def test_nats_user_without_password_is_refused(charts) -> None:
    message = render_error(charts, "courses", {"global": {"nats": {"user": {"name": "nats-auth"}}}})

    assert (
        "courses: global.nats.password.name is required: the existing Secret that holds COURSES_NATS_PASSWORD"
        in message
    )


def test_removed_secret_setting_is_reported_by_the_schema(charts) -> None:
    # Helm drops a key set to null, so the service would start without its signing keys.
    message = render_error(charts, "identity", {"secretEnv": {"LOOKUP_HASH_KEY": None}})

    assert "identity:" in message
    assert "at '/secretEnv': missing property 'LOOKUP_HASH_KEY'" in message


def test_removed_certificate_signing_keys_are_reported(charts) -> None:
    message = render_error(charts, "certificates", {"secretEnv": {"CERTIFICATE_SIGNING_KEYS": None}})

    assert "missing property 'CERTIFICATE_SIGNING_KEYS'" in message


def test_secret_setting_given_as_plain_config_is_refused(charts) -> None:
    message = render_error(charts, "certificates", {"config": {"CERTIFICATE_SIGNING_KEYS": "k1:c2VjcmV0"}})

    assert (
        "certificates: config.CERTIFICATE_SIGNING_KEYS holds a secret: put it in an existing Secret"
        " and reference it as secretEnv.CERTIFICATE_SIGNING_KEYS (name, key)" in message
    )


def test_setting_the_chart_owns_is_refused_with_the_value_to_use(charts) -> None:
    message = render_error(charts, "identity", {"config": {"SHUTDOWN_GRACE_SECONDS": "5"}})

    assert "identity: config.SHUTDOWN_GRACE_SECONDS is set by the chart: use shutdownGraceSeconds instead" in message


def test_empty_image_repository_names_the_value(charts) -> None:
    message = render_error(charts, "learning", {"image": {"repository": ""}})

    assert "learning: image.repository is required" in message


def test_existing_service_account_must_be_named(charts) -> None:
    message = render_error(charts, "supervision", {"serviceAccount": {"create": False}})

    assert "supervision: serviceAccount.name is required when serviceAccount.create is false" in message


def test_autoscaling_bounds_must_be_ordered(charts) -> None:
    message = render_error(charts, "courses", {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}})

    assert "courses: autoscaling.minReplicas (5) is greater than autoscaling.maxReplicas (2)" in message


def test_root_user_is_refused(charts) -> None:
    message = render_error(charts, "exams", {"podSecurityContext": {"runAsUser": 0}})

    assert "at '/podSecurityContext/runAsUser'" in message


def test_misspelt_value_is_refused_rather_than_ignored(charts) -> None:
    message = render_error(charts, "identity", {"replicas": 3})

    assert "additional properties 'replicas' not allowed" in message
