//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the
//! database and the store answer: a load balancer should send traffic) and
//! `/metrics` (Prometheus text format), plus the request-metrics middleware.

mod routes;

pub use routes::{FixedRoute, routes, track_requests};

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder. The `metrics` facade has one global
/// recorder, so every app built in one process (tests build many) shares it.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    pub fn install() -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5,
                ])
                .and_then(|builder| {
                    // The writers' batch sizes are counts, not seconds: up
                    // to the journal's 512 rotations a transaction.
                    builder.set_buckets_for_metric(
                        Matcher::Suffix("_batch_size".to_owned()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                    )
                })
                .map_or_else(
                    |_| PrometheusBuilder::new().build_recorder(),
                    PrometheusBuilder::build_recorder,
                );
            let handle = recorder.handle();
            // Fails only if another recorder was set first; ours then stays unused.
            let _ = metrics::set_global_recorder(recorder);
            handle
        });
        Self {
            handle: handle.clone(),
        }
    }

    /// Folds recorded histogram samples into their buckets. Without it the
    /// samples of every request pile up until the next scrape; the server
    /// calls it every few seconds.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_are_counted_in_batch_size_buckets_and_durations_in_seconds() {
        let metrics = Metrics::install();
        metrics::histogram!("ops_test_batch_size").record(300.0);
        metrics::histogram!("ops_test_duration_seconds").record(0.003);
        let text = metrics.render();
        let buckets = |name: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        };
        let sizes = buckets("ops_test_batch_size");
        assert!(
            sizes.contains(&r#"ops_test_batch_size_bucket{le="256"} 0"#.to_owned()),
            "{sizes:?}"
        );
        assert!(
            sizes.contains(&r#"ops_test_batch_size_bucket{le="512"} 1"#.to_owned()),
            "{sizes:?}"
        );
        let durations = buckets("ops_test_duration_seconds");
        assert!(
            durations.contains(&r#"ops_test_duration_seconds_bucket{le="0.005"} 1"#.to_owned()),
            "{durations:?}"
        );
        assert!(
            !durations.iter().any(|l| l.contains(r#"le="512""#)),
            "{durations:?}"
        );
    }
}
