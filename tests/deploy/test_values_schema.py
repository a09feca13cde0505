"""Each chart's values.schema.json is the one charts/values_schema.py generates (run `make charts` after
changing a chart's values), and it accepts the chart's own defaults and ci/ value sets."""

from __future__ import annotations

import importlib.util
import json

import helm_python as helm


def load_generator(charts):
    spec = importlib.util.spec_from_file_location("values_schema", charts.source / "values_schema.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_schemas_are_the_generated_ones(charts) -> None:
    expected = load_generator(charts).expected_schemas()

    assert {p.parent.name for p in expected} == {p.parent.name for p in charts.source.glob("*/values.schema.json")}
    for path, text in expected.items():
        assert path.read_text() == text, f"{path.relative_to(charts.source.parent)} is out of date: run `make charts`"


def test_schema_requires_the_secrets_the_chart_declares(charts, service_chart) -> None:
    schema = json.loads((charts.source / service_chart / "values.schema.json").read_text())
    declared = sorted(charts.values(service_chart)["secretEnv"])

    assert schema["properties"]["secretEnv"]["required"] == declared


def test_schema_accepts_every_value_set(charts, value_set) -> None:
    with helm.Chart.load(charts.path(value_set.chart)) as chart:
        chart.validate_schema(chart.merge_values(value_set.values() or {}))
