"""Headless Chromium (Debian's, never a downloaded one) with a fake camera fed from a real face photo.

The camera is Chromium's fake capture device reading a y4m video that ffmpeg (imageio-ffmpeg's)
makes from the photo, framed at the 4:3 aspect ratio the web app asks for (so the page does not crop
the face), 4:2:0, limited range, even dimensions.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from imageio_ffmpeg import get_ffmpeg_exe
from playwright.async_api import BrowserContext, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 640, 480
FRAME = (
    f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,"
    f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2,format=yuv420p"
)
OUTPUT = Path(__file__).resolve().parents[3] / "test-output" / "gateway-browser"


def camera_video(out: Path, *scenes: tuple[Path, float]) -> Path:
    """A y4m camera video showing each photo for its number of seconds, in order (2 frames a second)."""
    inputs: list[str] = []
    filters = []
    for index, (photo, seconds) in enumerate(scenes):
        inputs += ["-loop", "1", "-t", str(seconds), "-i", str(photo)]
        filters.append(f"[{index}]{FRAME},fps=2[s{index}]")
    joined = "".join(f"[s{i}]" for i in range(len(scenes)))
    graph = ";".join(filters) + f";{joined}concat=n={len(scenes)}:v=1[v]"
    subprocess.run(
        [
            get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            *inputs,
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-f",
            "yuv4mpegpipe",
            str(out),
        ],
        check=True,
    )
    return out


@asynccontextmanager
async def chromium(camera: Path, profile: Path) -> AsyncIterator[BrowserContext]:
    """Chromium with a fresh profile in `profile` and the fake camera playing `camera`."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            locale="en-US",
            accept_downloads=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}",
            ],
        )
        try:
            yield context
        finally:
            await context.close()


class Steps:
    """Screenshots of each step of a journey (test-output/gateway-browser/<journey>/NN-step.png), with timings."""

    def __init__(self, journey: str, page: Page) -> None:
        self.folder = OUTPUT / journey
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.page = page
        self.count = 0
        self.started = time.monotonic()
        self.timings: list[str] = []

    async def shot(self, name: str) -> None:
        self.count += 1
        await self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)
        self.timings.append(f"{time.monotonic() - self.started:7.1f}s  {name}")

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        (self.folder / "timings.txt").write_text("\n".join([*self.timings, f"{elapsed:7.1f}s  total"]) + "\n")
        return elapsed
