//! `ticketpulse topics fit`: fits the topic model on a file of texts (CSV, TSV/TXT, JSONL or
//! Parquet) and prints each topic with its label and size; with a label column, the agreement of
//! the topics with the labels (NMI, ARI). `--save FILE` writes the model.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::path::{Path, PathBuf};
use std::time::Instant;
use ticketpulse_pipeline::topics::{FitConfig, KChoice, TopicModel, ari, nmi};

/// `ticketpulse topics ...`.
#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fit topics on a file of texts and print them (and NMI / ARI against a label column).
    Fit(FitArgs),
}

#[derive(Debug, Args)]
struct FitArgs {
    /// The texts: .csv, .tsv/.txt (tab-separated), .jsonl or .parquet.
    #[arg(long)]
    input: PathBuf,
    /// The text column: a name, or a 0-based position for files without a header.
    #[arg(long)]
    text_column: String,
    /// The column of true labels (name or position), to report NMI and ARI.
    #[arg(long)]
    label_column: Option<String>,
    /// CSV/TSV without a header line (columns by position).
    #[arg(long)]
    no_header: bool,
    /// Number of topics (chosen by silhouette when absent).
    #[arg(long)]
    k: Option<usize>,
    /// LSA dimensions.
    #[arg(long, default_value_t = 100)]
    dims: usize,
    /// k-means runs.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Do not add the character bigrams of Chinese text.
    #[arg(long)]
    no_char_bigrams: bool,
    /// Keep the documents' mean direction (no centring before clustering).
    #[arg(long)]
    no_center: bool,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Write the fitted model here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Rows the LSA and k-means stages see at most (a random sample; EM sees all).
    #[arg(long, default_value_t = FitConfig::default().sample)]
    sample: usize,
    /// k-means iterations at most.
    #[arg(long, default_value_t = FitConfig::default().max_iterations)]
    max_iterations: u64,
    /// k-means finds this many times k clusters, merged to k (1: no merge).
    #[arg(long, default_value_t = FitConfig::default().oversplit)]
    oversplit: usize,
    /// Print at most this many topics (largest first).
    #[arg(long, default_value_t = 100)]
    show: usize,
}

/// Runs `ticketpulse topics`.
pub fn main(args: TopicsArgs) -> Result<()> {
    match args.command {
        Command::Fit(a) => fit(a),
    }
}

fn fit(a: FitArgs) -> Result<()> {
    let started = Instant::now();
    let (texts, labels) = read(&a.input, &a.text_column, a.label_column.as_deref(), a.no_header)?;
    if texts.is_empty() {
        bail!("{} has no texts in column {}", a.input.display(), a.text_column);
    }
    let read_s = started.elapsed().as_secs_f64();
    let config = FitConfig {
        k: a.k,
        dims: a.dims,
        runs: a.runs,
        sample: a.sample,
        max_iterations: a.max_iterations,
        oversplit: a.oversplit,
        char_bigrams: !a.no_char_bigrams,
        seed: a.seed,
        center: !a.no_center,
        ..FitConfig::default()
    };
    // the Chinese segmenter's dictionary loads once per process (as jieba.initialize() in the
    // Python recipe); not part of a fit
    ticketpulse_pipeline::sentiment::chinese_rules::warm_up();
    let bar = crate::report::bar(Some(100), "fitting");
    let fit_started = Instant::now();
    let fitted = TopicModel::fit(&texts, &config, &|stage, done| {
        bar.set_message(stage.to_string());
        bar.set_position((done * 100.0) as u64);
    })?;
    bar.finish_and_clear();
    let timings: Vec<String> = fitted.stages.iter().map(|(stage, s)| format!("{stage} {s:.3}s")).collect();
    tracing::info!("fit stages: {}", timings.join(", "));
    let fit_s = fit_started.elapsed().as_secs_f64();
    let model = &fitted.model;
    println!(
        "{} texts, {} terms, k = {} ({}), fitted in {fit_s:.2}s (reading {read_s:.2}s)",
        texts.len(),
        model.tfidf().len(),
        model.k(),
        match &fitted.k {
            KChoice::Given(_) => "given".to_string(),
            KChoice::Silhouette(scores) => format!(
                "the best mean silhouette of {}",
                scores.iter().map(|(k, s)| format!("k={k}: {s:.3}")).collect::<Vec<_>>().join(", ")
            ),
        }
    );
    let unassigned = fitted.assignments.iter().filter(|a| a.is_none()).count();
    if unassigned > 0 {
        println!("{unassigned} texts have no term of the vocabulary and no topic");
    }
    let mut order: Vec<usize> = (0..model.k()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(model.topics[i].size));
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec!["topic", "size", "share", "label"]);
    let total = texts.len() as f64;
    for &i in order.iter().take(a.show) {
        let t = &model.topics[i];
        table.add_row(vec![
            i.to_string(),
            t.size.to_string(),
            format!("{:.1}%", 100.0 * t.size as f64 / total),
            t.label(),
        ]);
    }
    println!("{table}");
    if let Some(labels) = labels {
        // a text without a topic counts as its own cluster
        let predicted: Vec<i64> = fitted.assignments.iter().map(|a| a.map_or(-1, |c| c as i64)).collect();
        println!(
            "NMI {:.4}  ARI {:.4}  (against {} labels)",
            nmi(&labels, &predicted),
            ari(&labels, &predicted),
            {
                let mut l = labels.clone();
                l.sort();
                l.dedup();
                l.len()
            }
        );
    }
    if let Some(path) = &a.save {
        std::fs::write(path, model.to_bytes()?).with_context(|| format!("writing {}", path.display()))?;
        println!("model written to {}", path.display());
    }
    Ok(())
}

/// The texts (and labels) of a file.
fn read(
    path: &Path,
    text: &str,
    label: Option<&str>,
    no_header: bool,
) -> Result<(Vec<String>, Option<Vec<String>>)> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let rows: Vec<(String, Option<String>)> = match ext.as_str() {
        "jsonl" | "json" => {
            let data =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let mut rows = Vec::new();
            for (i, line) in data.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
                let get =
                    |c: &str| v.get(c).map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string));
                let Some(t) = get(text) else { continue };
                rows.push((t, label.and_then(get)));
            }
            rows
        }
        "parquet" => read_parquet(path, text, label)?,
        other => {
            let delimiter = if matches!(other, "tsv" | "txt" | "tab") { b'\t' } else { b',' };
            let mut r = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(!no_header)
                .flexible(true)
                .quoting(delimiter == b',')
                .from_path(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let names: Vec<String> =
                if no_header { Vec::new() } else { r.headers()?.iter().map(str::to_string).collect() };
            let column = |c: &str| -> Result<usize> {
                names.iter().position(|n| n == c).or_else(|| c.parse().ok()).with_context(|| {
                    format!("{} has no column {c} (columns: {})", path.display(), names.join(", "))
                })
            };
            let (ti, li) = (column(text)?, label.map(column).transpose()?);
            let mut rows = Vec::new();
            for rec in r.records() {
                let rec = rec.with_context(|| format!("reading {}", path.display()))?;
                let Some(t) = rec.get(ti) else { continue };
                rows.push((t.to_string(), li.and_then(|i| rec.get(i)).map(str::to_string)));
            }
            rows
        }
    };
    let labelled = label.is_some();
    let (texts, labels): (Vec<String>, Vec<Option<String>>) = rows.into_iter().unzip();
    let labels = labelled.then(|| labels.into_iter().map(Option::unwrap_or_default).collect());
    Ok((texts, labels))
}

fn read_parquet(path: &Path, text: &str, label: Option<&str>) -> Result<Vec<(String, Option<String>)>> {
    use arrow::array::{Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let column = |c: &str| -> Result<StringArray> {
            let a =
                batch.column_by_name(c).with_context(|| format!("{} has no column {c}", path.display()))?;
            let s = arrow::compute::cast(a, &arrow::datatypes::DataType::Utf8)?;
            Ok(s.as_any().downcast_ref::<StringArray>().context("not text")?.clone())
        };
        let t = column(text)?;
        let l = label.map(column).transpose()?;
        for i in 0..batch.num_rows() {
            if t.is_null(i) {
                continue;
            }
            rows.push((t.value(i).to_string(), l.as_ref().map(|l| l.value(i).to_string())));
        }
    }
    Ok(rows)
}
