//! `ticketpulse kafka-mock`: serves librdkafka's mock Kafka cluster from a process of its own,
//! with the topics it is asked for, until it is stopped. For trying ticketpulse without a broker,
//! and for the tests of consumer-group semantics (several instances, one killed) that a
//! Kafka-compatible broker without full group coordination cannot host. Not a broker: it keeps
//! everything in memory and stops with the process.

use anyhow::{Context, Result, bail};
use clap::Args;
use rdkafka::mocking::MockCluster;
use std::io::Write;

/// Flags of `ticketpulse kafka-mock`.
#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Topics to create, `NAME` or `NAME:PARTITIONS` (default 4 partitions); repeatable.
    #[arg(long = "topic", value_name = "NAME[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Brokers in the mock cluster.
    #[arg(long, default_value_t = 1)]
    pub brokers: i32,
}

/// `NAME[:PARTITIONS]`.
fn topic(spec: &str) -> Result<(&str, i32)> {
    let (name, partitions) = match spec.split_once(':') {
        Some((name, n)) => {
            (name, n.parse().with_context(|| format!("--topic {spec}: partitions must be a number"))?)
        }
        None => (spec, 4),
    };
    if name.is_empty() || partitions < 1 {
        bail!("--topic {spec}: a name and at least one partition");
    }
    Ok((name, partitions))
}

/// Entry point of `ticketpulse kafka-mock`: prints the bootstrap address on the first line of
/// standard output, then serves until the process is stopped.
pub fn main(args: MockArgs) -> Result<()> {
    let cluster = MockCluster::new(args.brokers).context("starting the mock cluster")?;
    for spec in &args.topics {
        let (name, partitions) = topic(spec)?;
        cluster.create_topic(name, partitions, 1).with_context(|| format!("creating topic {name}"))?;
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", cluster.bootstrap_servers())?;
    stdout.flush()?;
    eprintln!("serving the mock Kafka cluster on {}; stop it with Ctrl-C", cluster.bootstrap_servers());
    loop {
        std::thread::park(); // serves until the process is stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs_parse_with_a_default_partition_count() {
        assert_eq!(topic("events").unwrap(), ("events", 4));
        assert_eq!(topic("events:8").unwrap(), ("events", 8));
        assert!(topic("events:x").is_err());
        assert!(topic(":3").is_err());
        assert!(topic("events:0").is_err());
    }
}
