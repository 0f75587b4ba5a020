-- Rate limits (driver.Limiter): one token bucket per rate-limited
-- destination, shared by every process on the file. tokens is what was
-- left after the last claim at `at` (unix microseconds of that claim's
-- Now); a claim refills it by the time elapsed since.
CREATE TABLE rate_buckets (
    destination TEXT    PRIMARY KEY,
    tokens      REAL    NOT NULL,
    at          INTEGER NOT NULL
) WITHOUT ROWID;
