"""Unit tests of MessageItem and its time handling (no server needed)."""

import datetime
import unittest

from queuesqlite import MessageItem, MessagePriority, MessageStatus
from queuesqlite.message import format_time, parse_time

UTC = datetime.timezone.utc


class TimeTest(unittest.TestCase):
    def test_parse_nanoseconds_and_z(self):
        t = parse_time("2026-01-02T03:04:05.123456789Z")
        self.assertEqual(t, datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC))
        self.assertEqual(parse_time("2026-01-02T03:04:05Z").second, 5)
        self.assertEqual(parse_time("2026-01-02T03:04:05.5+02:00").hour, 1)
        self.assertIsNone(parse_time(None))

    def test_format_refuses_naive_time(self):
        with self.assertRaises(ValueError):
            format_time(datetime.datetime(2026, 1, 2))
        t = datetime.datetime(2026, 1, 2, 5, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
        self.assertEqual(format_time(t), "2026-01-02T03:00:00Z")


class MessageItemTest(unittest.TestCase):
    def test_to_send_has_only_what_is_set(self):
        m = MessageItem(content={"url": "u"}, destination="process_image")
        self.assertEqual(m.to_send(), {"destination": "process_image", "content": {"url": "u"},
                                       "priority": "normal", "source": "client"})

    def test_to_send_every_field(self):
        at = datetime.datetime(2030, 1, 1, tzinfo=UTC)
        m = MessageItem(content=[1], destination="d", id="x", priority=MessagePriority.URGENT, source="py",
                        expire_time=at, tags=["a"], metadata={"k": 1}, run_at=at, max_attempts=3,
                        shard_key="s")
        self.assertEqual(m.to_send(), {"destination": "d", "content": [1], "priority": "urgent", "source": "py",
                                       "id": "x", "run_at": "2030-01-01T00:00:00Z",
                                       "expire_at": "2030-01-01T00:00:00Z", "max_attempts": 3, "tags": ["a"],
                                       "metadata": {"k": 1}, "shard_key": "s"})

    def test_depends_on_is_sent_and_errors_are_read(self):
        m = MessageItem(content=1, destination="d", depends_on=["p1", "p2"])
        self.assertEqual(m.to_send()["depends_on"], ["p1", "p2"])
        wire = {"id": "x", "type": "task", "status": "failed", "content": 1, "created_at": None, "updated_at": None,
                "result": None, "priority": "normal", "source": "client", "destination": "d", "retry_count": 0,
                "expire_at": None, "tags": [], "metadata": None, "run_at": None, "finished_at": None, "attempt": 1,
                "max_attempts": 1, "last_error": "boom", "shard_key": None, "shard": 0, "lease_owner": None,
                "lease_expires_at": None, "errors": [{"attempt": 1, "at": "2026-01-02T03:04:05Z", "error": "boom"}]}
        got = MessageItem.from_json(wire).errors
        self.assertEqual([(e.attempt, e.error, e.at.hour) for e in got], [(1, "boom", 3)])
        del wire["errors"]
        self.assertIsNone(MessageItem.from_json(wire).errors)

    def test_status_numbers_match_the_original(self):
        self.assertEqual([MessageStatus.PENDING, MessageStatus.PROCESSING, MessageStatus.COMPLETED,
                          MessageStatus.FAILED, MessageStatus.RETRYING], [0, 1, 2, 3, 4])
        self.assertTrue(MessageStatus.CANCELLED.finished)
        self.assertFalse(MessageStatus.RETRYING.finished)
        self.assertEqual(MessagePriority.parse("high"), MessagePriority.HIGH)


if __name__ == "__main__":
    unittest.main()
