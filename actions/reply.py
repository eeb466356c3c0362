"""The one action that answers every message, from the knowledge base."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import usage
from actions.tracker_state import outcome_events, turn_and_state
from bot.dialogue import default_dialogue


class ActionReply(Action):
    """Compose the reply to the latest message: topic x jurisdiction x language."""

    def name(self) -> Text:
        """The action's name in domain.yml."""
        return "action_reply"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Answer the latest message and remember city, language and any pending question."""
        turn, state = turn_and_state(tracker)
        outcome = default_dialogue().respond(turn, state)
        confidence = ((tracker.latest_message or {}).get("intent") or {}).get("confidence")
        usage.record(tracker.get_latest_input_channel(), turn, outcome, confidence)
        dispatcher.utter_message(text=outcome.reply.text, json_message=outcome.reply.metadata())
        return outcome_events(outcome)


# Built when the action server loads this module, so the first person's message does not
# wait for the language detector to be trained.
default_dialogue()
