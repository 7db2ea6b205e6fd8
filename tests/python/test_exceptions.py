"""Issue 12, item 3: an exception raised by a step or a workflow is recorded with its class,
args and attributes, and raised again as its own class: inside the workflow at the step's call
(on the first run and on a replay after a SIGKILL) and by handle.result(); a class that cannot
be resolved falls back to StepFailed / WorkflowFailed. The workers run durable_valuesapp:app;
SIGKILLs are real."""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest

import durable
import durable_valuesapp as va
import test_values
from conftest import wait_for
from durable import errors
from durable.execution import error_json
from test_values import go, side_events

vapp = test_values.vapp  # the fixtures of test_values
start_values_worker = test_values.start_values_worker


def test_a_step_exception_is_caught_by_its_class_first_and_on_replay_after_a_sigkill(
        vapp, conn, queue, start_values_worker):
    """`except CardDeclined` fires for the step's recorded failure; after a SIGKILL the replay
    raises the same exception again from the record (the step does not run again), the
    workflow catches it the same way and goes on to the same result."""
    handle = vapp.enqueue(va.exc_catches, "insufficient_funds", queue=queue)
    wid = handle.workflow_id
    first = start_values_worker(queue)
    wait_for(lambda: side_events(conn, wid, "gate"), what="the gate")
    first.signal(signal.SIGKILL)
    first.wait()
    start_values_worker(queue)
    caught = wait_for(lambda: (c := side_events(conn, wid, "caught")) and len(c) == 2 and c,
                      timeout=30, what="the replay")
    go(conn, wid)
    result = handle.result(timeout=30)
    assert caught[0] == caught[1] == result
    assert result == {
        "type": "CardDeclined", "module": "durable_valuesapp", "is_card_declined": True,
        "step_failed": True, "step": "charge", "str": "card declined: insufficient_funds",
        "code": "insufficient_funds", "amount": "12.50", "has_traceback": True, "noted": True}
    assert len(side_events(conn, wid, "charge ran")) == 1
    error = conn.execute("select error from durable.steps where workflow_id = %s and"
                         " step_id = 0", [wid]).fetchone()[0]
    assert error["class"] == "durable_valuesapp:CardDeclined"
    assert error["args"] == ["card declined: insufficient_funds"]
    assert error["attrs"] == {"code": "insufficient_funds",
                              "amount": {"$type": "decimal", "value": "12.50"}}


def test_each_kind_of_step_exception_as_the_workflow_catches_it(vapp, queue,
                                                                start_values_worker):
    """A builtin, an importable class and a registered one are raised again as their class (and
    StepFailed); a class that cannot be imported or registered falls back to a plain
    StepFailed carrying its type's name."""
    handle = vapp.enqueue(va.exc_kinds, ["key", "stock", "local", "registered",
                                         "nonretryable"], queue=queue)
    start_values_worker(queue)
    key, stock, local, registered, nonretryable = handle.result(timeout=60)
    assert (key["type"], key["module"], key["step_failed"], key["str"]) == (
        "KeyError", "builtins", True, "'k'")
    assert (stock["type"], stock["step_failed"], stock["step"], stock["str"]) == (
        "OutOfStock", True, "raises", "sku-1")
    assert (local["type"], local["module"], local["step_failed"]) == (
        "StepFailed", "durable.errors", True)
    assert local["error_type"] == "durable_valuesapp._classes.<locals>.Unimportable"
    assert "Unimportable: no import" in local["str"]
    assert (registered["type"], registered["step_failed"], registered["str"]) == (
        "_classes.<locals>.Registered", True, "by registry")
    assert (nonretryable["type"], nonretryable["module"]) == ("NonRetryable", "durable.execution")


def test_code_that_catches_step_failed_still_catches_a_step_exception(vapp, queue,
                                                                      start_values_worker):
    handle = vapp.enqueue(va.exc_step_failed_still_catches, queue=queue)
    start_values_worker(queue)
    assert handle.result(timeout=60) == {"step": "charge", "type": "durable_valuesapp.CardDeclined",
                                         "class": "CardDeclined"}


def test_result_raises_the_workflow_exception_as_its_class(vapp, queue, start_values_worker):
    """handle.result() raises a failed workflow's exception as its class (also a
    WorkflowFailed, with .workflow_id and .error), from the workflow's own code or from a step
    it did not catch; an unresolvable class is a plain WorkflowFailed with the type's name."""
    uncaught = vapp.enqueue(va.exc_uncaught, "stolen", queue=queue)
    kinds = {k: vapp.enqueue(va.exc_raises, k, queue=queue)
             for k in ("stock", "local", "registered", "key")}
    start_values_worker(queue)

    with pytest.raises(va.CardDeclined) as info:
        uncaught.result(timeout=60)
    exc = info.value
    assert isinstance(exc, durable.WorkflowFailed) and exc.workflow_id == uncaught.workflow_id
    assert (exc.code, exc.amount, str(exc)) == ("stolen", Decimal("12.50"),
                                                "card declined: stolen")
    assert exc.error["step"] == "charge" and exc.error["cause"]["class"] == (
        "durable_valuesapp:CardDeclined")
    with pytest.raises(va.OutOfStock, match="sku-9") as info:
        kinds["stock"].result(timeout=60)
    assert isinstance(info.value, (ValueError, durable.WorkflowFailed))
    assert "raise" in info.value.durable_traceback and "exc_raises" in info.value.durable_traceback
    with pytest.raises(va.Registered, match="kept"):
        kinds["registered"].result(timeout=60)
    with pytest.raises(KeyError):
        kinds["key"].result(timeout=60)
    with pytest.raises(durable.WorkflowFailed) as info:
        kinds["local"].result(timeout=60)
    assert type(info.value) is durable.WorkflowFailed
    assert info.value.error["type"] == "durable_valuesapp._classes.<locals>.Unimportable"


def test_a_child_workflow_exception_is_raised_again_in_its_parent(vapp, queue,
                                                                  start_values_worker):
    handle = vapp.enqueue(va.exc_parent, queue, queue=queue)
    start_values_worker(queue)
    assert handle.result(timeout=60) == {"type": "OutOfStock", "str": "sku-9",
                                         "workflow_failed": True, "workflow_id": True}


# -- resolution, without workers -----------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "os:system", "subprocess:Popen", "builtins:print", "builtins:SystemExit",
    "builtins:KeyboardInterrupt", "durable.errors:LeaseLost", "durable.errors:StepFailed",
    "no_such_module_anywhere:Error", "durable_valuesapp:Color", "not a class name", None])
def test_a_record_naming_no_usable_exception_class_gives_step_failed(name):
    """Only Exception subclasses outside durable's own errors are raised again: a function, a
    non-exception class, a BaseException that is not an Exception, or an unknown module gives a
    plain StepFailed (nothing found is called)."""
    exc = errors.step_error("s", {"type": "X", "message": "m", "class": name, "args": ["m"]})
    assert type(exc) is durable.StepFailed and exc.step == "s"
    failed = errors.workflow_error("w", {"type": "X", "message": "m", "class": name})
    assert type(failed) is durable.WorkflowFailed and failed.workflow_id == "w"


def test_a_record_is_raised_again_with_its_args_or_its_message():
    exc = errors.step_error("s", {"type": "ValueError", "message": "bad", "class":
                                  "builtins:ValueError", "args": ["bad", 2],
                                  "traceback": "Traceback ...\nValueError: bad\n"})
    assert isinstance(exc, ValueError) and isinstance(exc, durable.StepFailed)
    assert exc.args == ("bad", 2) and exc.step == "s" and exc.error["type"] == "ValueError"
    assert exc.durable_traceback.startswith("Traceback")
    assert "raised by step s (recorded traceback)" in exc.__notes__[0]
    # no args recorded (they did not encode): the message
    exc = errors.step_error("s", {"type": "OutOfStock", "message": "sku",
                                  "class": "durable_valuesapp:OutOfStock"})
    assert isinstance(exc, va.OutOfStock) and exc.args == ("sku",)


def test_error_json_records_what_raises_it_again():
    try:
        raise va.CardDeclined("c", Decimal("1.5"))
    except va.CardDeclined as exc:
        exc.callback = print  # an attribute that does not encode is left out
        error = error_json(exc)
    assert error["class"] == "durable_valuesapp:CardDeclined"
    assert error["args"] == ["card declined: c"]
    assert error["attrs"] == {"code": "c", "amount": {"$type": "decimal", "value": "1.5"}}
    again = errors.step_error("charge", error)
    assert (type(again).__qualname__, again.code, again.amount) == ("CardDeclined", "c",
                                                                    Decimal("1.5"))
    # recorded again (the workflow did not catch it): the attributes durable attached are not
    recorded = error_json(again)
    assert set(recorded["attrs"]) == {"code", "amount"}
    assert recorded["step"] == "charge" and recorded["cause"] is error


def test_register_exception_refuses_what_is_not_an_exception():
    app = durable.Durable("postgresql://unused")
    with pytest.raises(TypeError, match="Exception subclass"):
        app.register_exception(va.Color)
    with pytest.raises(TypeError, match="Exception subclass"):
        app.register_exception(KeyboardInterrupt)


def test_an_exception_raised_again_pickles_as_its_class():
    """Sent to another process (multiprocessing, concurrent.futures), it arrives as its own
    class with its attributes."""
    import pickle

    exc = errors.step_error("s", {"type": "OutOfStock", "message": "sku", "args": ["sku"],
                                  "attrs": {"shelf": 3},
                                  "class": "durable_valuesapp:OutOfStock"})
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is va.OutOfStock and back.args == ("sku",) and back.shelf == 3
