-- Shared by every script here: after the run, print one machine-readable
-- line that benches/load.sh turns into a table row. Latencies are in
-- microseconds; "errors" counts non-2xx/3xx answers and socket errors, so a
-- run that was refused is never mistaken for a fast one.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    summary.duration / 1e6,
    latency:percentile(50),
    latency:percentile(99)))
end
