-- The attempt history (Message.Errors): a JSON array of the newest
-- queuetype.MaxAttemptErrors failed attempts, oldest first, each
-- {"attempt": n, "at": timestamp, "error": text}. NULL until an attempt
-- fails. Written by the completion and rescue statements.
ALTER TABLE {s}.messages ADD COLUMN attempt_errors jsonb;
