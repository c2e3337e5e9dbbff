//! Flags shared by subcommands, and how flags and the `--config` TOML file combine: the file
//! first, then every flag that was given overrides its field.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use ticketpulse_pipeline::config::PipelineConfig;

/// `--config` and `--metrics-addr`.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// TOML configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address of the /metrics endpoint [default: 127.0.0.1:9464].
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// `-X key=value` librdkafka properties (kcat's convention).
#[derive(Debug, Clone, Default, Args)]
pub struct KafkaProperties {
    /// A librdkafka property, `-X key=value`; repeatable.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

impl KafkaProperties {
    /// The properties as a map; an error names the malformed flag.
    pub fn map(&self) -> Result<BTreeMap<String, String>> {
        let mut m = BTreeMap::new();
        for p in &self.properties {
            let Some((k, v)) = p.split_once('=') else { bail!("-X {p}: expected key=value") };
            if k.trim().is_empty() {
                bail!("-X {p}: empty key");
            }
            m.insert(k.trim().to_string(), v.to_string());
        }
        Ok(m)
    }
}

/// Reads the configuration file (or the defaults without one).
pub fn load(common: &CommonArgs) -> Result<PipelineConfig> {
    let mut config = match &common.config {
        None => PipelineConfig::default(),
        Some(path) => read(path)?,
    };
    if let Some(addr) = common.metrics_addr {
        config.metrics.addr = addr;
    }
    Ok(config)
}

fn read(path: &Path) -> Result<PipelineConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    PipelineConfig::from_toml(&text).with_context(|| format!("config file {}", path.display()))
}

/// Parses a humantime duration flag (`90s`, `15m`, `1h`).
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (examples: 500ms, 90s, 15m, 1h)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_parse_and_errors_name_the_flag() {
        let p = KafkaProperties { properties: vec!["batch.num.messages=1".into(), "a=b=c".into()] };
        let m = p.map().unwrap();
        assert_eq!(m["batch.num.messages"], "1");
        assert_eq!(m["a"], "b=c");
        let bad = KafkaProperties { properties: vec!["linger.ms".into()] };
        assert!(bad.map().unwrap_err().to_string().contains("-X linger.ms"));
    }

    #[test]
    fn a_bad_config_file_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[time]\nwindow = \"1m\"\nlateness = \"5m\"\n").unwrap();
        let err = format!(
            "{:#}",
            load(&CommonArgs { config: Some(path.clone()), metrics_addr: None }).unwrap_err()
        );
        assert!(err.contains("bad.toml") && err.contains("lateness") && err.contains("line 3"), "{err}");
    }
}
