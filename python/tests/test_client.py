"""Tests of the client against a real `queuesqlite serve`, with Go workers
on the same queue directory running what Python sends.

The Go test TestPythonClient (cmd/queuesqlite) starts the server and the
workers and sets:
  QUEUESQLITE_URL              the server
  QUEUESQLITE_TOKEN            its full token
  QUEUESQLITE_READ_ONLY_TOKEN  its read-only token
The Go workers serve "add" ({"a", "b"} -> a + b) and "fail" (fails without
retry), and a Go listener copies each value of key "py/ping" to "py/pong".
Nothing serves "nobody": its messages wait.
"""

import datetime
import os
import threading
import time
import unittest
import uuid

from queuesqlite import (AuthError, Client, DuplicateError, ForbiddenError, InvalidArgumentError,
                         InvalidStateError, MessageItem, MessagePriority, MessageStatus, NotFoundError,
                         WaitTimeout)

URL = os.environ.get("QUEUESQLITE_URL")
TOKEN = os.environ.get("QUEUESQLITE_TOKEN")
READ_ONLY = os.environ.get("QUEUESQLITE_READ_ONLY_TOKEN")
DEADLINE = 60.0  # seconds; a bound against hangs, never a measure of speed


def setUpModule():
    if not URL:
        raise unittest.SkipTest("QUEUESQLITE_URL is not set: run these through `go test -run TestPythonClient ./cmd/queuesqlite`")


def unique(prefix: str) -> str:
    return prefix + "-" + uuid.uuid4().hex[:12]


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.q = Client(URL, token=TOKEN)
        self.addCleanup(self.q.close)

    def test_send_and_wait_for_the_go_worker(self):
        mid = self.q.send_message(MessageItem(content={"a": 2, "b": 3}, destination="add"))
        m = self.q.wait(mid, timeout=DEADLINE)
        self.assertEqual(m.status, MessageStatus.COMPLETED)
        self.assertEqual(m.result, 5)
        self.assertEqual(m.attempt, 1)
        self.assertIsNotNone(m.finished_at)
        self.assertTrue(m.finished)

    def test_callback_gets_the_finished_message(self):
        got = []
        fired = threading.Event()

        def callback(item):
            got.append(item)
            fired.set()

        mid = self.q.send_message(MessageItem(content={"a": 3, "b": 4}, destination="add"), callback)
        self.assertTrue(fired.wait(DEADLINE), "the callback did not fire")
        self.assertEqual(len(got), 1)
        self.assertEqual((got[0].id, got[0].status, got[0].result), (mid, MessageStatus.COMPLETED, 7))

    def test_batch_keeps_order_and_every_callback_fires(self):
        results = {}
        lock = threading.Lock()
        all_done = threading.Event()

        def callback(item):
            with lock:
                results[item.id] = item.result
                if len(results) == 3:
                    all_done.set()

        ids = self.q.send_messages([MessageItem(content={"a": i, "b": 10}, destination="add") for i in range(3)], callback)
        self.assertEqual(len(ids), 3)
        self.assertTrue(all_done.wait(DEADLINE), "not every callback fired: {}".format(results))
        self.assertEqual([results[i] for i in ids], [10, 11, 12])

    def test_every_field_round_trips(self):
        mid = unique("fields")
        expire = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        self.q.send_message(MessageItem(id=mid, content={"k": [1, 2]}, destination="nobody", priority=MessagePriority.HIGH,
                                        source="python-test", expire_time=expire, tags=["t1", "t2"],
                                        metadata={"trace": "abc"}, delay=3600, max_attempts=5, shard_key="sk"))
        m = self.q.get_message(mid)
        self.assertEqual(m.status, MessageStatus.SCHEDULED)
        self.assertEqual((m.content, m.destination, m.priority, m.source), ({"k": [1, 2]}, "nobody", MessagePriority.HIGH, "python-test"))
        self.assertEqual((m.tags, m.metadata, m.max_attempts, m.shard_key), (["t1", "t2"], {"trace": "abc"}, 5, "sk"))
        self.assertAlmostEqual((m.run_at - m.createtime).total_seconds(), 3600, delta=1)
        self.assertAlmostEqual(m.expire_time.timestamp(), expire.timestamp(), delta=0.001)
        with self.assertRaises(DuplicateError):
            # Same shard key, so the same shard: the Go queue checks ids per shard.
            self.q.send_message(MessageItem(id=mid, content=1, destination="nobody", shard_key="sk"))

    def test_cancel_and_retry(self):
        mid = self.q.send_message(MessageItem(content=1, destination="nobody"))
        self.assertEqual(self.q.cancel(mid).status, MessageStatus.CANCELLED)
        with self.assertRaises(InvalidStateError):
            self.q.cancel(mid)
        self.assertEqual(self.q.retry(mid).status, MessageStatus.PENDING)

    def test_dead_letters(self):
        mid = self.q.send_message(MessageItem(content={"card": "4111"}, destination="fail"))
        m = self.q.wait(mid, timeout=DEADLINE)
        self.assertEqual(m.status, MessageStatus.FAILED)
        self.assertIn("card declined", m.last_error)
        failed = [x.id for x in self.q.list_failed(destination="fail", limit=1000).messages]
        self.assertIn(mid, failed)
        self.assertEqual(self.q.retry(mid).status, MessageStatus.PENDING)
        self.assertEqual(self.q.wait(mid, timeout=DEADLINE).status, MessageStatus.FAILED)

    def test_list_filters_and_paging(self):
        tag = unique("page")
        sent = [self.q.send_message(MessageItem(content=i, destination="nobody", tags=[tag])) for i in range(7)]
        self.q.send_message(MessageItem(content=99, destination="nobody", tags=[unique("other")]))
        listed = [m.id for m in self.q.iter_messages(tag=tag, limit=3)]
        self.assertEqual(listed, sent)
        page = self.q.list_messages(tag=tag, status=MessageStatus.PENDING, destination="nobody", limit=5)
        self.assertEqual(len(page.messages), 5)
        self.assertIsNotNone(page.next_cursor)
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        self.assertEqual(self.q.list_messages(tag=tag, created_from=later).messages, [])
        with self.assertRaises(InvalidArgumentError):
            self.q.list_messages(cursor="not-a-cursor")

    def test_every_attempt_error(self):
        mid = self.q.send_message(MessageItem(content={"card": "4111"}, destination="fail"))
        m = self.q.wait(mid, timeout=DEADLINE)
        self.assertEqual([(e.attempt, "card declined" in e.error) for e in m.errors], [(1, True)])
        self.assertIsNotNone(m.errors[0].at)
        self.assertEqual(self.q.get_message(mid).errors, m.errors)
        fresh = self.q.send_message(MessageItem(content=1, destination="nobody"))
        self.assertEqual(self.q.get_message(fresh).errors, [])
        self.assertTrue(all(x.errors is None for x in self.q.list_messages(limit=5).messages))

    def test_delete_and_delete_messages(self):
        a, b, c = (self.q.send_message(MessageItem(content=i, destination="nobody")) for i in range(3))
        self.q.delete(a)
        with self.assertRaises(NotFoundError):
            self.q.get_message(a)
        with self.assertRaises(NotFoundError):
            self.q.delete(a)
        r = self.q.delete_messages([b, "no-such-message", c])
        self.assertEqual((r.deleted, r.processing, r.not_found), ([b, c], [], ["no-such-message"]))
        for mid in (b, c):
            with self.assertRaises(NotFoundError):
                self.q.get_message(mid)

    def test_pause_resume_and_pauses(self):
        dest, queue = unique("py-dest"), unique("py-queue")
        self.assertIn(("destination", dest), [(p.kind, p.name) for p in self.q.pause(destination=dest)])
        self.q.pause(queue=queue)
        got = {(p.kind, p.name): p for p in self.q.pauses()}
        self.assertIn(("destination", dest), got)
        self.assertIn(("queue", queue), got)
        self.assertIsNotNone(got[("queue", queue)].since)
        self.q.resume(destination=dest)
        after = [(p.kind, p.name) for p in self.q.resume(queue=queue)]
        self.assertNotIn(("destination", dest), after)
        self.assertNotIn(("queue", queue), after)
        with self.assertRaises(ValueError):
            self.q.pause()
        with Client(URL, token=READ_ONLY) as ro, self.assertRaises(ForbiddenError):
            ro.pause(destination=dest)

    def test_send_group_and_group_result(self):
        g = self.q.send_group([MessageItem(content={"a": i, "b": 1}, destination="add") for i in range(2)])
        self.assertEqual(len(g.message_ids), 2)
        deadline = time.monotonic() + DEADLINE
        r = self.q.group_result(g.id)
        while not r.finished and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a result, with a deadline
            r = self.q.group_result(g.id)
        self.assertTrue(r.finished, "the group did not finish: {}".format(r))
        self.assertEqual((r.id, r.message_ids, r.counts[MessageStatus.COMPLETED], r.missing), (g.id, g.message_ids, 2, 0))
        self.assertIsNotNone(r.finished_at)
        with self.assertRaises(NotFoundError):
            self.q.group_result("no-such-group")

    def test_depends_on(self):
        parent = self.q.send_message(MessageItem(content=1, destination="nobody"))
        child = self.q.send_message(MessageItem(content={"a": 1, "b": 1}, destination="add", depends_on=[parent]))
        self.assertEqual(self.q.get_message(child).status, MessageStatus.SCHEDULED)
        self.q.cancel(parent)
        m = self.q.wait(child, timeout=DEADLINE)
        self.assertEqual(m.status, MessageStatus.CANCELLED)
        self.assertIn(parent, m.last_error)

    def test_wait_times_out(self):
        mid = self.q.send_message(MessageItem(content=1, destination="nobody"))
        with self.assertRaises(WaitTimeout):
            self.q.wait(mid, timeout=0.2)

    def test_listen_data(self):
        key = unique("py/config")
        self.assertIsNone(self.q.get_listen_data(key))
        change = self.q.update_listen_data(key, "dark_mode=true")
        self.assertEqual(change["new"], {"kind": "text", "value": "dark_mode=true"})
        self.assertIsNone(self.q.update_listen_data(key, "dark_mode=true"))
        self.assertEqual(self.q.get_listen_data(key), "dark_mode=true")
        self.q.update_listen_data(key, {"dark_mode": True, "size": 3})
        self.assertEqual(self.q.get_listen_data(key), {"dark_mode": True, "size": 3})
        self.q.update_listen_data(key + "/raw", b"\x00\xff")
        self.assertEqual(self.q.get_listen_data(key + "/raw"), b"\x00\xff")
        self.assertEqual(set(self.q.list_listen_data(key)), {key, key + "/raw"})
        self.assertIsNone(self.q.delete_listen_data(key)["new"])
        self.assertEqual(self.q.get_listen_data(key, "gone"), "gone")

    def test_update_listen_data_fires_a_go_listener(self):
        value = unique("hello")
        self.q.update_listen_data("py/ping", value)
        deadline = time.monotonic() + DEADLINE
        while self.q.get_listen_data("py/pong") != value:
            self.assertLess(time.monotonic(), deadline, "the Go listener did not copy py/ping to py/pong")
            time.sleep(0.02)
        groups = self.q.listen_groups()["groups"]
        self.assertTrue(any(g["name"] == "default" for g in groups), groups)
        changes, nxt = self.q.listen_changes(after=0, limit=1000)
        self.assertTrue(any(c["key"] == "py/ping" and c["new"]["value"] == value for c in changes))
        self.assertGreaterEqual(nxt, changes[-1]["seq"])

    def test_stats_and_queue_info(self):
        self.q.send_message(MessageItem(content=1, destination="nobody"))
        info = self.q.get_queue_info()
        self.assertGreaterEqual(info["pending"], 1)
        self.assertEqual(info["shard_num"], self.q.shards()["count"])
        self.assertGreaterEqual(self.q.stats()["by_destination"]["nobody"]["pending"], 1)

    def test_errors_are_typed(self):
        with self.assertRaises(NotFoundError):
            self.q.get_message("no-such-message")
        with self.assertRaises(InvalidArgumentError) as e:
            self.q.send_message(MessageItem(content=1, destination=""))
        self.assertIn("destination", e.exception.message)

    def test_tokens(self):
        with Client(URL, token="wrong") as bad, self.assertRaises(AuthError):
            bad.stats()
        with Client(URL, token=READ_ONLY) as ro:
            self.assertIn("total", ro.stats())
            with self.assertRaises(ForbiddenError):
                ro.send_message(MessageItem(content=1, destination="nobody"))
        self.assertEqual(Client(URL).health()["status"], "ok")


if __name__ == "__main__":
    unittest.main()
