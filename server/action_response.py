"""Check the action server's answers without checking Rasa's schema again on every message.

Rasa 3.6 validates every action server response with `jsonschema.validate`, which first
checks the schema itself against the JSON Schema meta-schema: about 25 ms of CPU per
message on the server's event loop, twice what the NLU takes, while every other
conversation waits. The schema is fixed, so it is checked once here and the compiled
validator is reused: responses are validated exactly as before (same schema, same
`best_match` error, same message), only the repeated self-check is gone.
"""

from typing import Any, Dict, Text

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


def install() -> None:
    """Make every RemoteAction of this process validate with one compiled validator."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        # Rasa's own wording, so logs read the same as with its validator.
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    # Rasa builds its RemoteActions itself, so the method is replaced on the class.
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
