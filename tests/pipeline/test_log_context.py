"""Every log line of a message carries its context, bound by a Dramatiq middleware."""

from __future__ import annotations

import threading

import dramatiq
import structlog

from worker.pipeline.broker import APPLY_ACTION, EVALUATE_TRIGGER
from worker.pipeline.middleware import message_fields


def _message(actor: str, payload: object, retries: int = 0) -> dramatiq.Message[object]:
    return dramatiq.Message(
        queue_name="q", actor_name=actor, args=(payload,), kwargs={}, options={"retries": retries}
    )


def test_fields_of_an_evaluation_and_of_an_action():
    """An evaluation names its trigger; an action its trigger, person and verb."""
    evaluation = _message(EVALUATE_TRIGGER, {"id": "t-1", "subject": "x"}, retries=2)
    assert message_fields(evaluation) == {
        "actor": EVALUATE_TRIGGER,
        "message_id": evaluation.message_id,
        "retries": 2,
        "trigger_id": "t-1",
    }
    action = _message(
        APPLY_ACTION, {"trigger": {"id": "t-2"}, "person": "dana@example.com", "verb": "stop"}
    )
    fields = message_fields(action)
    assert (fields["trigger_id"], fields["person"], fields["verb"]) == (
        "t-2",
        "dana@example.com",
        "stop",
    )


def test_a_malformed_payload_binds_what_is_there():
    """A payload that is not an object still gets actor, message id and retries."""
    assert set(message_fields(_message(APPLY_ACTION, ["not", "a", "dict"]))) == {
        "actor",
        "message_id",
        "retries",
    }


def test_the_pipeline_binds_each_messages_context_while_processing_it(sandbox, pipeline_factory):
    """Each message processed by the pipeline's worker sees its own fields."""
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, start=False)
    seen: list[dict[str, object]] = []
    done = threading.Event()

    def probe(payload: dict[str, object]) -> None:
        seen.append(dict(structlog.contextvars.get_contextvars()))
        if payload["id"] == "after":
            done.set()

    pipeline.broker.declare_queue("probe")
    actor = dramatiq.Actor(
        probe, broker=pipeline.broker, actor_name="probe", queue_name="probe", priority=0,
        options={"max_retries": 0},
    )  # fmt: skip
    pipeline.start(1)
    actor.send({"id": "first"})
    actor.send({"id": "after"})
    assert done.wait(20)
    assert seen[0]["trigger_id"] == "first"
    assert seen[0]["actor"] == "probe"
    assert seen[1]["trigger_id"] == "after"
    assert "person" not in seen[1]
