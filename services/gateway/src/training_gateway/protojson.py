"""Protobuf messages as JSON, and the JSON schemas (pydantic models) that describe them.

Responses are the services' own messages in proto3 JSON with the proto field names
(`MessageToDict`, every scalar printed, unset sub-messages left out), so the gateway never
re-invents a service's vocabulary. `model_of(descriptor)` derives the matching pydantic model from
the message descriptor, which is what the OpenAPI document publishes and what FastAPI checks each
response against: the schema cannot drift from the contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field, create_model

_models: dict[str, type[BaseModel]] = {}

_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_INT32 = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32,
}


def to_json(message: Message) -> dict[str, Any]:
    """A message as the gateway answers it."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _scalar(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return datetime
        return model_of(field.message_type)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return Literal[tuple(v.name for v in field.enum_type.values)]  # type: ignore[misc]
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float
    if field.type in _INT32:
        return int
    # proto3 JSON writes 64-bit integers as decimal strings and bytes as base64.
    return str


def _extra(field: FieldDescriptor) -> dict[str, Any]:
    if field.type in _INT64:
        return {"json_schema_extra": {"pattern": r"^-?[0-9]+$"}}
    if field.type == FieldDescriptor.TYPE_BYTES:
        return {"json_schema_extra": {"format": "byte"}}
    return {}


def model_of(descriptor: Descriptor) -> type[BaseModel]:
    """The pydantic model of one message's JSON form (cached; named after the message)."""
    name = descriptor.full_name
    if name in _models:
        return _models[name]
    fields: dict[str, Any] = {}
    for field in descriptor.fields:
        kind = _scalar(field)
        extra = _extra(field)
        if field.is_repeated:
            fields[field.name] = (list[kind], Field(**extra))  # type: ignore[valid-type]
        elif field.has_presence:
            # Sub-messages and proto3 `optional` fields are left out when unset.
            fields[field.name] = (kind | None, Field(None, **extra))
        else:
            fields[field.name] = (kind, Field(**extra))
    model_name = "".join(part[:1].upper() + part[1:] for part in name.split(".")[1:] if part != "v1")
    model = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
    model.__doc__ = f"The JSON form of `{name}` (see proto/)."
    _models[name] = model
    return model
