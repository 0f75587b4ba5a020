"""Client: speaks the HTTP API of `queuesqlite serve` (standard library only)."""

import base64
import datetime
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from .errors import NotFoundError, QueueConnectionError, QueueError, WaitTimeout, error_for
from .message import MessageItem, MessageStatus, format_time, parse_time

__all__ = ["Client", "MessagePage", "Callback", "DeleteResult", "Pause", "Group", "GroupResult"]

log = logging.getLogger("queuesqlite")

Callback = Callable[[MessageItem], None]

# How long one long poll of a callback thread lasts; close() waits at most
# about this long for the threads.
CALLBACK_POLL_SECONDS = 10.0
# The pause before a callback thread tries again after a connection error.
CALLBACK_RETRY_SECONDS = 1.0
# How much longer than a long poll the HTTP request may take.
POLL_SLACK_SECONDS = 10.0


class MessagePage(NamedTuple):
    """One page of a message list; next_cursor is None on the last page."""

    messages: List[MessageItem]
    next_cursor: Optional[str]


class DeleteResult(NamedTuple):
    """What delete_messages did with each id: deleted, refused because it
    is running (processing), or not stored."""

    deleted: List[str]
    processing: List[str]
    not_found: List[str]


class Pause(NamedTuple):
    """One pause: kind is "destination" or "queue" (a worker queue)."""

    kind: str
    name: str
    since: Optional[datetime.datetime]


class Group(NamedTuple):
    """A group sent with send_group: its id and its members' ids."""

    id: str
    message_ids: List[str]


class GroupResult(NamedTuple):
    """A group's outcome: its members per status (counts), how many are no
    longer stored (missing, counted as finished), and whether every member
    has finished."""

    id: str
    message_ids: List[str]
    counts: Dict[MessageStatus, int]
    missing: int
    finished: bool
    created_at: Optional[datetime.datetime]
    finished_at: Optional[datetime.datetime]


class Client:
    """A queue served by `queuesqlite serve` (or an application mounting
    the Go package httpapi).

    ``token`` is the bearer token (the full one to send, or the read-only
    one to inspect). ``timeout`` bounds each ordinary request, in seconds.

    Use it as a context manager, or call close(), so callback threads end.
    """

    def __init__(self, url: str = "http://127.0.0.1:7420", token: Optional[str] = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._closed = threading.Event()
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, query: Optional[Dict[str, Any]] = None,
                 timeout: Optional[float] = None) -> Any:
        url = self.url + path
        if query:
            params = {k: v for k, v in query.items() if v is not None}
            if params:
                url += "?" + urllib.parse.urlencode(params)
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raise _http_error(e) from None
        except (urllib.error.URLError, OSError) as e:
            raise QueueConnectionError("{} {}: {}".format(method, url, e)) from e

    # -- messages -----------------------------------------------------------

    def send_message(self, message: MessageItem, callback: Optional[Callback] = None) -> str:
        """Send one message and return its id.

        ``callback``, when given, is called once with the finished
        MessageItem (completed, failed, expired or cancelled). The Go
        queue's callbacks live in Go processes, so here a background thread
        long-polls the message's wait endpoint and calls it from that
        thread; it lives as long as this Client (close() ends it, and a
        callback not yet fired then is not called).
        """
        reply = self._request("POST", "/v1/messages", message.to_send())
        if callback is not None:
            self._watch([reply["id"]], callback)
        return reply["id"]

    def send_messages(self, messages: Sequence[MessageItem], callback: Optional[Callback] = None) -> List[str]:
        """Send several messages in one request and return their ids in
        order. On one shard the batch is all or nothing. ``callback`` is
        called for each message as for send_message."""
        reply = self._request("POST", "/v1/messages/batch", {"messages": [m.to_send() for m in messages]})
        if callback is not None:
            self._watch(reply["ids"], callback)
        return reply["ids"]

    def get_message(self, message_id: str) -> MessageItem:
        """The message with its status, result and last error; NotFoundError
        if there is none."""
        return MessageItem.from_json(self._request("GET", "/v1/messages/" + _q(message_id)))

    def wait(self, message_id: str, timeout: Optional[float] = None) -> MessageItem:
        """Block until the message finishes and return it. ``timeout``
        seconds (None: no limit) raise WaitTimeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            poll = CALLBACK_POLL_SECONDS * 3
            if deadline is not None:
                poll = max(0.0, min(poll, deadline - time.monotonic()))
            done, item = self._wait_once(message_id, poll)
            if done:
                return item
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout("message {} is still {} after {}s".format(message_id, item.status.name.lower(), timeout))

    def _wait_once(self, message_id: str, seconds: float) -> Tuple[bool, MessageItem]:
        reply = self._request("GET", "/v1/messages/{}/wait".format(_q(message_id)), query={"timeout": "{:.3f}".format(seconds)},
                              timeout=seconds + POLL_SLACK_SECONDS)
        return reply["done"], MessageItem.from_json(reply["message"])

    def cancel(self, message_id: str) -> MessageItem:
        """Cancel a message that has not started; InvalidStateError if it
        runs or finished."""
        return MessageItem.from_json(self._request("POST", "/v1/messages/{}/cancel".format(_q(message_id))))

    def retry(self, message_id: str) -> MessageItem:
        """Requeue a failed, expired or cancelled message."""
        return MessageItem.from_json(self._request("POST", "/v1/messages/{}/retry".format(_q(message_id))))

    def delete(self, message_id: str) -> None:
        """Delete a message for good, in any status but processing;
        NotFoundError if there is none, InvalidStateError while it runs.
        Messages that depend on it are cancelled."""
        self._request("DELETE", "/v1/messages/" + _q(message_id))

    def delete_messages(self, message_ids: Sequence[str]) -> DeleteResult:
        """Delete several messages in one request. Running ones are kept and
        unknown ids skipped; the result says which were which."""
        reply = self._request("POST", "/v1/messages/delete", {"ids": list(message_ids)})
        return DeleteResult(reply["deleted"], reply["processing"], reply["not_found"])

    def send_group(self, messages: Sequence[MessageItem]) -> Group:
        """Send several messages as a group (one batch); group_result tells
        how they ended, from any process."""
        reply = self._request("POST", "/v1/groups", {"messages": [m.to_send() for m in messages]})
        return Group(reply["id"], reply["message_ids"])

    def group_result(self, group_id: str) -> GroupResult:
        """A group's members per status; NotFoundError for an unknown id."""
        r = self._request("GET", "/v1/groups/" + _q(group_id))
        counts = {MessageStatus.parse(k): v for k, v in r["counts"].items()}
        return GroupResult(r["id"], r["message_ids"], counts, r["missing"], r["finished"],
                           parse_time(r["created_at"]), parse_time(r["finished_at"]))

    def list_messages(self, status: Union[None, MessageStatus, Sequence[MessageStatus]] = None,
                      destination: Optional[str] = None, tag: Optional[str] = None, created_from=None,
                      created_before=None, limit: int = 100, cursor: Optional[str] = None) -> MessagePage:
        """One page of messages matching the filters, across shards in send
        time order. Pass page.next_cursor as cursor for the next page."""
        if isinstance(status, MessageStatus):
            status = [status]
        query = {
            "status": ",".join(MessageStatus(s).name.lower() for s in status) if status else None,
            "destination": destination, "tag": tag, "created_from": format_time(created_from),
            "created_before": format_time(created_before), "limit": limit, "cursor": cursor,
        }
        return self._page("/v1/messages", query)

    def iter_messages(self, **filters) -> Iterator[MessageItem]:
        """Every message matching the filters of list_messages, page by page."""
        cursor = None
        while True:
            page = self.list_messages(cursor=cursor, **filters)
            for m in page.messages:
                yield m
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def list_failed(self, destination: Optional[str] = None, limit: int = 100, cursor: Optional[str] = None) -> MessagePage:
        """One page of the dead letters (failed messages)."""
        return self._page("/v1/dead-letters", {"destination": destination, "limit": limit, "cursor": cursor})

    def _page(self, path: str, query: Dict[str, Any]) -> MessagePage:
        reply = self._request("GET", path, query=query)
        return MessagePage([MessageItem.from_json(m) for m in reply["messages"]], reply["next_cursor"])

    # -- queue --------------------------------------------------------------

    def stats(self) -> Dict[str, Any]:
        """Counts per status, destination and shard."""
        return self._request("GET", "/v1/stats")

    def shards(self) -> Dict[str, Any]:
        """The shard count and each shard's counts."""
        return self._request("GET", "/v1/shards")

    def get_queue_info(self) -> Dict[str, int]:
        """As the original: the pending count and the shard count."""
        st = self.stats()
        return {"pending": st["by_status"]["pending"], "shard_num": st["shard_count"]}

    def pause(self, destination: Optional[str] = None, queue: Optional[str] = None) -> List[Pause]:
        """Pause a destination or a worker queue (give one): no process
        claims its messages until resume. Returns every pause."""
        return self._set_pause(destination, queue, "pause")

    def resume(self, destination: Optional[str] = None, queue: Optional[str] = None) -> List[Pause]:
        """Resume a destination or a worker queue. Returns every pause."""
        return self._set_pause(destination, queue, "resume")

    def pauses(self) -> List[Pause]:
        """Every pause, destinations first."""
        return _pauses(self._request("GET", "/v1/pauses"))

    def _set_pause(self, destination: Optional[str], queue: Optional[str], action: str) -> List[Pause]:
        if (destination is None) == (queue is None):
            raise ValueError("give a destination or a queue, not both or neither")
        kind, name = ("destinations", destination) if destination is not None else ("queues", queue)
        return _pauses(self._request("POST", "/v1/{}/{}/{}".format(kind, _q(name), action)))

    def health(self) -> Dict[str, Any]:
        """The server's health answer (no token needed)."""
        return self._request("GET", "/v1/health")

    # -- listen data --------------------------------------------------------

    def update_listen_data(self, key: str, value: Any, kind: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """Set a key; the Go listeners of that key fire when the value
        changes. A str is stored as text, bytes as bytes, anything else as
        JSON (``kind="json"`` stores a str as a JSON string). Returns the
        change, or None when the value was equal."""
        if isinstance(value, (bytes, bytearray)):
            body = {"kind": "bytes", "value": base64.b64encode(bytes(value)).decode("ascii")}
        else:
            body = {"value": value}
            if kind is not None:
                body["kind"] = kind
        return self._request("PUT", "/v1/listen-data/" + _q(key), body)["change"]

    def get_listen_data(self, key: str, default: Any = None) -> Any:
        """The value of a key (str, bytes or the decoded JSON), or default."""
        try:
            return _value(self.get_listen_entry(key))
        except NotFoundError:
            return default

    def get_listen_entry(self, key: str) -> Dict[str, Any]:
        """The key's entry: kind, value (as on the wire), version, updated_at."""
        return self._request("GET", "/v1/listen-data/" + _q(key))

    def delete_listen_data(self, key: str) -> Optional[Dict[str, Any]]:
        """Delete a key (a change: listeners see it). None if it did not exist."""
        return self._request("DELETE", "/v1/listen-data/" + _q(key))["change"]

    def list_listen_data(self, prefix: str = "") -> Dict[str, Any]:
        """Every key starting with prefix, with its value."""
        reply = self._request("GET", "/v1/listen-data", query={"prefix": prefix or None})
        return {e["key"]: _value(e) for e in reply["entries"]}

    def listen_changes(self, after: int = 0, limit: int = 100) -> Tuple[List[Dict[str, Any]], int]:
        """Logged changes after seq ``after``, and the ``after`` of the next page."""
        reply = self._request("GET", "/v1/listen-changes", query={"after": after, "limit": limit})
        return reply["changes"], reply["next_after"]

    def listen_groups(self) -> Dict[str, Any]:
        """The change log's range and each listener group's cursor and lag."""
        return self._request("GET", "/v1/listen-groups")

    # -- callbacks ----------------------------------------------------------

    def _watch(self, ids: Sequence[str], callback: Callback) -> None:
        for message_id in ids:
            t = threading.Thread(target=self._callback_loop, args=(message_id, callback),
                                 name="queuesqlite-callback-" + message_id, daemon=True)
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()]
                self._threads.append(t)
            t.start()

    def _callback_loop(self, message_id: str, callback: Callback) -> None:
        while not self._closed.is_set():
            try:
                done, item = self._wait_once(message_id, CALLBACK_POLL_SECONDS)
            except NotFoundError:
                log.warning("callback for %s dropped: the message is gone", message_id)
                return
            except (QueueError, QueueConnectionError) as e:
                log.warning("callback for %s: %s; trying again", message_id, e)
                self._closed.wait(CALLBACK_RETRY_SECONDS)
                continue
            if done:
                try:
                    callback(item)
                except Exception:  # a callback's error must not kill the thread silently
                    log.exception("callback for %s raised", message_id)
                return

    def close(self, timeout: Optional[float] = None) -> None:
        """Stop the callback threads (those still waiting never fire) and
        wait for them, at most ``timeout`` seconds each."""
        self._closed.set()
        with self._lock:
            threads, self._threads = self._threads, []
        for t in threads:
            if t is not threading.current_thread():
                t.join(timeout)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _q(segment: str) -> str:
    """Escape one path segment (ids and keys may hold slashes)."""
    return urllib.parse.quote(segment, safe="")


def _pauses(reply: Dict[str, Any]) -> List[Pause]:
    return [Pause(p["kind"], p["name"], parse_time(p.get("since"))) for p in reply["pauses"]]


def _value(entry: Dict[str, Any]) -> Any:
    if entry["kind"] == "bytes":
        return base64.b64decode(entry["value"])
    return entry["value"]


def _http_error(e: urllib.error.HTTPError) -> QueueError:
    try:
        err = json.loads(e.read().decode("utf-8"))["error"]
        return error_for(e.code, err["code"], err["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return error_for(e.code, "http_" + str(e.code), str(e.reason))
