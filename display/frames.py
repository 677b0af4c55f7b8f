"""The OLED of simulate mode: every frame the panel would show is written as a PNG
(``<dir>/000001.png`` ...) plus ``latest.png``, from luma's ``dummy`` device; ``write_gif`` strings
the frames into an animation for a quick look."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from PIL import Image

from .oled import OledDisplay

_FRAME_RE = re.compile(r"^(\d{6})\.png$")


class PngFrameDisplay(OledDisplay):
    """An ``OledDisplay`` on a luma ``dummy`` device that also saves each pushed frame.

    :param directory: where frames go (created). Numbering continues after frames already there.
    :param keep: at most this many numbered frames are kept; older ones are deleted.
    Other keyword arguments are those of ``OledDisplay``.
    """

    def __init__(self, directory: str | os.PathLike, *, font_path: str | None = None,
                 clock: Callable[[], float] | None = None, keep: int = 5000, **kwargs) -> None:
        from luma.core.device import dummy

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        numbers = [int(m.group(1)) for m in map(_FRAME_RE.match, os.listdir(self.directory)) if m]
        self._next = max(numbers, default=0) + 1
        super().__init__(dummy(width=128, height=64, mode="1"), font_path=font_path, clock=clock, **kwargs)

    def _output(self, frame: Image.Image) -> None:
        super()._output(frame)
        self._write(frame)

    def blank(self) -> None:
        super().blank()
        self._write(Image.new("1", (128, 64), 0))

    def frames(self) -> list[Path]:
        """The numbered frames on disk, oldest first."""
        return sorted(p for p in self.directory.iterdir() if _FRAME_RE.match(p.name))

    def write_gif(self, path: str | os.PathLike, *, last: int = 200, scale: int = 2,
                  frame_ms: int = 500) -> Path:
        """An animated GIF of the last ``last`` frames, each pixel ``scale`` x ``scale``."""
        images = []
        for p in self.frames()[-last:]:
            with Image.open(p) as im:
                images.append(im.convert("L").resize((128 * scale, 64 * scale), Image.NEAREST))
        if not images:
            raise ValueError(f"no frames in {self.directory}")
        out = Path(path)
        images[0].save(out, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
        return out

    def _write(self, frame: Image.Image) -> None:
        try:
            self._save(frame)
        except FileNotFoundError:  # the directory was removed under us: recreate it, once
            self.directory.mkdir(parents=True, exist_ok=True)
            self._save(frame)

    def _save(self, frame: Image.Image) -> None:
        number = self._next
        frame.save(self.directory / f"{number:06d}.png")
        self._next = number + 1
        tmp = self.directory / "latest.png.tmp"
        frame.save(tmp, format="PNG")
        os.replace(tmp, self.directory / "latest.png")  # readers never see a half-written file
        stale = self.directory / f"{number - self.keep:06d}.png"
        if number > self.keep and stale.exists():
            stale.unlink()
