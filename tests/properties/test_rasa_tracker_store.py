"""bot/rasa_tracker_store.py, properties: no CPR number survives masking anywhere in an event.

Found by `make fuzz` (bench/fuzz.py): REST metadata is the sender's JSON, and a CPR number used
as a metadata key (`{"metadata": {"0101901234": "x"}}`) reached the tracker store unmasked;
so could a payload's number (`/inform{"choice": 3112901234}`): `mask_json` masked only strings.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import mask_cpr
from bot.rasa_tracker_store import MaskingSQLTrackerStore, mask_json
from tests.properties.strategies import cpr_numbers, json_values, text_with_cpr


@st.composite
def json_with_cpr(draw: st.DrawFn) -> Any:
    """A JSON value with a CPR number somewhere: in a string, as a key, or as a number."""
    text, cpr = draw(text_with_cpr())
    leaf = draw(
        st.sampled_from([text, int(cpr) if cpr[0] != "0" else cpr, {cpr: draw(json_values)}, {text: 1}])
    )
    value = draw(json_values)
    for _ in range(draw(st.integers(0, 3))):
        value = draw(st.sampled_from([[value, leaf], {"a": value, "b": leaf}, [leaf]]))
    return {"x": value, "y": leaf}


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@given(json_with_cpr())
@example({"metadata": {"0101901234": "x"}})
@example({"entities": [{"entity": "choice", "value": 3112901234}]})
@example({"value": 3112901234.0})
def test_no_cpr_number_survives_mask_json(value: Any) -> None:
    masked = mask_json(value)
    assert not mask_cpr(_dump(masked))[1], _dump(masked)


@given(json_values)
def test_json_without_a_cpr_number_is_unchanged(value: Any) -> None:
    if not mask_cpr(_dump(value))[1]:
        assert mask_json(value) == value


_STORE_DIR = Path(tempfile.mkdtemp(prefix="prop-tracker-"))
_STORE = MaskingSQLTrackerStore(dialect="sqlite", db=str(_STORE_DIR / "tracker.db"))


@settings(max_examples=60)
@given(cpr_numbers(), st.sampled_from(["key", "int", "text"]))
def test_a_tracker_with_a_cpr_number_in_metadata_or_an_entity_is_stored_masked(cpr: str, where: str) -> None:
    """Through the real store's save: the raw rows hold no CPR number."""
    metadata: dict[str, Any] = {cpr: "x"} if where == "key" else {"note": f"cpr {cpr}"}
    value: Any = int(cpr) if where == "int" else "ja"
    sender = f"prop-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen"),
            UserUttered(
                f'/inform{{"fact": "person_name", "choice": {value!r}}}',
                {"name": "inform", "confidence": 1.0},
                [{"entity": "choice", "value": value}],
                metadata=metadata,
            ),
        ],
    )
    asyncio.run(_STORE.save(tracker))
    with _STORE.engine.connect() as conn:
        rows = [
            r[0] for r in conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s"), {"s": sender})
        ]
    assert len(rows) == 2
    assert not mask_cpr(" ".join(rows))[1], rows
