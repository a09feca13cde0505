"""Fixtures for identity's face tests: the matching pipeline loaded once per session in the test
process, and derived pictures (re-encoded, flipped, cropped, rotated, noise, broken files) made from
the real photographs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import asyncpg
import nats
import numpy as np
import pytest
import pytest_asyncio
from PIL import Image, ImageOps

from training_devstack.embedded import NatsServer
from training_identity.face.dlib_matcher import DlibPipeline
from training_identity.service import face_pipeline_options
from training_identity.testing import FacePhotos, identity_settings


@pytest.fixture(scope="session")
def face_settings(platform_secrets: dict[str, str]):  # type: ignore[no-untyped-def]
    """Identity's default face settings (nothing here connects anywhere)."""
    return identity_settings(
        database_url="postgresql://unused/unused", nats_url="nats://unused:4222", secrets=platform_secrets
    )


@pytest.fixture(scope="session")
def pipeline(face_settings) -> DlibPipeline:  # type: ignore[no-untyped-def]
    return DlibPipeline(face_pipeline_options(face_settings))


def jpeg(picture: Image.Image, *, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    picture.convert("RGB").save(out, format="JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return out.getvalue()


class Pictures:
    """Pictures derived from the test photographs, as upload bytes."""

    def __init__(self, photos: FacePhotos) -> None:
        self.photos = photos

    def open(self, name: str) -> Image.Image:
        return Image.open(io.BytesIO(self.photos[name])).convert("RGB")

    def reencoded(self, name: str, quality: int = 30) -> bytes:
        return jpeg(self.open(name), quality=quality)

    def as_png(self, name: str) -> bytes:
        out = io.BytesIO()
        self.open(name).save(out, format="PNG")
        return out.getvalue()

    def flipped(self, name: str) -> bytes:
        return jpeg(ImageOps.mirror(self.open(name)))

    def cropped(self, name: str) -> bytes:
        picture = self.open(name)
        w, h = picture.size
        return jpeg(picture.crop((w // 6, h // 8, w - w // 6, h - h // 4)))

    def scaled(self, name: str, width: int) -> bytes:
        picture = self.open(name)
        w, h = picture.size
        return jpeg(picture.resize((width, round(h * width / w)), Image.Resampling.LANCZOS))

    def rotated_with_exif(self, name: str) -> bytes:
        """Pixels stored turned a quarter, with EXIF orientation 6 saying how to turn them back."""
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
        return jpeg(self.open(name).transpose(Image.Transpose.ROTATE_90), exif=exif)

    def rotated_without_exif(self, name: str) -> bytes:
        return jpeg(self.open(name).transpose(Image.Transpose.ROTATE_90))

    @staticmethod
    def noise(size: int = 600) -> bytes:
        pixels = np.random.default_rng(7).integers(0, 256, (size, size, 3), dtype=np.uint8)
        return jpeg(Image.fromarray(pixels))

    @staticmethod
    def plain(size: int = 600) -> bytes:
        return jpeg(Image.new("RGB", (size, size), (196, 180, 160)))

    def truncated(self, name: str) -> bytes:
        data = self.photos[name]
        return data[: len(data) // 2]

    def in_format(self, name: str, fmt: str) -> bytes:
        out = io.BytesIO()
        self.open(name).save(out, format=fmt)
        return out.getvalue()

    @staticmethod
    def huge_png(side: int = 8000) -> bytes:
        """A small file (it compresses to almost nothing) that decodes to side x side pixels."""
        out = io.BytesIO()
        Image.new("L", (side, side), 128).save(out, format="PNG", optimize=True)
        return out.getvalue()


@pytest.fixture(scope="session")
def pictures(face_photos: FacePhotos) -> Pictures:
    return Pictures(face_photos)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_sql(identity_database: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to identity's database, to look at what is stored at rest."""
    conn = await asyncpg.connect(identity_database)
    yield conn
    await conn.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def nats_client(nats_server: NatsServer) -> AsyncIterator[nats.NATS]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.drain()


class Rows:
    """Counts rows in identity's database, to prove a refused call wrote nothing."""

    TABLES = ("users", "institutions", "institution_status_changes", "refresh_tokens", "outbox")

    def __init__(self, sql: asyncpg.Connection) -> None:
        self.sql = sql

    async def counts(self) -> dict[str, int]:
        return {table: await self.sql.fetchval(f"SELECT count(*) FROM {table}") for table in self.TABLES}  # noqa: S608

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        return await self.sql.fetchrow(query, *args)


@pytest.fixture
def rows(identity_sql: asyncpg.Connection) -> Rows:
    return Rows(identity_sql)
