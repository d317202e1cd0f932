"""Synthetic document-camera footage: a court page laid on a desk and held still, as frame_%03d.png files with the
page's true text and corners, so camera capture can be tested without a camera."""
from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from synth.documents import civil_case, make_court
from synth.render import SEAL_GREY, render_page

FRAME = (1600, 1200)          # width, height: a 2-megapixel document camera
PAGE_HEIGHT = 1060            # the page's long side on the desk, in frame pixels
A4_RATIO = 210 / 297
PATTERN = "frame_%03d.png"
SEAL_RED = (110, 110, 235)    # BGR: a red seal as lightly inked as the greyscale renderer's ring
KEYSTONE = 0.035              # the camera looks slightly from the front: the far (top) edge looks narrower
NOISE_SIGMA = 3.0


@dataclass(frozen=True)
class DeskPage:
    """A colour page image (BGR, 300 dpi A4) and the exact text printed on it; title is its heading."""
    image: np.ndarray
    text: str
    title: str


@dataclass(frozen=True)
class Pose:
    """Where the page lies on the desk: its centre in frame pixels (before the camera's keystone) and its rotation
    in degrees, counter-clockwise. A pose outside the frame means the page is off the desk."""
    x: float
    y: float
    angle: float = 0.0


OFF_RIGHT = Pose(FRAME[0] + 700, FRAME[1] / 2, -12.0)


@dataclass(frozen=True)
class Step:
    """One stretch of footage: the page moves to `pose` over `seconds` (hold=False), or lies at `pose` with a
    jitter of ±1 px for `seconds` (hold=True)."""
    pose: Pose
    seconds: float
    hold: bool = False


@dataclass(frozen=True)
class DeskSequence:
    """Frames written to a folder: the VideoCapture source pattern, the rate, the page's text, its true corners in
    each frame (top-left, top-right, bottom-right, bottom-left; None when no page is on the desk) and the frame
    ranges where it was held still."""
    pattern: str
    fps: float
    frames: int
    text: str
    title: str
    corners: tuple[np.ndarray | None, ...]
    holds: tuple[range, ...]


def court_page(seed: int = 5) -> DeskPage:
    """The acceptance notice (受理案件通知书) of a synthetic case, with its seal turned red as a real one is."""
    case = civil_case(random.Random(seed), make_court(random.Random(seed)))
    document = next(d for d in case.documents if d.type_code == "ACCEPT_NOTICE")
    rendered = render_page(document.pages[0])
    return DeskPage(_red_seal(rendered.image), rendered.text, document.title)


def _red_seal(gray: np.ndarray) -> np.ndarray:
    """Colour the seal's grey ring and star red; anti-aliased edges of the black text (next to ink) stay grey."""
    colour = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    near_ink = cv2.erode(gray, np.ones((5, 5), np.uint8)) < 120
    seal = (np.abs(gray.astype(np.int16) - SEAL_GREY - 5) <= 12) & ~near_ink
    colour[seal] = SEAL_RED
    return colour


# ---- scripts of page movements ----------------------------------------------------------------------------------

def rest_pose(seed: int = 0) -> Pose:
    """A natural resting place near the middle of the frame, tilted a few degrees."""
    rng = random.Random(seed)
    return Pose(FRAME[0] / 2 + rng.uniform(-60, 60), FRAME[1] / 2 + rng.uniform(-15, 15),
                rng.uniform(3, 7) * rng.choice((-1, 1)))


def lay_and_hold(rest: Pose, enter_s: float = 1.0, hold_s: float = 1.5) -> list[Step]:
    """The operator slides a page in from the right and leaves it still."""
    return [Step(OFF_RIGHT, 0.1, hold=True), Step(rest, enter_s), Step(rest, hold_s, hold=True)]


def hold_take_away_and_return(first: Pose, second: Pose, hold_s: float = 4.0, again_s: float = 1.5) -> list[Step]:
    """A page held still for a long time, taken off the desk, then laid down again (elsewhere) and held."""
    return [*lay_and_hold(first, 1.0, hold_s), Step(OFF_RIGHT, 0.8), Step(OFF_RIGHT, 0.5, hold=True),
            Step(second, 1.0), Step(second, again_s, hold=True)]


# ---- geometry ---------------------------------------------------------------------------------------------------

def _keystone() -> np.ndarray:
    """Homography from the desk plane to the camera image: the top of the frame is seen slightly narrower."""
    w, h = FRAME
    desk = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    seen = np.float32([[w * KEYSTONE, h * 0.01], [w * (1 - KEYSTONE), h * 0.01], [w, h], [0, h]])
    return cv2.getPerspectiveTransform(desk, seen)


def page_corners(pose: Pose, height: float = PAGE_HEIGHT) -> np.ndarray:
    """The page's four corners in the camera image for a pose: TL, TR, BR, BL as float32 (4, 2)."""
    half = np.float32([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * np.float32([height * A4_RATIO / 2, height / 2])
    theta = np.deg2rad(pose.angle)
    turn = np.float32([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    on_desk = half @ turn.T + np.float32([pose.x, pose.y])
    return cv2.perspectiveTransform(on_desk[None], _keystone())[0]


def _ease(t: float) -> float:
    """A hand's movement: quick in the middle, slowing as it arrives."""
    return t * t * (3 - 2 * t)


def _poses(steps: Sequence[Step], fps: float, rng: random.Random) -> Iterator[tuple[Pose, bool]]:
    """The page's pose in each frame and whether it is a held frame."""
    current = steps[0].pose
    for step in steps:
        count = max(1, round(step.seconds * fps))
        for i in range(count):
            if step.hold:
                yield Pose(step.pose.x + rng.randint(-1, 1), step.pose.y + rng.randint(-1, 1), step.pose.angle), True
            else:
                t = _ease((i + 1) / count)
                yield Pose(*(a + (b - a) * t for a, b in zip(_astuple(current), _astuple(step.pose)))), False
        current = step.pose


def _astuple(pose: Pose) -> tuple[float, float, float]:
    return pose.x, pose.y, pose.angle


def _visible(corners: np.ndarray) -> bool:
    """Any part of the page inside the frame."""
    return bool((corners[:, 0].max() > 0) and (corners[:, 0].min() < FRAME[0]) and (corners[:, 1].max() > 0)
                and (corners[:, 1].min() < FRAME[1]))


# ---- pictures ---------------------------------------------------------------------------------------------------

def desk(seed: int) -> np.ndarray:
    """A wooden desk top (BGR float32): warm brown with soft, low-contrast grain running across."""
    rng = np.random.default_rng(seed)
    w, h = FRAME
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    wobble = cv2.resize(rng.normal(0, 25, (6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = np.sin((ys + wobble + 0.02 * xs) / 9.0) * 6 + np.sin((ys + 0.5 * wobble) / 31.0) * 5
    base = np.float32([70, 105, 150])
    return np.clip(base[None, None, :] + grain[..., None], 0, 255).astype(np.float32)


def _lighting() -> np.ndarray:
    """The desk lamp: brighter at the upper left, falling off towards the edges (a multiplier per pixel)."""
    w, h = FRAME
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    slope = 1.05 - 0.12 * (xs / w) - 0.08 * (ys / h)
    vignette = 1.0 - 0.12 * (((xs - w / 2) / w) ** 2 + ((ys - h / 2) / h) ** 2)
    return (slope * vignette)[..., None]


def _page_at_size(page: np.ndarray, height: float) -> np.ndarray:
    """The page shrunk once to about its size in the frame, so the perspective warp does not alias the print."""
    scale = height / page.shape[0]
    return cv2.resize(page, (round(page.shape[1] * scale), round(page.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def _lay(background: np.ndarray, page: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The page warped onto the desk at its corners, edges anti-aliased."""
    h, w = page.shape[:2]
    source = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    size = FRAME
    warped = cv2.warpPerspective(page, matrix, size, flags=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size, flags=cv2.INTER_LINEAR)[..., None]
    return background * (1 - alpha) + warped * alpha


def hand(frame: np.ndarray, x: float, y: float) -> np.ndarray:
    """A hand-like blob (palm, four fingers, a thumb, and the arm reaching in from the bottom) drawn at (x, y)."""
    out = frame.copy()
    skin = (120, 150, 205)
    cv2.line(out, (int(x), int(y)), (int(x + 40), FRAME[1] + 100), skin, 120)
    cv2.ellipse(out, (int(x), int(y)), (70, 85), 0, 0, 360, skin, -1)
    for k, dx in enumerate((-48, -16, 16, 46)):
        cv2.ellipse(out, (int(x + dx), int(y - 110 + abs(k - 1.5) * 10)), (15, 50), 0, 0, 360, skin, -1)
    cv2.ellipse(out, (int(x + 85), int(y + 5)), (16, 45), -40, 0, 360, skin, -1)
    return out


class _Sensor:
    """What the camera records: the lit scene, a little optical blur, sensor noise, 8 bits. The noise is a window
    at a seeded offset into one bank made per sequence (making fresh Gaussian noise per frame is the slow part)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.light = _lighting()
        cv2.setRNGSeed(seed)
        self.bank = np.empty((FRAME[1] + 64, FRAME[0] + 64, 3), np.float32)
        cv2.randn(self.bank, 0.0, NOISE_SIGMA)

    def record(self, scene: np.ndarray) -> np.ndarray:
        lit = cv2.GaussianBlur(scene * self.light, (0, 0), 0.6)
        oy, ox = self.rng.randrange(64), self.rng.randrange(64)
        return np.clip(lit + self.bank[oy:oy + FRAME[1], ox:ox + FRAME[0]], 0, 255).astype(np.uint8)


def _write(folder: Path, index: int, frame: np.ndarray) -> None:
    """One lossless frame; Huffman-only PNG, as noisy frames hardly compress and full deflate is slow on them."""
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    if not cv2.imwrite(str(folder / (PATTERN % index)), frame, params):
        raise OSError(f"could not write a frame into {folder}")


# ---- sequences --------------------------------------------------------------------------------------------------

def page_sequence(folder: Path, steps: Sequence[Step], *, page: DeskPage | None = None, seed: int = 0,
                  fps: float = 10.0) -> DeskSequence:
    """Film a page following `steps` on the desk and write the frames into `folder` as frame_%03d.png."""
    page = page or court_page()
    folder.mkdir(parents=True, exist_ok=True)
    background, sensor = desk(seed), _Sensor(seed)
    print_size = _page_at_size(page.image, PAGE_HEIGHT * 1.05)
    rng = random.Random(seed)
    corners, holds = [], []
    for index, (pose, held) in enumerate(_poses(steps, fps, rng)):
        where = page_corners(pose)
        scene = _lay(background, print_size, where) if _visible(where) else background
        _write(folder, index, sensor.record(scene))
        corners.append(where if _visible(where) else None)
        holds.append(held and _visible(where))
    return DeskSequence(str(folder / PATTERN), fps, len(corners), page.text, page.title, tuple(corners),
                        _runs(holds))


def _runs(flags: list[bool]) -> tuple[range, ...]:
    """The index ranges where flags stay True."""
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append(range(start, i))
            start = None
    return tuple(runs)


def empty_sequence(folder: Path, *, seconds: float = 2.5, seed: int = 0, fps: float = 10.0) -> DeskSequence:
    """The desk with no page: a hand reaches in, moves about, rests for a second, and withdraws."""
    folder.mkdir(parents=True, exist_ok=True)
    background, sensor = desk(seed), _Sensor(seed)
    count = max(1, round(seconds * fps))
    for index in range(count):
        t = min(1.0, 2.5 * index / count)         # arrives in the first 40 %, then rests
        scene = hand(background, 300 + 700 * _ease(t), FRAME[1] - 250 - 300 * _ease(t))
        _write(folder, index, sensor.record(scene))
    return DeskSequence(str(folder / PATTERN), fps, count, "", "", (None,) * count, ())
