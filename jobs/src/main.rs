//! `ticketpulse`: the command-line entry point. One file per subcommand; `settings` turns flags
//! and the TOML file into a pipeline configuration; `report` prints progress and summaries.

mod alerts;
mod check;
mod demo;
mod generate;
mod import;
mod mock;
mod produce;
mod report;
mod run;
mod sentiment;
mod settings;
mod topics;

use clap::{Parser, Subcommand};

/// Streaming analytics for customer-support conversations.
#[derive(Debug, Parser)]
#[command(name = "ticketpulse", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The embedded demo: generate events, produce them into an in-process Kafka, run the
    /// pipeline over them, serve /metrics and print a summary.
    Demo(demo::DemoArgs),
    /// Run the pipeline over a JSONL file (or stdin) or a Kafka topic.
    Run(run::RunArgs),
    /// Load a JSONL file into a Kafka topic (key = conversation_id).
    Produce(produce::ProduceArgs),
    /// Write the built-in generator's events as JSONL.
    Generate(generate::GenerateArgs),
    /// Decode every line of a JSONL file and report valid/invalid records (no processing).
    Check(check::CheckArgs),
    /// Convert a public support log into contract events (JSONL).
    Import(import::ImportArgs),
    /// Score, evaluate or retrain the sentiment models.
    Sentiment(sentiment::SentimentArgs),
    /// Fit ticket topics on a file of texts (TF-IDF, LSA + k-means on a sample, merged clusters,
    /// then EM of a multinomial mixture).
    Topics(topics::TopicsArgs),
    /// Spike alerting: backtest the detector over a file (against the generator's truth).
    Alerts(alerts::AlertsArgs),
    /// Serve librdkafka's in-memory mock Kafka cluster until stopped (trying ticketpulse without
    /// a broker; tests of consumer-group semantics); prints its bootstrap address.
    KafkaMock(mock::MockArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,ticketpulse=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // fault injection for the reliability tests: FAILPOINTS=<point>=<actions> (fail-rs syntax);
    // unset, nothing is armed
    let _failpoints = fail::FailScenario::setup();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::main(a),
        Command::Run(a) => run::main(a),
        Command::Produce(a) => produce::main(a),
        Command::Generate(a) => generate::main(a),
        Command::Check(a) => check::main(a),
        Command::Import(a) => import::main(a),
        Command::Sentiment(a) => sentiment::main(a),
        Command::Topics(a) => topics::main(a),
        Command::Alerts(a) => alerts::main(a),
        Command::KafkaMock(a) => mock::main(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
