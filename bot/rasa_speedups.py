"""Two of Rasa 3.6's per-message costs, removed without changing what Rasa does (issue 9).

py-spy on `rasa run` under load (bench/profile.py, bench/README.md "Where the time goes") found:

- `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on every
  action server answer. `jsonschema.validate` first checks the *schema* against the JSON Schema
  meta-schema (`check_schema`) and builds a new validator, every call; Rasa's events schema is
  large, so that check alone was ~35 % of Rasa's CPU per message. Here the schema is checked
  once and its validator kept; each answer is still validated against the same schema, and an
  invalid answer raises the same `ValidationError` with Rasa's own message added.
- `Event.resolve_by_type` walks every subclass of `Event` (recursively, with
  `inspect.isabstract` on each) for every event it deserialises: each message reads the whole
  conversation session back from the tracker store, so this grew with every turn (~5 %).
  Here the class found for a type name is remembered; an unknown name still goes to Rasa's
  own lookup (and its error or default).

`install()` is called by our REST channel (bot/rasa_channel.py, from credentials.yml) when Rasa
builds its blueprint at start-up, so every `rasa run` of ours has it; it is idempotent. Imports
Rasa's actions module (and with it TensorFlow), which `rasa run` has loaded by then anyway.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Type

from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_INSTALLED = "_traeningsguiden_speedups"


@functools.lru_cache(maxsize=1)
def action_result_validator() -> Any:
    """The validator of Rasa's action server answer schema; the schema itself checked once, here."""
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """As Rasa's `RemoteAction._validate_action_result`, with the validator built once."""
    error = exceptions.best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def remembering_resolve_by_type(
    resolve: Callable[[str, Type[Event] | None], Type[Event] | None],
) -> Callable[[str, Type[Event] | None], Type[Event] | None]:
    """`Event.resolve_by_type` remembering the class found for each type name."""
    found: Dict[str, Type[Event]] = {}

    def resolve_by_type(type_name: str, default: Type[Event] | None = None) -> Type[Event] | None:
        cls = found.get(type_name)
        if cls is not None:
            return cls
        cls = resolve(type_name, default)
        if cls is not None and cls is not default:
            found[type_name] = cls
        return cls

    return resolve_by_type


def install() -> None:
    """Patch Rasa's two per-message costs (once per process)."""
    if getattr(RemoteAction, _INSTALLED, False):
        return
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(remembering_resolve_by_type(Event.resolve_by_type))
    setattr(RemoteAction, _INSTALLED, True)
