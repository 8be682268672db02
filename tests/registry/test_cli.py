"""``slotopt audit`` and ``slotopt receipt``: the shipped example end to end, exit codes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from slotopt.run.cli import command_names, main

from .helpers import make_batch, open_registry, record

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped eight-week example run from the CLI into a registry."""
    tmp = tmp_path_factory.mktemp("shipped")
    db, out = tmp / "registry.sqlite", tmp / "result"
    code = main(
        [
            "batch-run",
            str(REPO / "instances" / "prefecture-batches"),
            "--out",
            str(out),
            "--db",
            str(db),
        ]
    )
    assert code == 0
    return db, out


def test_commands_are_registered() -> None:
    assert "audit" in command_names() and "receipt" in command_names()


def test_every_draw_of_the_shipped_example_audits_clean(
    shipped: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, out = shipped
    assert main(["audit", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "[ok] integrity" in text and "8 draw(s) audited: all clean" in text
    assert text.count("CLEAN") == 8 and "FAIL" not in text
    assert main(["audit", str(out), "--batch", "2026-W02", "--batch", "2026-W05"]) == 0
    text = capsys.readouterr().out
    assert "2 draw(s) audited: all clean" in text


def test_a_tampered_registry_fails_the_audit(
    shipped: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "copy.sqlite"
    src = sqlite3.connect(shipped[0])
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.execute("DROP TRIGGER draw_requests_no_update")
    dst.execute(
        "UPDATE draw_requests SET slot_id = NULL WHERE batch = '2026-W04' AND request_id = "
        "(SELECT request_id FROM draw_requests WHERE batch = '2026-W04' AND slot_id IS NOT NULL "
        "ORDER BY lottery_position LIMIT 1)"
    )
    dst.commit()
    dst.close()
    assert main(["audit", "--db", str(db)]) == 1
    text = capsys.readouterr().out
    assert "trigger draw_requests_no_update is missing" in text
    assert "draw of batch '2026-W04'" in text and "fingerprint" in text
    assert "batch 2026-W04: MISMATCH" in text and "1 request(s) differ" in text
    assert text.count("CLEAN") == 7


def test_a_tampered_result_folder_fails_the_audit(
    shipped: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    out = tmp_path / "result"
    shutil.copytree(shipped[1], out)
    com = (out / "commitments.csv").read_text().splitlines()
    fields = com[3].split(",")
    fields[4] = "00" * 32  # another secret for 2026-W03
    com[3] = ",".join(fields)
    (out / "commitments.csv").write_text("\n".join(com) + "\n")
    assert main(["audit", str(out), "--batch", "2026-W03"]) == 1
    text = capsys.readouterr().out
    assert "[FAIL] reveal" in text and "[FAIL] recompute" in text


def test_bad_audit_arguments_exit_2(
    shipped: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, out = shipped
    assert main(["audit"]) == 2
    assert main(["audit", str(out), "--db", str(db)]) == 2
    assert main(["audit", "--db", str(tmp_path / "missing.sqlite")]) == 2
    assert main(["audit", "--db", str(db), "--batch", "2030-W99"]) == 2
    assert main(["audit", str(tmp_path)]) == 2  # no summary.json
    assert main(["audit", "--db", str(db), "--alpha", "2"]) == 2
    err = capsys.readouterr().err
    assert "2030-W99 has no published draw" in err and "summary.json: missing" in err


def test_receipt_show_and_verify(
    shipped: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = shipped
    receipt = tmp_path / "receipt.json"
    assert (
        main(["receipt", "show", "--db", str(db), "--request", "d1-001-w1", "--out", str(receipt)])
        == 0
    )
    assert (
        main(["receipt", "show", "--db", str(db), "--request", "d1-001-w1", "--out", str(receipt)])
        == 2
    )  # never overwritten without --force
    doc = json.loads(receipt.read_text())
    assert doc["receipt"]["request_id"] == "d1-001-w1"
    assert main(["receipt", "verify", str(receipt), "--db", str(db)]) == 0
    assert "[ok] the receipt" in capsys.readouterr().out
    doc["receipt"]["registered_at"] -= 3600
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    assert main(["receipt", "verify", str(forged), "--db", str(db)]) == 1
    assert "the document was altered" in capsys.readouterr().out
    assert main(["receipt", "show", "--db", str(db), "--request", "nobody"]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["receipt", "verify", str(bad), "--db", str(db)]) == 2
    assert "line 1, column 2" in capsys.readouterr().err


def test_receipt_show_prints_without_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_registry(tmp_path) as reg:
        record(reg, make_batch("w1", 8))
    assert (
        main(
            ["receipt", "show", "--db", str(tmp_path / "registry.sqlite"), "--request", "w1-R0001"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "slotopt-receipt-v1" and len(doc["attempts"]) == 1


def test_a_result_folder_whose_instance_changed_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    inst = tmp_path / "instance"
    shutil.copytree(REPO / "instances" / "prefecture-batches", inst)
    out = tmp_path / "result"
    assert main(["batch-run", str(inst), "--out", str(out)]) == 0
    capsys.readouterr()
    with (inst / "requests.csv").open("a") as fh:
        fh.write("\n")
    assert main(["audit", str(out)]) == 2
    assert "requests.csv changed since the run" in capsys.readouterr().err
