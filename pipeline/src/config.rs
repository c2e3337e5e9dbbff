//! The whole configuration of a pipeline run, as written in `ticketpulse.toml` (every section is
//! optional; command-line flags override it). Each component owns its section's type; this
//! module only assembles them and validates across sections.

use crate::conversation::ConversationConfig;
use crate::dedup::DedupConfig;
use crate::sink::prometheus::MetricsServerConfig;
use crate::source::file::FileSourceConfig;
use crate::source::generator::GeneratorConfig;
use crate::source::kafka::KafkaSourceConfig;
use crate::time::TimeConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Where events come from: `[source]` with `kind = "kafka" | "file" | "generator"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A Kafka topic, read as a consumer-group member.
    Kafka(KafkaSourceConfig),
    /// A JSONL file or stdin.
    File(FileSourceConfig),
    /// The built-in deterministic generator.
    Generator(GeneratorConfig),
}

impl SourceConfig {
    /// The input's name in checkpoints and dead letters.
    pub fn origin(&self) -> String {
        match self {
            SourceConfig::Kafka(k) => k.topic.clone(),
            SourceConfig::File(f) => f.origin(),
            SourceConfig::Generator(g) => g.origin(),
        }
    }
}

/// Checkpoint settings, as written under `[checkpoint]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// How often to checkpoint (flush the sinks, snapshot the state, commit offsets). Default `10s`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig { interval: Duration::from_secs(10) }
    }
}

/// Where dead letters go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterTarget {
    /// A Kafka topic when reading Kafka, JSONL files otherwise.
    #[default]
    Auto,
    /// JSONL files under `<dir>/dead_letter/`, whatever the source.
    File,
}

/// Output settings, as written under `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Output directory: `conversations/`, `window_metrics/`, `dead_letter/`, `_checkpoints/`.
    pub dir: PathBuf,
    /// Where dead letters go: `auto` (a Kafka topic when reading Kafka, else files) or `file`.
    pub dead_letter: DeadLetterTarget,
    /// Dead-letter topic when reading Kafka. Default `<topic>.dead-letter`.
    pub dead_letter_topic: Option<String>,
    /// Signals topic when reading Kafka (besides the `signals` table). Default `<topic>.signals`.
    pub signals_topic: Option<String>,
    /// Alerts topic when reading Kafka (besides the `alerts` table). Default `<topic>.alerts`.
    pub alerts_topic: Option<String>,
    /// zstd level of the Parquet files (1..=22). Default 3.
    pub zstd_level: i32,
    /// Name of this instance among those writing to one output directory (members of one
    /// consumer group): its files and checkpoints carry it, and a partition's state moves
    /// between instances through the checkpoints. Letters, digits, `.`, `_` and `-`; each
    /// instance needs its own, stable across restarts (a pod name of a StatefulSet, say).
    /// Default `main`.
    pub instance: String,
}

impl OutputConfig {
    /// The signals topic when reading Kafka topic `source`.
    pub fn signals_topic(&self, source: &str) -> String {
        self.signals_topic.clone().unwrap_or_else(|| format!("{source}.signals"))
    }

    /// The alerts topic when reading Kafka topic `source`.
    pub fn alerts_topic(&self, source: &str) -> String {
        self.alerts_topic.clone().unwrap_or_else(|| format!("{source}.alerts"))
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            dir: PathBuf::from("out"),
            dead_letter: DeadLetterTarget::Auto,
            dead_letter_topic: None,
            signals_topic: None,
            alerts_topic: None,
            zstd_level: 3,
            instance: "main".into(),
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct PipelineConfig {
    /// The input; may come from the command line instead.
    #[serde(default)]
    pub source: Option<SourceConfig>,
    /// Event time and windows.
    #[serde(default)]
    pub time: TimeConfig,
    /// Duplicate detection.
    #[serde(default)]
    pub dedup: DedupConfig,
    /// Conversation lifecycle.
    #[serde(default)]
    pub conversation: ConversationConfig,
    /// Sentiment of customer messages.
    #[serde(default)]
    pub sentiment: SentimentConfig,
    /// Ticket topics.
    #[serde(default)]
    pub topics: crate::topics::TopicsConfig,
    /// Spike alerting.
    #[serde(default)]
    pub alerts: crate::alerts::AlertsConfig,
    /// Personal data masking.
    #[serde(default)]
    pub pii: crate::pii::PiiConfig,
    /// Bounds on hostile input.
    #[serde(default)]
    pub limits: crate::limits::LimitsConfig,
    /// Checkpoints.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// Outputs.
    #[serde(default)]
    pub output: OutputConfig,
    /// The `/metrics` endpoint.
    #[serde(default)]
    pub metrics: MetricsServerConfig,
}

/// `[sentiment]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentimentConfig {
    /// Score customer messages (the `messages` table, sentiment columns and metrics). Default true.
    pub enabled: bool,
    /// A Chinese model written by `ticketpulse sentiment train` (e.g. retrained on a team's
    /// labelled data) instead of the shipped one.
    pub zh_model: Option<std::path::PathBuf>,
}

impl Default for SentimentConfig {
    fn default() -> Self {
        SentimentConfig { enabled: true, zh_model: None }
    }
}

impl PipelineConfig {
    /// Parses TOML; errors name the field (and the caller adds the file).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start).min(text.len());
            let line = text[..at].matches('\n').count() + 1;
            let key =
                text.lines().nth(line - 1).and_then(|l| l.split('=').next()).map(str::trim).unwrap_or("");
            Error::config(format!("line {line} (`{key}`)"), e.message().to_string())
        })
    }

    /// Width of the first tumbling window (what spike alerting counts in), if any.
    pub fn tumbling_ms(&self) -> Option<i64> {
        self.time.window_specs().iter().find(|s| s.width_ms == s.slide_ms).map(|s| s.width_ms)
    }

    /// Checks every section and their relations; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.time.validate()?;
        self.dedup.validate(self.time.allowed_lateness)?;
        self.conversation.validate()?;
        self.topics.validate()?;
        self.pii.validate()?;
        self.limits.validate()?;
        self.alerts.validate(self.tumbling_ms())?;
        if self.checkpoint.interval < Duration::from_millis(10) {
            return Err(Error::config("checkpoint.interval", "must be at least 10ms"));
        }
        if !(1..=22).contains(&self.output.zstd_level) {
            return Err(Error::config("output.zstd_level", "must be within 1..=22"));
        }
        if self.output.dir.as_os_str().is_empty() {
            return Err(Error::config("output.dir", "must not be empty"));
        }
        let name = &self.output.instance;
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            || name.starts_with(['.', '_'])
        {
            return Err(Error::config(
                "output.instance",
                format!("{name:?}: 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '_'"),
            ));
        }
        match &self.source {
            None => Err(Error::config("source", "no input: give --input, --brokers or a [source] section")),
            Some(SourceConfig::Kafka(k)) => k.validate(),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_and_validates() -> Result<()> {
        let c = PipelineConfig::from_toml(
            r#"
            [source]
            kind = "kafka"
            brokers = "127.0.0.1:9092"
            topic = "events"
            group = "g"
            stop_when_idle = "5s"
            properties = { "fetch.wait.max.ms" = "50" }
            [time]
            window = "5m"
            allowed_lateness = "20m"
            [dedup]
            horizon = "2h"
            [checkpoint]
            interval = "2s"
            [output]
            dir = "/tmp/x"
            [metrics]
            addr = "127.0.0.1:0"
            "#,
        )?;
        c.validate()?;
        assert_eq!(c.time.window, Duration::from_secs(300));
        let Some(SourceConfig::Kafka(k)) = &c.source else { panic!("kafka expected") };
        assert_eq!(k.stop_when_idle, Some(Duration::from_secs(5)));
        Ok(())
    }

    #[test]
    fn errors_name_the_field() {
        let unknown = PipelineConfig::from_toml("[time]\nwindw = \"1m\"\n").unwrap_err().to_string();
        assert!(unknown.contains("windw"), "{unknown}");
        let bad = PipelineConfig::from_toml("[time]\nwindow = \"soon\"\n").unwrap_err().to_string();
        assert!(bad.contains("window") || bad.contains("soon"), "{bad}");
        let mut c = PipelineConfig {
            source: Some(SourceConfig::File(FileSourceConfig { path: "x".into() })),
            ..Default::default()
        };
        c.time.allowed_lateness = Duration::from_secs(7200);
        assert!(c.validate().unwrap_err().to_string().contains("dedup.horizon"));
        c.time.allowed_lateness = Duration::from_secs(60);
        c.output.zstd_level = 40;
        assert!(c.validate().unwrap_err().to_string().contains("output.zstd_level"));
        assert!(PipelineConfig::default().validate().unwrap_err().to_string().contains("source"));
        let mut kafka = PipelineConfig::from_toml(
            "[source]\nkind = \"kafka\"\nbrokers = \"b:1\"\ntopic = \"t\"\ngroup = \"g\"\nproperties = { \"enable.auto.commit\" = \"true\" }\n",
        )
        .unwrap();
        let err = kafka.validate().unwrap_err().to_string();
        assert!(err.contains("source.kafka.properties.enable.auto.commit"), "{err}");
        if let Some(SourceConfig::Kafka(k)) = &mut kafka.source {
            k.properties.clear();
        }
        assert!(kafka.validate().is_ok());
    }
}
