//! The Kafka source: a consumer-group member reading one topic with librdkafka. Offsets are never
//! committed or stored automatically (`enable.auto.commit=false`, `enable.auto.offset.store=false`):
//! the runtime commits the offsets of a barrier only after the checkpoint that covers them is
//! durable. On restart the checkpoint, not the group, is the truth: records below its offsets are
//! skipped even if the group's committed offsets lag behind (a crash between the two steps).

mod config;
mod context;
mod source;

pub use config::KafkaSourceConfig;
pub use source::KafkaCommitter;
