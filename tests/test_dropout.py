"""The reading copy's treatments (ocr.dropout) on pages drawn for each: what a page they do not concern gets back
(nothing: it is read as it was), and what the rule removal keeps. The rates on real-looking paper are in
test_ocr_kinds.py."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr import dropout

DPI = 300
A4 = (3508, 2480)


def paper(shade: int = 255) -> np.ndarray:
    return np.full(A4, shade, np.uint8)


def test_pages_with_nothing_to_treat_are_read_as_they_are():
    for page in (paper(), np.full((400, 400), 255, np.uint8)):
        reading = dropout.reading_copy(page, None, DPI)
        assert reading.steps == () and reading.image is page
    grey = dropout.reading_copy(paper(200), None, DPI)        # grey paper: evened to white, nothing else done
    assert grey.steps == ("paper evened for reading",) and (grey.image > 240).all()


def test_a_snippet_is_read_as_it_is():
    snippet = np.full((60, 400), 255, np.uint8)
    cv2.line(snippet, (0, 30), (399, 30), 0, 2)
    assert dropout.reading_copy(snippet, None, DPI).image is snippet


def test_a_colour_copy_of_another_size_is_refused():
    with pytest.raises(ValueError, match="RGB of the grey page's size"):
        dropout.reading_copy(paper(), np.full((*A4[::-1], 3), 255, np.uint8), DPI)


def test_a_table_loses_its_rules_but_not_the_print_inside_a_rounded_corner():
    page = paper()
    cv2.rectangle(page, (300, 400), (2100, 1400), 0, 3)
    cv2.line(page, (300, 900), (2100, 900), 0, 3)
    page[395:425, 2075:2106] = 255                    # a round corner: the rules stop short, an arc joins them
    cv2.ellipse(page, (2075, 425), (25, 25), 0, 270, 360, 0, 3)
    cv2.rectangle(page, (2077, 412), (2085, 422), 0, -1)   # print in the corner's box, apart from the arc
    done = dropout.remove_rules(page, DPI)
    assert done is not None
    out, told = done
    assert told.startswith("3 horizontal")
    assert (out[895:905, 400:2000] > 200).all()            # the rule through the table is gone
    assert (out[413:422, 2078:2085] < 60).all()             # the print beside the arc is kept
    assert (out[398:402, 2076:2090] > 200).all()            # the arc is gone


def test_red_seal_ink_over_paper_becomes_paper_and_black_print_under_it_stays():
    gray, colour = paper(), np.full((*A4, 3), 255, np.uint8)
    cv2.putText(gray, "TEXT", (900, 1520), cv2.FONT_HERSHEY_SIMPLEX, 6, 0, 18)
    colour[gray == 0] = 0
    cv2.circle(colour, (1200, 1400), 240, (220, 30, 30), 14)      # a seal's ring, in red, over the print
    seal = (colour[:, :, 0] == 220) & (gray == 255)
    gray[seal] = 120                                               # how a red ring reads in grey
    reading = dropout.reading_copy(gray, colour, DPI)
    assert "red seal dropped for reading" in reading.steps
    assert (reading.image[seal] > 200).mean() > 0.99
    assert (reading.image[(gray == 0) & (colour[:, :, 0] == 0)] < 60).mean() > 0.99


def test_toner_specks_go_but_the_points_of_a_date_between_its_digits_stay():
    page = paper()
    cv2.putText(page, "2016.01.16", (400, 800), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 0, 2)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((page < 128).astype(np.uint8), connectivity=8)
    points = [labels == n for n in range(1, len(stats)) if stats[n, cv2.CC_STAT_AREA] < 39]
    assert len(points) == 2                                 # the two full stops of the date are as small as specks
    rng = np.random.default_rng(7)
    specks = [(int(x), int(y)) for x, y in zip(rng.integers(100, 2300, 60), rng.integers(1200, 3300, 60))]
    for x, y in specks:
        page[y:y + 3, x:x + 3] = 0
    done = dropout.remove_specks(page, DPI)
    assert done is not None
    out, removed = done
    assert removed == len(specks)
    assert all((out[y:y + 3, x:x + 3] > 200).all() for x, y in specks)
    assert all((out[point] < 128).all() for point in points)
