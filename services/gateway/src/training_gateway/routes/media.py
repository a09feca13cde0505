"""The lesson player's media: `media://<store>/<path>` references served from the configured
stores (GATEWAY_MEDIA_ROOTS), with byte ranges so the player can resume. Nothing outside a store's
folder is ever served."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from training_gateway.problems import documented_errors, problem_response

router = APIRouter(tags=["media"])

_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".m4a": "audio/mp4", ".vtt": "text/vtt", ".jpg": "image/jpeg"}


@router.get(
    "/media/{store}/{path:path}",
    summary="Lesson media of a store (supports Range requests)",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in sorted(set(_TYPES.values()))}}, **documented_errors(404)},
)
async def media(store: str, path: str, request: Request):
    root = request.app.state.media.get(store)
    if root is not None:
        target = (root / path).resolve()
        if target.is_relative_to(root) and target.is_file() and target.suffix in _TYPES:
            return FileResponse(target, media_type=_TYPES[target.suffix])
    return problem_response(404, detail=f"no media {path!r} in store {store!r}", instance=request.url.path)
