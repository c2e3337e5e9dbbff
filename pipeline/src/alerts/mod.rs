//! Spike alerting: windowed counts summed into the detector's buckets ([`feed`]), seasonal,
//! robust baselines of those series ([`baseline`]), a detector with an alert lifecycle over
//! them ([`detector`]), the operator that runs them in the stream ([`operator`]), its settings
//! ([`config`]) and the webhook that notifies people ([`webhook`]).

pub mod baseline;
pub mod config;
pub mod detector;
pub mod feed;
pub mod operator;
pub mod webhook;

pub use baseline::{Baseline, BaselineConfig, Expectation};
pub use config::AlertsConfig;
pub use detector::{AlertEvent, Detector, Kind, Observation, RuleConfig, Score, SeriesKey, State};
pub use feed::{Feed, series_of};
pub use operator::{AlertOperator, AlertRow, Evaluation, TopicMove, state_name};
