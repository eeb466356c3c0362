"""The bot server's check of action-server answers accepts and refuses exactly what Rasa's
own schema does, with Rasa's wording."""

import copy

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from server import action_response

SLOTS = [{"event": "slot", "name": "language", "value": "es", "timestamp": None}, {"event": "slot", "name": "jurisdiction", "value": None}]
REPLY = {"text": "Orlando: ...", "custom": {"topic": "daca", "sources": [{"url": "https://example.org"}]}}
VALID = [
    {"events": SLOTS, "responses": [REPLY]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "bot", "text": "hola", "data": {}, "metadata": {}}, {"event": "restart"}]},
    {"events": [{"event": "user", "text": "hola", "parse_data": {"intent": {"name": "greet", "confidence": 0.9}}}]},
]
INVALID = [
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "language", "value": "es"}]},  # no event type
    {"events": [{"event": "slot", "name": 42, "value": "es"}]},  # a slot's name is text
    {"events": [{"event": "slot", "name": "language", "timestamp": "yesterday"}]},
    {"events": [{"event": 7}]},
    {"events": {"event": "slot"}},
    {"events": SLOTS, "responses": ["not an object"]},
    {"events": SLOTS + ["not an object"]},
    [],
    "text",
]


@pytest.fixture(scope="module")
def validate():
    action_response.install()
    action = RemoteAction.__new__(RemoteAction)
    return lambda result: action._validate_action_result(result)


def full_schema_says_valid(result) -> bool:
    schema = RemoteAction.action_response_format_spec()
    return jsonschema.validators.validator_for(schema)(schema).is_valid(result)


@pytest.mark.parametrize("result", VALID)
def test_valid_answers_pass(validate, result) -> None:
    assert full_schema_says_valid(result)
    assert validate(copy.deepcopy(result)) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_answers_are_refused_in_rasas_words(validate, result) -> None:
    assert not full_schema_says_valid(result)
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response from API"):
        validate(result)


def test_the_quick_check_agrees_with_the_schema_on_every_event_type(validate) -> None:
    schema = RemoteAction.action_response_format_spec()
    names = [a["properties"]["event"]["const"] for a in schema["properties"]["events"]["items"]["oneOf"]]
    for name in names:
        for extra in ({}, {"text": None}, {"name": "x", "value": 1}, {"name": 5}, {"timestamp": "now"}, {"intent": "greet"}):
            result = {"events": [{"event": name, **extra}]}
            try:
                accepted = validate(result)
            except jsonschema.ValidationError:
                accepted = False
            assert accepted == full_schema_says_valid(result), (name, extra)
