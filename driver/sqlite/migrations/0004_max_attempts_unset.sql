-- max_attempts_unset = 1: the sender set no MaxAttempts. max_attempts then
-- holds a stand-in (the sender's default) until the worker that claims the
-- message writes its own handler's MaxAttempts there and clears the flag, so
-- a producer without the handler does not decide how often it runs.
ALTER TABLE messages ADD COLUMN max_attempts_unset INTEGER NOT NULL DEFAULT 0;
