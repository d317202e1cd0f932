"""Document cameras (高拍仪) through OpenCV — the only module under devices/ that imports it.

A document camera is a UVC webcam on a stand looking down at the desk. `cv2.VideoCapture` opens one by index
(`camera:0`), or a video file or an image sequence (`camera:/path/frame_%03d.png`) that stands in for one.

The flow of one pass (`feed`), frame by frame:
1. find the page: blur, Canny edges, the outer contours, and the largest one whose convex hull is a four-corner
   polygon covering a plausible part of the frame and not cut by its border (`find_page`);
2. wait for it to lie still: the corners move no more than STILL_PX from one frame to the next for `still_s`
   seconds of footage, counted in frames at the source's rate (`_Stillness`);
3. capture it: the frame warped perspective-corrected to an upright A4 page at the pass's resolution, the lamp's
   uneven light evened out, in colour or grey as the settings ask (`page_image`);
4. wait for that page to leave the desk or be moved before capturing again, so one page held gives one capture
   and a page laid down again gives the next sheet.
A live camera gives one page per pass, as a flatbed does; a file or image sequence is read to its end. Input that
ended without a page ever captured raises NoPageFound. On command (`ScanSettings.at_once`) the first page in full
view is captured at once, still or not.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image

from devices.base import Capture, DeviceError, DeviceInfo, DeviceState, NoPageFound, ScanSettings, png_capture

A4_MM = (210.0, 297.0)
MIN_AREA = 0.15          # the page covers at least this share of the frame
BORDER_PX = 3            # a corner this close to the frame's edge: the page reaches out of view
STILL_PX = 4.0           # corners moving at most this far from one frame to the next: the page lies still
MOVED_PX = 20.0          # corners this far from where a captured page lay: it was moved, capture it again
SEQUENCE_FPS = 10.0      # an image sequence has no frame rate of its own (FFmpeg reports its default, 25)
TRIM_MM = 0.5            # the page's outermost edge, blurred with the desk beside it, is left out
STALE_FRAMES = 5         # frames a live camera holds in its buffer from before the command
PREVIEW_EVERY_S = 0.2    # a live preview shows at most five frames a second
SNAP_FRAMES = 30         # on command, a live camera is looked at this many frames for a page in full view


class DocumentCamera:
    """A camera by index, or a video file or image-sequence pattern. `page_dpi`, when given, is the resolution of
    the captured page whatever the pass asks; `still_s` is how long a page must lie still to be captured."""

    def __init__(self, id: str, source: int | str, page_dpi: int | None = None, still_s: float = 0.8):
        self.id, self.source, self.page_dpi, self.still_s = id, source, page_dpi, still_s
        self._video = None
        self.preview = None            # a callable given each frame's small JPEG, for a live preview on screen
        self.cancelled = None          # a callable: True once whoever asked for the pass no longer waits for it
        self._shown_at = 0.0

    @property
    def _live(self) -> bool:
        return isinstance(self.source, int)

    # Device ------------------------------------------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        address = f"camera:{self.source}"
        try:
            video = self._video if self._video is not None else self._open()
        except DeviceError as exc:    # no camera there is a state to show, not a failure
            return DeviceInfo(self.id, "camera", address, DeviceState.OFFLINE, exc.detail)
        frame = [int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))]
        return DeviceInfo(self.id, "camera", address, DeviceState.READY, "", {"sources": ["camera"], "frame": frame})

    def feed(self, settings: ScanSettings) -> Iterator[Capture]:
        video = self._open()
        dpi = self.page_dpi or settings.dpi
        if settings.at_once:
            yield self._snap(video, dpi, settings.mode)
            return
        stillness = _Stillness(max(1, round(self.still_s * self._fps(video))))
        sheet = 0
        for frame in self._frames(video):
            if self.cancelled is not None and self.cancelled():
                return
            self._show(frame)
            corners = find_page(frame)
            if stillness.settled(corners):
                sheet += 1
                yield png_capture(page_image(frame, corners, dpi, settings.mode), device=self.id, source="camera",
                                  sheet=sheet, dpi=dpi)
                if self._live:
                    return
        if not sheet:
            raise NoPageFound()

    def close(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None

    def _show(self, frame: np.ndarray) -> None:
        """At most five preview frames a second, 640 pixels wide."""
        now = time.monotonic()
        if self.preview is None or now - self._shown_at < PREVIEW_EVERY_S:
            return
        self._shown_at = now
        scale = 640 / max(1, frame.shape[1])
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame
        ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
        if ok:
            self.preview(jpeg.tobytes())

    def _snap(self, video: cv2.VideoCapture, dpi: int, mode: str) -> Capture:
        """The page in view now: a live camera's buffered frames are passed over first (they show the desk as it
        was), then the first frame with a whole page in it is taken."""
        frames = self._frames(video)
        for _ in range(STALE_FRAMES if self._live else 0):
            next(frames, None)
        for looked, frame in enumerate(frames):
            corners = find_page(frame)
            if corners is not None:
                return png_capture(page_image(frame, corners, dpi, mode), device=self.id, source="camera", sheet=1,
                                   dpi=dpi)
            if self._live and looked >= SNAP_FRAMES:
                break
        raise NoPageFound()

    # the source --------------------------------------------------------------------------------------------------
    def _open(self) -> cv2.VideoCapture:
        """The source opened afresh (a file from its first frame)."""
        self.close()
        try:
            video = cv2.VideoCapture(self.source)
        except cv2.error as exc:
            raise DeviceError(DeviceState.OFFLINE, f"camera:{self.source}: {exc}") from exc
        if not video.isOpened():
            video.release()
            raise DeviceError(DeviceState.OFFLINE, f"camera:{self.source} cannot be opened (no such camera or file)")
        self._video = video
        return video

    def _fps(self, video: cv2.VideoCapture) -> float:
        reported = video.get(cv2.CAP_PROP_FPS)
        sequence = isinstance(self.source, str) and "%" in self.source
        return SEQUENCE_FPS if sequence or not reported > 0 else reported

    def _frames(self, video: cv2.VideoCapture) -> Iterator[np.ndarray]:
        """Frames until a file ends; a live camera that stops delivering them has gone offline."""
        while True:
            ok, frame = video.read()
            if not ok:
                if self._live:
                    raise DeviceError(DeviceState.OFFLINE, f"camera:{self.source} stopped delivering frames")
                return
            yield frame


class _Stillness:
    """Frame by frame: has the page lain still long enough to be captured? Once captured, a page is not captured
    again until it has left the view or been moved."""

    def __init__(self, frames_needed: int):
        self.needed = frames_needed
        self.previous = None       # the page's corners in the frame before
        self.still = 0             # frames in a row with the corners within STILL_PX of the frame before
        self.captured = None       # where the page last captured lies, while it lies there

    def settled(self, corners: np.ndarray | None) -> bool:
        previous, self.previous = self.previous, corners
        if corners is None:
            self.still, self.captured = 0, None
            return False
        if self.captured is not None and _movement(corners, self.captured) > MOVED_PX:
            self.captured = None
        steady = previous is not None and _movement(corners, previous) <= STILL_PX
        self.still = self.still + 1 if steady else 0
        if self.captured is None and self.still >= self.needed:
            self.captured = corners
            return True
        return False


def _movement(a: np.ndarray, b: np.ndarray) -> float:
    """How far the corners moved: the largest distance any one of them went."""
    return float(np.linalg.norm(a - b, axis=1).max())


def find_page(frame: np.ndarray) -> np.ndarray | None:
    """The page's corners in a BGR frame (TL, TR, BR, BL, float32 (4, 2)), or None when no page is in full view."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    edges = cv2.dilate(cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 50, 150), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    height, width = gray.shape
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        hull = cv2.convexHull(contour)
        quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
        if len(quad) == 4 and cv2.contourArea(quad) >= MIN_AREA * width * height and _in_view(quad, width, height):
            return order_corners(quad)
    return None


def _in_view(quad: np.ndarray, width: int, height: int) -> bool:
    """No corner at the frame's edge (a page reaching out of view shows a corner cut off there)."""
    far = np.float32([width - 1, height - 1]) - BORDER_PX
    return bool((quad >= BORDER_PX).all() and (quad <= far).all())


def order_corners(quad: np.ndarray) -> np.ndarray:
    """Four corners in the order TL, TR, BR, BL: clockwise on screen, from the one nearest the frame's top left."""
    centre = quad.mean(axis=0)
    clockwise = quad[np.argsort(np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0]))]
    return np.roll(clockwise, -int(np.argmin(clockwise.sum(axis=1))), axis=0)


def page_image(frame: np.ndarray, corners: np.ndarray, dpi: int, mode: str) -> Image.Image:
    """The page cut out of the frame as an upright A4 page at `dpi` (landscape when it lies landscape), its light
    evened out; RGB for colour, else grey."""
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    if math.dist(corners[0], corners[1]) > math.dist(corners[1], corners[2]):
        width, height = height, width
    trim = TRIM_MM / 25.4 * dpi       # the target a little larger than the image: the edge falls outside it
    near, right, bottom = -trim, width + trim, height + trim
    target = np.float32([[near, near], [right, near], [right, bottom], [near, bottom]])
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    page = _even_light(cv2.warpPerspective(frame, matrix, (width, height), flags=cv2.INTER_CUBIC,
                                           borderMode=cv2.BORDER_REPLICATE))
    if mode == "color":
        return Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2RGB))
    return Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2GRAY))


def _even_light(page: np.ndarray) -> np.ndarray:
    """Divide by the paper's own brightness, estimated on a small copy with the print taken out (a maximum filter
    then a blur), so the lamp's fall-off and tint become plain white."""
    height, width = page.shape[:2]
    small = cv2.resize(page, (max(1, width // 16), max(1, height // 16)), interpolation=cv2.INTER_AREA)
    paper = cv2.GaussianBlur(cv2.dilate(small, np.ones((7, 7), np.uint8)), (0, 0), 5)
    paper = cv2.resize(paper, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return cv2.divide(page.astype(np.float32), np.maximum(paper, 1.0), scale=255.0).clip(0, 255).astype(np.uint8)
