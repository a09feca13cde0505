"""The trainee web app's pages: one page for the signed-in app and one for public verification.
Plain HTML with a small script each (web/static); no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)

PAGES = Path(__file__).resolve().parents[1] / "web"


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(PAGES / "index.html", media_type="text/html; charset=utf-8")


@router.get("/verify")
async def verify_page() -> FileResponse:
    return FileResponse(PAGES / "verify.html", media_type="text/html; charset=utf-8")
