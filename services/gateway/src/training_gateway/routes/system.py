"""Health (`/healthz`: the process answers) and readiness (`/readyz`: the services it needs answer
SERVING, and it is not shutting down)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from training_gateway.deps import Services
from training_gateway.problems import documented_errors, problem_response

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    services: dict[str, bool]


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The services the gateway needs answer",
    responses=documented_errors(503),
)
async def readyz(request: Request, services: Services):
    if request.app.state.draining:
        return problem_response(503, detail="shutting down", instance="/readyz")
    answers = await services.readiness(request.app.state.settings.required_services)
    if not all(answers.values()):
        down = ", ".join(name for name, up in answers.items() if not up)
        return problem_response(503, detail=f"not serving: {down}", instance="/readyz")
    return Readiness(status="ready", services=answers)
