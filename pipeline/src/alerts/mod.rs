//! Spike alerting: windowed counts summed into the detector's buckets ([`feed`]), seasonal,
//! robust baselines of those series ([`baseline`]) and a detector with an alert lifecycle over
//! them ([`detector`]).

pub mod baseline;
pub mod detector;
pub mod feed;

pub use baseline::{Baseline, BaselineConfig, Expectation};
pub use detector::{AlertEvent, Detector, Kind, Observation, RuleConfig, Score, SeriesKey, State};
pub use feed::{Feed, series_of};
