"""durable: durable workflows with Postgres as the orchestrator (the thin Python client).

Every decision lives in the SQL schema `durable`; this package runs your code and calls it.
"""

from .aio import AsyncDurable, AsyncWorkflowHandle
from .app import (
    Args,
    AsyncWorkflow,
    Durable,
    StartOptions,
    StepDef,
    Workflow,
    WorkflowDef,
    WorkflowHandle,
)
from .db import SCHEMA_VERSION
from .errors import (
    DU001,
    DU002,
    DU003,
    DU004,
    DU005,
    DU006,
    DU007,
    DU008,
    DU009,
    DU010,
    DU011,
    DU012,
    DU013,
    DU014,
    DU015,
    DU016,
    DU017,
    DU018,
    DU019,
    AlreadyFinished,
    BadArgument,
    BadTransition,
    Cancelled,
    Deduplicated,
    DurableError,
    FakeClock,
    ForeignWorker,
    IdConflict,
    InputConflict,
    InvalidValue,
    LeaseLost,
    MalformedBatch,
    MissingArgument,
    Nondeterminism,
    NotAChild,
    NotInWorkflow,
    NotRegistered,
    NotRetryable,
    Parked,
    PayloadTooLarge,
    SQLError,
    StepFailed,
    Stopped,
    UnknownQueue,
    UnknownSchedule,
    UnknownWorkflow,
    UnsupportedSchema,
    WorkflowCancelled,
    WorkflowFailed,
    WrongThread,
)
from .execution import NonRetryable, StepInfo, idempotency_key, should_stop, step_info
from .runs import ErrorRecord, RunInfo, StepRecord
from .values import register as register_type
from .waiting import (
    ChildResult,
    get_event,
    recv,
    send,
    set_event,
    sleep,
    sleep_until,
    wait_all,
)
from .worker import Worker

__all__ = [
    "DU001", "DU002", "DU003", "DU004", "DU005", "DU006", "DU007", "DU008", "DU009", "DU010",
    "DU011", "DU012", "DU013", "DU014", "DU015", "DU016", "DU017", "DU018", "DU019",
    "SCHEMA_VERSION", "AlreadyFinished", "Args", "AsyncDurable", "AsyncWorkflow",
    "AsyncWorkflowHandle",
    "BadArgument", "BadTransition", "Cancelled", "ChildResult", "Deduplicated", "Durable",
    "DurableError", "ErrorRecord", "FakeClock", "ForeignWorker", "IdConflict", "InputConflict",
    "InvalidValue", "LeaseLost", "MalformedBatch", "MissingArgument", "NonRetryable",
    "Nondeterminism", "NotAChild", "NotInWorkflow", "NotRegistered", "NotRetryable", "Parked",
    "PayloadTooLarge", "RunInfo", "SQLError", "StartOptions", "StepDef",
    "StepFailed", "StepInfo", "StepRecord", "Stopped", "UnknownQueue", "UnknownSchedule",
    "UnknownWorkflow",
    "UnsupportedSchema",
    "Worker", "Workflow", "WorkflowCancelled", "WorkflowDef", "WorkflowFailed", "WorkflowHandle",
    "WrongThread", "get_event", "idempotency_key", "recv", "register_type", "send", "set_event",
    "should_stop",
    "sleep", "sleep_until", "step_info", "wait_all",
]
