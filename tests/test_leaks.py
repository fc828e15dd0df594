"""The leak scanner (kiosk/leaks.py) finds a card number, a PIN or personal data in every form
software writes text in, shows each masked, and does not cry wolf."""

import json

from kiosk.hardware.virtual_card import PROFILES
from kiosk.leaks import main, scan

VISA = PROFILES["visa"].pan
OTHER_LUHN = "4000056655665556"  # Luhn-valid, not one of the cards looked for


def test_a_card_number_in_each_form_is_found_and_shown_masked(tmp_path):
    spaced = " ".join(VISA[i:i + 4] for i in range(0, len(VISA), 4))
    forms = {
        "plain.log": f"paid with {VISA} ok".encode(),
        "spaced.log": f"card {spaced}".encode(),
        "dashed.log": ("-".join(VISA[i:i + 4] for i in range(0, len(VISA), 4))).encode(),
        "utf16le.bin": b"\x00\x01\x02" + f"x{VISA}".encode("utf-16-le"),  # at an odd offset
        "utf16be.bin": f"{VISA}".encode("utf-16-be"),
    }
    for name, data in forms.items():
        (tmp_path / "data" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "data" / name).write_bytes(data)
    leaks = scan([tmp_path / "data"], pans=[VISA])
    assert sorted(leak.path.name for leak in leaks) == sorted(forms)
    assert all(leak.kind == "card_number" and leak.shown == f"{VISA[:6]}…{VISA[-4:]}" for leak in leaks)
    assert all(VISA not in str(leak) for leak in leaks)


def test_only_the_cards_and_secrets_asked_for_count(tmp_path):
    changed_last = VISA[:-1] + str((int(VISA[-1]) + 1) % 10)  # not the card (nor Luhn-valid)
    (tmp_path / "a.log").write_text(f"order 12345678901234 and {OTHER_LUHN} and {changed_last} and 1{VISA}")
    assert scan([tmp_path], pans=[VISA]) == []


def test_secrets_as_is_json_escaped_and_utf16(tmp_path):
    (tmp_path / "journal.json").write_text(json.dumps({"email": "zoë/q7@example.nl"}))  # "zo\u00eb\/..." kinds
    (tmp_path / "audit.bin").write_bytes("pin=918273".encode("utf-16-le"))
    (tmp_path / "clean.log").write_text("nothing to see: 91827 3 zoe@example.nl")
    leaks = scan([tmp_path], secrets={"pin": ["918273"], "email": ["zoë/q7@example.nl"]})
    assert sorted((leak.path.name, leak.kind) for leak in leaks) == [("audit.bin", "pin"), ("journal.json", "email")]
    assert all("918273" not in str(leak) and "q7@" not in str(leak) for leak in leaks)


def test_the_command_line_exits_1_on_a_leak(tmp_path, capsys):
    (tmp_path / "x.log").write_text(f"{VISA}")
    assert main([str(tmp_path), "--pan", VISA, "--secret", "pin=918273"]) == 1
    assert f"card_number {VISA[:6]}…{VISA[-4:]}" in capsys.readouterr().out
    (tmp_path / "x.log").write_text("clean")
    assert main([str(tmp_path), "--pan", VISA]) == 0
