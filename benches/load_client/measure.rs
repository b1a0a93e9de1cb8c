//! What a run measured, and the server's side of it read from `/proc`:
//! CPU time as utime + stime (proc(5): fields 14 and 15 of
//! `/proc/<pid>/stat`, in clock ticks, summed over every thread) and peak
//! RSS as `VmHWM` of `/proc/<pid>/status`, which `clear_refs` resets (Linux
//! ≥ 4.0) so each run gets its own peak.

use std::fs;
use std::time::Duration;

pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name start at field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0); false when not allowed.
pub fn reset_peak_rss(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What a run measured.
pub struct Report {
    pub requests: usize,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub server_cpu_us: Option<u64>,
    pub peak_rss_kib: Option<u64>,
}

impl Report {
    pub fn result_line(&self) -> String {
        let optional = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        format!(
            "RESULT requests={} errors={} seconds={:.3} p50_us={} p99_us={} server_cpu_us={} peak_rss_kib={}",
            self.requests,
            self.errors,
            self.seconds,
            self.p50.as_micros(),
            self.p99.as_micros(),
            optional(self.server_cpu_us),
            optional(self.peak_rss_kib),
        )
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}
