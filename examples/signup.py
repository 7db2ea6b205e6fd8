"""Example: a sign-up flow that waits for the user's confirmation without holding a worker.

    create_user (transactional: the user row commits with the step's checkpoint)
    -> send_welcome (an outside mail service, called with the step's idempotency key)
    -> durable.recv("confirm", timeout=confirm_within)      parked: no worker slot held
         timed out: expire_user (transactional), the run returns "expired"
         confirmed: confirm_user (transactional)
    -> durable.sleep(follow_up_after)                        parked again
    -> send_follow_up (the mail service again, its own idempotency key)

Set-up:  psql -f examples/schema.sql           (tables signup.users, signup.outbox; queue signup)
Worker:  durable worker signup:app --path examples --queues signup
Start:   durable enqueue signup --queue signup --id signup-ada@example.com \\
           --input '["ada@example.com", "Ada"]'
         (a workflow id per e-mail address: a second sign-up of the same address is the same run)
Confirm (the link in the welcome e-mail; any of):
         durable send signup-ada@example.com '{"clicked": true}' --topic confirm
         psql -c "select durable.send('signup-ada@example.com', '{}', 'confirm')"
         python -c 'import signup; signup.confirm("ada@example.com")'   (from examples/)
Look:    durable show signup-ada@example.com; select * from durable.runs (waiting_for)
"""

from __future__ import annotations

import os
from typing import Any

import psycopg

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))

DAY = 24 * 3600.0


def workflow_id(email: str) -> str:
    """The sign-up run of an e-mail address (one per address)."""
    return f"signup-{email}"


# -- a pretend mail provider ---------------------------------------------------------------------

def send_mail(recipient: str, subject: str, idempotency_key: str) -> int:
    """The mail service (an outside HTTP API in real life): sends once per idempotency key and
    returns the message's id, the first one's for a repeated key. Here a row of signup.outbox
    written on a connection of its own, outside the step's transaction, as an API call is."""
    with psycopg.connect(app.dsn or "", autocommit=True) as conn:
        row = conn.execute(
            "insert into signup.outbox (idempotency_key, recipient, subject) values (%s, %s, %s)"
            " on conflict (idempotency_key) do nothing returning id",
            (idempotency_key, recipient, subject)).fetchone()
        if row is None:  # already sent under this key: the same message again
            row = conn.execute("select id from signup.outbox where idempotency_key = %s",
                               (idempotency_key,)).fetchone()
    assert row is not None
    return int(row[0])


# -- steps ---------------------------------------------------------------------------------------

@app.transaction()
def create_user(conn: psycopg.Connection, email: str, name: str) -> int:
    """Insert the user row; it commits with this step's checkpoint, or not at all."""
    row = conn.execute("insert into signup.users (email, name) values (%s, %s)"
                       " on conflict (email) do nothing returning id", (email, name)).fetchone()
    if row is None:
        raise durable.NonRetryable(f"{email} is already registered")
    return int(row[0])


@app.step(max_attempts=5, backoff_base=0.5, backoff_max=30)
def send_welcome(email: str, name: str) -> int:
    """The welcome e-mail with the confirmation link, sent under the step's idempotency key: a
    retry, or a re-run after a crash, does not send a second one."""
    return send_mail(email, f"Welcome, {name}: please confirm your address",
                     durable.idempotency_key())


@app.transaction()
def confirm_user(conn: psycopg.Connection, user_id: int) -> str:
    """Mark the user confirmed."""
    conn.execute("update signup.users set status = 'confirmed', confirmed_at = now()"
                 " where id = %s", (user_id,))
    return "confirmed"


@app.transaction()
def expire_user(conn: psycopg.Connection, user_id: int) -> str:
    """Mark the user expired: the address was never confirmed."""
    conn.execute("update signup.users set status = 'expired' where id = %s", (user_id,))
    return "expired"


@app.step(max_attempts=5, backoff_base=0.5, backoff_max=30)
def send_follow_up(email: str, name: str) -> int:
    """The follow-up e-mail ("how is it going?"), its own idempotency key."""
    return send_mail(email, f"{name}, how are your first days?", durable.idempotency_key())


# -- the workflow --------------------------------------------------------------------------------

@app.workflow(queue="signup")
def signup(email: str, name: str, confirm_within: float = 3 * DAY,
           follow_up_after: float = DAY) -> dict[str, Any]:
    """Register a user, wait up to confirm_within seconds for the confirmation, then send a
    follow-up follow_up_after seconds later."""
    user_id = create_user(email, name)
    send_welcome(email, name)
    # one step: takes the confirmation message (consumed with the step's record, exactly once)
    # or parks the run until it is sent; None once confirm_within passed (fixed when first
    # reached: a replay or a restarted worker does not extend it)
    reply = durable.recv("confirm", timeout=confirm_within)
    if reply is None:
        return {"user_id": user_id, "status": expire_user(user_id)}
    status = confirm_user(user_id)
    durable.sleep(follow_up_after)  # parked again; resumes after follow_up_after seconds
    send_follow_up(email, name)
    return {"user_id": user_id, "status": status}


# -- client side ---------------------------------------------------------------------------------

def start(email: str, name: str, confirm_within: float = 3 * DAY,
          follow_up_after: float = DAY) -> durable.WorkflowHandle[dict[str, Any]]:
    """Start the sign-up of email (the same run again for an address already started): the
    typed start, its arguments checked against signup's parameters by mypy and at the call."""
    return app.options(workflow_id=workflow_id(email)).start(
        signup, email, name, confirm_within=confirm_within, follow_up_after=follow_up_after)


def confirm(email: str) -> int:
    """What the confirmation link's handler does: send the message the run waits for. The
    idempotency key makes a second click send nothing."""
    return app.send(workflow_id(email), {"clicked": True}, topic="confirm",
                    idempotency_key=f"confirm-{email}")
