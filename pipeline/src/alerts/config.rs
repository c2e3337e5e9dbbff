//! `[alerts]`: the detection window, the baseline, one rule per series kind, and the optional
//! webhook.

use super::baseline::BaselineConfig;
use super::detector::{Kind, RuleConfig};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Watch the series and raise alerts. Default true.
    pub enabled: bool,
    /// The detection window: each observation counts this much event time. Default 30 min.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// A window is evaluated this often (it slides by this step). Default 5 min.
    #[serde(with = "humantime_serde")]
    pub every: Duration,
    /// How baselines learn.
    pub baseline: BaselineConfig,
    /// Conversations started (per channel, topic, channel × topic).
    pub volume: RuleConfig,
    /// Share of SLA clocks that breached (per channel).
    pub sla_breach_rate: RuleConfig,
    /// Share of customer messages that were negative (per channel).
    pub negative_share: RuleConfig,
    /// Sample conversation ids kept per alert (of a topic series).
    pub samples: usize,
    /// Where firing and resolved alerts are posted, if anywhere.
    pub webhook: Option<super::webhook::WebhookConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            window: Duration::from_secs(30 * 60),
            every: Duration::from_secs(5 * 60),
            baseline: BaselineConfig::default(),
            volume: RuleConfig::default(),
            sla_breach_rate: RuleConfig { min_count: 10.0, ..RuleConfig::default() },
            negative_share: RuleConfig { min_count: 10.0, min_ratio: 1.5, ..RuleConfig::default() },
            samples: 5,
            webhook: None,
        }
    }
}

impl AlertsConfig {
    /// The rule of a series kind.
    pub fn rule(&self, kind: Kind) -> &RuleConfig {
        match kind {
            Kind::Volume => &self.volume,
            Kind::SlaBreachRate => &self.sla_breach_rate,
            Kind::NegativeShare => &self.negative_share,
        }
    }

    /// The step in ms.
    pub fn every_ms(&self) -> i64 {
        crate::time::millis(self.every)
    }

    /// Windows summed per observation.
    pub fn steps(&self) -> usize {
        (crate::time::millis(self.window) / self.every_ms().max(1)).max(1) as usize
    }

    /// Checks the values against the pipeline's tumbling window width `base_ms` (what the counts
    /// come in), naming the field at fault.
    pub fn validate(&self, base_ms: Option<i64>) -> Result<()> {
        let (window, every) = (crate::time::millis(self.window), self.every_ms());
        let day = 86_400_000;
        if every <= 0 || day % every != 0 {
            return Err(Error::config("alerts.every", "must be positive and divide a day (e.g. 5m)"));
        }
        if window < every || window % every != 0 {
            return Err(Error::config("alerts.window", "must be a multiple of alerts.every"));
        }
        if self.enabled {
            match base_ms {
                None => {
                    return Err(Error::config(
                        "alerts.enabled",
                        "spike alerting needs a tumbling window in time.window (e.g. 1m); disable it or add one",
                    ));
                }
                Some(base) if every % base != 0 => {
                    return Err(Error::config(
                        "alerts.every",
                        format!("must be a multiple of the tumbling window ({} ms)", base),
                    ));
                }
                Some(_) => {}
            }
        }
        let b = &self.baseline;
        let checks = [
            ("alerts.baseline.history", b.history >= 1, "must be at least 1"),
            ("alerts.baseline.warmup_seasons", b.warmup_seasons >= 1, "must be at least 1"),
            ("alerts.baseline.level_alpha", (0.0..=1.0).contains(&b.level_alpha), "must be within [0, 1]"),
            ("alerts.baseline.recent", b.recent >= 1, "must be at least 1"),
        ];
        if let Some((field, _, why)) = checks.into_iter().find(|c| !c.1) {
            return Err(Error::config(field, why));
        }
        for kind in [Kind::Volume, Kind::SlaBreachRate, Kind::NegativeShare] {
            let r = self.rule(kind);
            let name = |f: &str| format!("alerts.{}.{f}", kind.as_str());
            let checks = [
                ("z", r.z > 0.0, "must be positive"),
                ("min_count", r.min_count >= 0.0, "must not be negative"),
                ("min_ratio", r.min_ratio >= 1.0, "must be at least 1"),
                ("hold", r.hold >= 1, "must be at least 1"),
                ("clear", r.clear >= 1, "must be at least 1"),
                ("critical_ratio", r.critical_ratio >= 1.0, "must be at least 1"),
            ];
            if let Some((field, _, why)) = checks.into_iter().find(|c| !c.1) {
                return Err(Error::config(name(field), why));
            }
        }
        if let Some(w) = &self.webhook {
            w.validate()?;
        }
        Ok(())
    }
}
