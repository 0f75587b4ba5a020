"""MessageItem: one message, with the fields of the original queue-sqlite."""

import datetime
import enum
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = ["MessageItem", "MessageStatus", "MessagePriority", "AttemptError", "parse_time", "format_time"]


class MessageStatus(enum.IntEnum):
    """Where a message is in its life; the numbers of the original."""

    PENDING = 0
    PROCESSING = 1
    COMPLETED = 2
    FAILED = 3
    RETRYING = 4
    EXPIRED = 5
    CANCELLED = 6
    SCHEDULED = 7

    @property
    def finished(self) -> bool:
        """True for completed, failed, expired and cancelled."""
        return self in _FINISHED

    @classmethod
    def parse(cls, name: str) -> "MessageStatus":
        return cls[name.upper()]


_FINISHED = frozenset(
    {MessageStatus.COMPLETED, MessageStatus.FAILED, MessageStatus.EXPIRED, MessageStatus.CANCELLED}
)


class MessagePriority(enum.IntEnum):
    """Ready messages run highest priority first; the numbers of the original."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @classmethod
    def parse(cls, name: str) -> "MessagePriority":
        return cls[name.upper()]


_FRACTION = re.compile(r"\.(\d+)")


def parse_time(text: Optional[str]) -> Optional[datetime.datetime]:
    """Parse an RFC 3339 time from the server (UTC, up to nanoseconds)."""
    if text is None:
        return None
    text = text.replace("Z", "+00:00")
    # Python 3.8's fromisoformat takes at most 6 fractional digits.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    return datetime.datetime.fromisoformat(text).astimezone(datetime.timezone.utc)


def format_time(t: Optional[datetime.datetime]) -> Optional[str]:
    """Format an aware datetime as RFC 3339 UTC. Naive times are refused:
    they are ambiguous (the original mixed local time and UTC)."""
    if t is None:
        return None
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise ValueError("use an aware datetime (e.g. datetime.now(timezone.utc)), not a naive one")
    return t.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class AttemptError:
    """The error of one failed attempt (MessageItem.errors)."""

    attempt: int
    at: Optional[datetime.datetime]
    error: str


@dataclass
class MessageItem:
    """A message: what send_message takes and what get/wait/callbacks give.

    The first fields are the original's MessageItem; the others are what the
    Go queue adds. Fields the queue sets (status, times, result, attempts)
    are ignored when sending. ``delay`` and ``ttl`` (seconds) are send-time
    conveniences for ``run_at`` and ``expire_time``.
    """

    content: Any = None
    destination: str = ""
    id: Optional[str] = None
    type: str = "task"
    status: MessageStatus = MessageStatus.PENDING
    createtime: Optional[datetime.datetime] = None
    updatetime: Optional[datetime.datetime] = None
    result: Any = None
    priority: MessagePriority = MessagePriority.NORMAL
    source: str = "client"
    retry_count: int = 0
    expire_time: Optional[datetime.datetime] = None
    tags: List[str] = field(default_factory=list)
    metadata: Optional[Dict[str, Any]] = None
    # Added by the Go queue.
    run_at: Optional[datetime.datetime] = None
    finished_at: Optional[datetime.datetime] = None
    attempt: int = 0
    max_attempts: int = 0
    last_error: Optional[str] = None
    shard_key: Optional[str] = None
    shard: int = 0
    lease_owner: Optional[str] = None
    lease_expires_at: Optional[datetime.datetime] = None
    delay: Optional[float] = None
    ttl: Optional[float] = None
    # Ids of messages that must complete before this one runs (send only).
    depends_on: List[str] = field(default_factory=list)
    # Every failed attempt's error, oldest first: read by get_message,
    # wait and callbacks; None from lists, cancel and retry.
    errors: Optional[List[AttemptError]] = None

    @property
    def finished(self) -> bool:
        """True once the message is completed, failed, expired or cancelled."""
        return MessageStatus(self.status).finished

    def to_send(self) -> Dict[str, Any]:
        """The JSON body that sends this message (POST /v1/messages)."""
        body: Dict[str, Any] = {
            "destination": self.destination,
            "content": self.content,
            "priority": MessagePriority(self.priority).name.lower(),
            "source": self.source,
        }
        optional = {
            "id": self.id,
            "run_at": format_time(self.run_at),
            "expire_at": format_time(self.expire_time),
            "delay_seconds": self.delay,
            "ttl_seconds": self.ttl,
            "max_attempts": self.max_attempts or None,
            "tags": list(self.tags) if self.tags else None,
            "metadata": self.metadata,
            "shard_key": self.shard_key,
            "depends_on": list(self.depends_on) if self.depends_on else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "MessageItem":
        """Build a MessageItem from a message of the API."""
        return cls(
            id=d["id"],
            type=d["type"],
            status=MessageStatus.parse(d["status"]),
            content=d["content"],
            createtime=parse_time(d["created_at"]),
            updatetime=parse_time(d["updated_at"]),
            result=d["result"],
            priority=MessagePriority.parse(d["priority"]),
            source=d["source"],
            destination=d["destination"],
            retry_count=d["retry_count"],
            expire_time=parse_time(d["expire_at"]),
            tags=list(d["tags"]),
            metadata=d["metadata"],
            run_at=parse_time(d["run_at"]),
            finished_at=parse_time(d["finished_at"]),
            attempt=d["attempt"],
            max_attempts=d["max_attempts"],
            last_error=d["last_error"],
            shard_key=d["shard_key"],
            shard=d["shard"],
            lease_owner=d["lease_owner"],
            lease_expires_at=parse_time(d["lease_expires_at"]),
            errors=None if d.get("errors") is None else [
                AttemptError(e["attempt"], parse_time(e["at"]), e["error"]) for e in d["errors"]],
        )
