"""Example: fan-out/fan-in ETL: a parent starts one child workflow per partition and waits for
them all with one durable wait.

    etl_batch(batch, partitions)
      -> app.start(etl_partition, batch, p) for each partition: a step each (start_child),
         the child's id fixed by the parent's id and the step's position, so a replay finds
         the children instead of starting others
      -> durable.wait_all(children): ONE wait; the parent parks (no worker slot held) and is
         woken once, when the last child finishes
      -> load_batch (transactional): the batch's totals from the children's outputs

    etl_partition(batch, partition)
      -> extract: the partition's rows (here made up, the same every time)
      -> load_partition (transactional): the partition's totals, committed with the checkpoint

Set-up:  psql -f examples/schema.sql       (tables etl.partition_totals, etl.batch_totals; queue etl)
Worker:  durable worker etl_fanout:app --path examples --queues etl
         (one slot is enough: the waiting parent holds none, so its children run)
Start:   durable enqueue etl_batch --queue etl --id etl-2026-01-31 --input '["2026-01-31", 8]'
Look:    durable show etl-2026-01-31; select id, status, parent_id from durable.runs
           where parent_id = 'etl-2026-01-31'; select * from etl.batch_totals
"""

from __future__ import annotations

import os
import random
from typing import Any

import psycopg

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))


def partition_amounts(batch: str, partition: int) -> list[int]:
    """The partition's rows (amounts in cents): made up, but the same on every call."""
    rng = random.Random(f"{batch}/{partition}")
    return [rng.randrange(100, 100_000) for _ in range(rng.randrange(50, 200))]


def expected_totals(batch: str, partitions: int) -> dict[str, int]:
    """What etl_batch(batch, partitions) loads: rows and amount over every partition."""
    amounts = [a for p in range(partitions) for a in partition_amounts(batch, p)]
    return {"partitions": partitions, "row_count": len(amounts), "amount_cents": sum(amounts)}


# -- the child: one partition --------------------------------------------------------------------

@app.step()
def extract(batch: str, partition: int) -> list[int]:
    """Read the partition's rows from the source."""
    return partition_amounts(batch, partition)


@app.transaction()
def load_partition(conn: psycopg.Connection, batch: str, partition: int,
                   amounts: list[int]) -> dict[str, int]:
    """Write the partition's totals: committed with this step's checkpoint, so exactly once."""
    conn.execute("insert into etl.partition_totals (batch, partition, row_count, amount_cents)"
                 " values (%s, %s, %s, %s)", (batch, partition, len(amounts), sum(amounts)))
    return {"partition": partition, "row_count": len(amounts), "amount_cents": sum(amounts)}


@app.workflow(queue="etl")
def etl_partition(batch: str, partition: int) -> dict[str, int]:
    """Extract and load one partition."""
    return load_partition(batch, partition, extract(batch, partition))


# -- the parent: fan out, fan in -----------------------------------------------------------------

@app.transaction()
def load_batch(conn: psycopg.Connection, batch: str, parts: list[dict[str, int]]) -> dict[str, Any]:
    """Write the batch's totals from the partitions' outputs."""
    totals = {"partitions": len(parts), "row_count": sum(p["row_count"] for p in parts),
              "amount_cents": sum(p["amount_cents"] for p in parts)}
    conn.execute("insert into etl.batch_totals (batch, partitions, row_count, amount_cents)"
                 " values (%s, %s, %s, %s)",
                 (batch, totals["partitions"], totals["row_count"], totals["amount_cents"]))
    return totals


@app.workflow(queue="etl")
def etl_batch(batch: str, partitions: int = 8) -> dict[str, Any]:
    """Load batch: one child workflow per partition, awaited together, then the totals."""
    # inside a workflow, app.start starts a child (one start_child step each) and returns
    # its handle (a WorkflowHandle[dict[str, int]]); the children run on any worker, in parallel
    children = [app.start(etl_partition, batch, p) for p in range(partitions)]
    # one wait for all of them: a ChildResult (status, output, error) per child, in order
    results = durable.wait_all(children)
    failed = [(r.workflow_id, r.status) for r in results if r.status != "succeeded"]
    if failed:
        raise durable.NonRetryable(f"batch {batch}: partitions not loaded: {failed}")
    return load_batch(batch, [r.output for r in results])
