//! The library's error type. Data problems (bad input) are not errors: they are
//! [`crate::decode::Invalid`] values routed to the dead-letter output. An [`Error`] means the
//! pipeline itself cannot go on (I/O, broker, bad configuration, corrupt checkpoint).

use std::path::PathBuf;

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that stops the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is invalid; `field` is its dotted path in the configuration.
    #[error("invalid configuration: {field}: {message}")]
    Config {
        /// Dotted path of the field, e.g. `time.allowed_lateness`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `renaming`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Kafka client failed.
    #[error("kafka: {context}: {source}")]
    Kafka {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Writing Parquet failed.
    #[error("parquet {path}: {source}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building an Arrow batch failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A checkpoint exists but cannot be used.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The metrics registry refused a metric (a programming error caught at start).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A task of the runtime stopped unexpectedly.
    #[error("runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    /// An [`Error::Kafka`] with context.
    /// The value in a configuration error is replaced by `[redacted]` when its property holds a
    /// secret or is unknown (a misspelt secret); the description is cut where the value starts.
    pub fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        use rdkafka::error::KafkaError;
        use rdkafka::types::RDKafkaConfRes;
        let source = match source {
            KafkaError::ClientConfig(code, desc, key, value)
                if !value.is_empty()
                    && (crate::kafka::is_secret_property(&key)
                        || code == RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN) =>
            {
                // cut the description where the value starts (it may be truncated there)
                let head: String = value.chars().take(8).collect();
                let desc = match desc.find(&head) {
                    Some(at) => format!("{}[redacted]", &desc[..at]),
                    None => desc,
                };
                KafkaError::ClientConfig(code, desc, key, "[redacted]".into())
            }
            other => other,
        };
        Error::Kafka { context: context.into(), source }
    }

    /// An [`Error::Config`] naming `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { field: field.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_configuration_errors_never_quote_a_secret() {
        use rdkafka::error::KafkaError;
        use rdkafka::types::RDKafkaConfRes;
        // what librdkafka answers to a property it cannot take: the description and the value
        let secret = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"pw-s3cret\" for configuration property \"sasl.password\"".into(),
            "sasl.password".into(),
            "pw-s3cret".into(),
        );
        let shown = Error::kafka("creating a client", secret).to_string();
        assert!(shown.contains("creating a client") && shown.contains("sasl.password"), "{shown}");
        assert!(!shown.contains("pw-s3cret"), "{shown}");
        let plain = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"lots\" for configuration property \"linger.ms\"".into(),
            "linger.ms".into(),
            "lots".into(),
        );
        assert!(Error::kafka("x", plain).to_string().contains("lots"), "other values are shown");
        // a misspelt secret is an unknown property: hidden too, even where the text is cut short
        let long = "pw-".repeat(200);
        let misspelt = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN,
            format!("No such configuration property: \"sasl.passwrd\" = {}", &long[..300]),
            "sasl.passwrd".into(),
            long.clone(),
        );
        let shown = Error::kafka("x", misspelt).to_string();
        assert!(!shown.contains("pw-pw-"), "{shown}");
    }
}
