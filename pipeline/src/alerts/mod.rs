//! Spike alerting: seasonal, robust baselines of windowed series ([`baseline`]) and a detector
//! with an alert lifecycle over them ([`detector`]).

pub mod baseline;
pub mod detector;

pub use baseline::{Baseline, BaselineConfig, Expectation};
pub use detector::{AlertEvent, Detector, Kind, Observation, RuleConfig, Score, SeriesKey, State};
