"""Python client of queue-sqlite's HTTP API (`queuesqlite serve`).

Standard library only, Python 3.8+. A Python program sends messages and
reads results; Go workers with the queue open on the same directory run
them::

    from queuesqlite import Client, MessageItem

    with Client("http://127.0.0.1:7420") as q:
        q.send_message(MessageItem(content={"url": "https://example.com/a.jpg"},
                                   destination="process_image"),
                       lambda m: print(m.id, m.status.name, m.result))
"""

from .client import Callback, Client, DeleteResult, Group, GroupResult, MessagePage, Pause
from .errors import (AuthError, DuplicateError, ForbiddenError, InvalidArgumentError, InvalidStateError,
                     NotFoundError, QueueConnectionError, QueueError, ServerError, TooLargeError, WaitTimeout)
from .message import AttemptError, MessageItem, MessagePriority, MessageStatus

__all__ = [
    "Client", "MessagePage", "Callback", "DeleteResult", "Pause", "Group", "GroupResult",
    "MessageItem", "MessageStatus", "MessagePriority", "AttemptError",
    "QueueError", "InvalidArgumentError", "AuthError", "ForbiddenError", "NotFoundError",
    "InvalidStateError", "DuplicateError", "TooLargeError", "ServerError", "QueueConnectionError",
    "WaitTimeout",
]
__version__ = "0.1.0"
