"""The ID-card reader family: the simulated reader's spool folder, the checks a card must pass, masking, addresses."""
from __future__ import annotations

import base64
import threading
import time

import pytest

from classify.identifiers import resident_id_check, valid_resident_id
from devices.idcard import CardError, IdentityCard, SimulatedReader, open_reader, place, synthetic_card


def _card(**changes) -> dict:
    first17 = "99010119850612123"
    card = {"name": "柏林森", "sex": "男", "ethnicity": "汉", "birth": "1985-06-12",
            "address": "某某省云屏市柳溪区望江路8号", "number": first17 + resident_id_check(first17),
            "authority": "云屏市公安局柳溪分局", "valid_from": "2016-03-01", "valid_to": "2036-03-01"}
    return {**card, **changes}


def test_a_placed_card_is_read_with_its_fields_and_taken_off_the_reader(tmp_path) -> None:
    place(tmp_path, _card())
    reader = open_reader(f"idcard:sim:{tmp_path}")
    card = reader.read(timeout_s=1.0)
    reader.close()
    assert card == IdentityCard(**_card())
    assert list(tmp_path.iterdir()) == []
    assert reader.read(timeout_s=0.1) is None


def test_cards_are_read_oldest_first_and_the_photo_comes_with_them(tmp_path) -> None:
    place(tmp_path, _card(photo=base64.b64encode(b"\xff\xd8jpeg").decode()))
    place(tmp_path, synthetic_card(7))
    reader = SimulatedReader(tmp_path)
    first, second = reader.read(1.0), reader.read(1.0)
    assert first.name == "柏林森" and first.photo == b"\xff\xd8jpeg"
    assert second.number == synthetic_card(7)["number"]


def test_a_card_whose_number_fails_its_checksum_is_refused_saying_why(tmp_path) -> None:
    good = _card()["number"]
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    place(tmp_path, _card(number=bad))
    with pytest.raises(CardError, match="fails its checksum") as refused:
        SimulatedReader(tmp_path).read(1.0)
    assert bad not in str(refused.value)          # the message is shown and logged: the number masked
    assert "990101" in str(refused.value)
    assert list(tmp_path.iterdir()) == []         # the bad card does not block the next one


@pytest.mark.parametrize("card, why", [
    (_card(birth="1985-06-13"), "birth date does not match"),
    ({k: v for k, v in _card().items() if k != "name"}, "missing: name"),
    (_card(number=""), "missing: number"),
])
def test_cards_that_cannot_be_trusted_are_refused(tmp_path, card, why) -> None:
    place(tmp_path, card)
    with pytest.raises(CardError, match=why):
        SimulatedReader(tmp_path).read(1.0)


def test_an_unreadable_file_is_a_card_error(tmp_path) -> None:
    (tmp_path / "0001.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CardError, match="could not be read"):
        SimulatedReader(tmp_path).read(1.0)


def test_no_card_within_the_timeout_is_none(tmp_path) -> None:
    (tmp_path / "half.tmp").write_text("{", encoding="utf-8")          # being written: not a card yet
    started = time.monotonic()
    assert SimulatedReader(tmp_path).read(0.3) is None
    assert 0.3 <= time.monotonic() - started < 1.5
    assert SimulatedReader(tmp_path / "absent").read(0.1) is None


def test_a_card_placed_while_waiting_is_read(tmp_path) -> None:
    later = threading.Timer(0.2, place, (tmp_path, _card()))
    later.start()
    started = time.monotonic()
    card = SimulatedReader(tmp_path).read(5.0)
    later.join()
    assert card is not None and card.name == "柏林森"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("address", ["idcard:usb:/dev/hidraw0", "idcard:sim:", "sane:test:0", "/tmp/cards"])
def test_unknown_address_kinds_are_refused_naming_the_accepted_forms(address) -> None:
    with pytest.raises(ValueError, match="idcard:sim:FOLDER"):
        open_reader(address)


def test_synthetic_cards_are_valid_and_in_no_real_region() -> None:
    cards = [synthetic_card(seed) for seed in range(200)]
    for card in cards:
        assert valid_resident_id(card["number"]) and card["number"].startswith("99")
        assert card["birth"].replace("-", "") == card["number"][6:14]
        assert (int(card["number"][16]) % 2 == 1) == (card["sex"] == "男")
    assert synthetic_card(3) == synthetic_card(3)
    assert len({card["number"] for card in cards}) == len(cards)
