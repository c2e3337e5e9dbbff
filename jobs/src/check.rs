//! `ticketpulse check`: reads and decodes every line of a JSONL file — the decode-only pass —
//! and reports valid and invalid records (by reason) and the throughput. Use it to validate an
//! input before loading it, and as the decode baseline of the benchmarks.

use anyhow::{Context, Result};
use clap::Args;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Instant;
use ticketpulse_pipeline::decode::decode;
use ticketpulse_pipeline::source::record_of_line;

/// Flags of `ticketpulse check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// JSONL file to check (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub input: PathBuf,
    /// Print each invalid line's number and reason.
    #[arg(long)]
    pub verbose: bool,
}

/// Entry point of `ticketpulse check`.
pub fn main(args: CheckArgs) -> Result<()> {
    let reader: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f =
            std::fs::File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let started = Instant::now();
    let (valid, invalid) = scan(reader, args.verbose)?;
    let secs = started.elapsed().as_secs_f64();
    let total = valid + invalid.values().sum::<u64>();
    println!(
        "{total} records in {secs:.3}s ({:.0} records/s): {valid} valid, {} invalid",
        total as f64 / secs.max(1e-9),
        total - valid
    );
    for (reason, n) in invalid {
        println!("  {reason}: {n}");
    }
    Ok(())
}

/// Decodes every line; returns the valid count and the invalid counts by reason.
fn scan(mut reader: impl BufRead, verbose: bool) -> Result<(u64, BTreeMap<&'static str, u64>)> {
    let mut buf = Vec::with_capacity(4096);
    let (mut line_no, mut valid) = (0u64, 0u64);
    let mut invalid = BTreeMap::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok((valid, invalid));
        }
        line_no += 1;
        match decode(record_of_line(&buf)) {
            Ok(_) => valid += 1,
            Err(e) => {
                if verbose {
                    println!("line {line_no}: {e}");
                }
                *invalid.entry(e.reason.as_str()).or_insert(0) += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_valid_and_invalid_by_reason() {
        let input =
            "{\"event_id\":\"a\",\"conversation_id\":\"c\",\"ts\":1,\"type\":\"closed\"}\n{bad\n\n[1]\r\n";
        let (valid, invalid) = scan(input.as_bytes(), false).unwrap();
        assert_eq!(valid, 1);
        assert_eq!(invalid, BTreeMap::from([("empty", 1), ("not_json", 1), ("not_object", 1)]));
    }
}
