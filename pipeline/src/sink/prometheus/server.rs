//! `/metrics` over HTTP (axum), in the text exposition format, plus `/health`: 200 `ok`, or 503
//! `unhealthy` with one line per failing check (see [`crate::health`]) while the pipeline is
//! stuck on a fault it is retrying (broker away, disk full). Use it as a readiness probe, not a
//! liveness one: restarting does not bring a broker back.

use crate::telemetry::Telemetry;
use crate::{Error, Result};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Settings of the metrics endpoint, as written under `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsServerConfig {
    /// Address to listen on. Default `127.0.0.1:9464`; port 0 picks a free port.
    pub addr: SocketAddr,
}

impl Default for MetricsServerConfig {
    fn default() -> Self {
        MetricsServerConfig { addr: SocketAddr::from(([127, 0, 0, 1], 9464)) }
    }
}

/// A running metrics endpoint.
#[derive(Debug)]
pub struct MetricsServer {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Binds and serves on the current tokio runtime.
    pub async fn start(config: &MetricsServerConfig, telemetry: Telemetry) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| Error::config("metrics.addr", format!("cannot listen on {}: {e}", config.addr)))?;
        let addr =
            listener.local_addr().map_err(|e| Error::io("reading the address of", "metrics listener", e))?;
        let health = telemetry.health.clone();
        let app = Router::new()
            .route(
                "/metrics",
                get(move || {
                    let t = telemetry.clone();
                    async move {
                        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], t.render()).into_response()
                    }
                }),
            )
            .route(
                "/health",
                get(move || {
                    let (ok, text) = health.report();
                    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                    async move { (status, text).into_response() }
                }),
            );
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("metrics server stopped: {e}");
            }
        });
        Ok(MetricsServer { addr, task })
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}
