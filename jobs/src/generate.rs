//! `ticketpulse generate`: writes the built-in generator's events as JSONL (the same stream the
//! demo uses), for trying `run` and `produce` without other tools.

use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use ticketpulse_pipeline::source::generator::{GeneratorConfig, generate};

/// Flags of `ticketpulse generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Conversations to generate.
    #[arg(long, default_value_t = 10_000)]
    pub conversations: u64,
    /// Days of event time they spread over.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Random seed; the same seed gives the same output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

/// Entry point of `ticketpulse generate`.
pub fn main(args: GenerateArgs) -> Result<()> {
    let config = GeneratorConfig {
        conversations: args.conversations,
        days: args.days,
        seed: args.seed,
        ..Default::default()
    };
    let (lines, summary) = generate(&config)?;
    let mut out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        let f =
            std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
        Box::new(std::io::BufWriter::new(f))
    };
    for line in &lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "wrote {} lines ({} conversations, {} duplicates, {} invalid, {} with personal data)",
        summary.lines,
        summary.conversations,
        summary.duplicate_lines,
        summary.invalid_lines,
        summary.personal_data
    );
    Ok(())
}
