"""Draft key rotation: several keys in TRAENINGSGUIDEN_DRAFT_KEY (newest first), MultiFernet style."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.__main__ import main
from bot.drafts.model import DraftInput
from bot.drafts.store import DraftKeyError, DraftStore
from bot.keys import KeyFileError, split_keys

NOW = dt.datetime.now(dt.timezone.utc)


def draft_input(name: str) -> DraftInput:
    return DraftInput(
        offer="maintenance_training",
        municipality="aarhus",
        legal_basis=[{"citation": "Ældreloven § 10"}],
        facts={"age": 80},
        applicant_relation="self",
        person_name=name,
        date_of_birth=dt.date(1946, 2, 1),
        phone=None,
        email=None,
        need_description="Har brug for træning efter et fald.",
        consent_health_info=True,
    )


def name_of(store: DraftStore, token: str) -> str:
    draft = store.get_by_token(token, NOW)
    assert draft is not None
    return draft.input.person_name


def test_several_keys_split_and_each_is_checked() -> None:
    new, old = Fernet.generate_key(), Fernet.generate_key()
    assert split_keys(new + b" , " + old) == [new, old]
    assert split_keys(new + b"\n" + old) == [new, old]
    with pytest.raises(KeyFileError):
        split_keys(new + b" not-a-key")
    with pytest.raises(KeyFileError):
        split_keys(b"  ")


def test_rotation_keeps_every_draft_readable_and_bound_then_the_old_key_can_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drafts.db'}"
    old, new = Fernet.generate_key(), Fernet.generate_key()
    before = DraftStore(url, key=old)
    made = before.create(draft_input("Bo Fiktiv"), "k-1", NOW, owner="conversation-1")
    before.close()

    during = DraftStore(url, key=new + b" " + old)  # the new key first: writes with it, reads with both
    assert name_of(during, made.token) == "Bo Fiktiv"
    second = during.create(draft_input("Ida Fiktiv"), "k-2", NOW, owner="conversation-2")
    assert during.rotate() == 2  # every encrypted column re-encrypted with the new key
    assert not during.delete_owned(made.reference, "conversation-2")  # another conversation: no
    during.close()

    after = DraftStore(url, key=new)  # the old key removed
    assert name_of(after, made.token) == "Bo Fiktiv"
    assert name_of(after, second.token) == "Ida Fiktiv"
    assert after.delete_owned(second.reference, "conversation-2")  # bound under the new key
    after.close()

    unrotated = DraftStore(url, key=old)
    with pytest.raises(DraftKeyError):
        unrotated.get_by_token(made.token, NOW)
    unrotated.close()


def test_an_owner_hash_made_under_the_old_key_still_binds_while_the_old_key_is_listed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drafts.db'}"
    old, new = Fernet.generate_key(), Fernet.generate_key()
    made = DraftStore(url, key=old).create(draft_input("Bo Fiktiv"), "k-1", NOW, owner="conversation-1")
    during = DraftStore(url, key=new + b" " + old)
    assert not during.delete_owned(made.reference, "someone-else")
    assert during.delete_owned(made.reference, "conversation-1")


def test_the_rotate_command_reencrypts_with_the_first_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'drafts.db'}"
    old, new = Fernet.generate_key(), Fernet.generate_key()
    made = DraftStore(url, key=old).create(draft_input("Bo Fiktiv"), "k-1", NOW)
    monkeypatch.setenv("TRAENINGSGUIDEN_DRAFT_DATABASE_URL", url)
    monkeypatch.setenv("TRAENINGSGUIDEN_DRAFT_KEY", f"{new.decode()},{old.decode()}")
    assert main(["rotate-draft-key"]) == 0
    assert capsys.readouterr().out.strip() == "rotated=1"
    assert name_of(DraftStore(url, key=new), made.token) == "Bo Fiktiv"
