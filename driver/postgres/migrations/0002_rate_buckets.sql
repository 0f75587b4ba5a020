-- Rate limits (driver.Limiter): one token bucket per rate-limited
-- destination, shared by every host. tokens is what was left after the
-- last claim at `at` (that claim's Now, the database clock).
CREATE TABLE {s}.rate_buckets (
    destination text             PRIMARY KEY,
    tokens      double precision NOT NULL,
    at          timestamptz      NOT NULL
);
