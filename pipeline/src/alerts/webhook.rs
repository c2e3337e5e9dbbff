//! The alert webhook: firing (and resolved) alerts posted as generic JSON or in the Slack,
//! WeCom (企业微信) or DingTalk (钉钉) bot formats.
//!
//! Delivery goes through an outbox, so that a restart never notifies twice: at each checkpoint
//! the alert events to notify are written as one JSONL file under `alerts_outbox/` that commits
//! with the checkpoint (a crash before the commit re-creates the same events on replay, and the
//! uncommitted file is discarded). A notifier thread posts committed files in order, retrying
//! with exponential backoff, and records its progress in `<file>.progress` after each post; a
//! file fully delivered is deleted. A restart resumes after the last recorded post. The one
//! window left is a crash between a post and its progress record: that one event may be posted
//! again, with the same `event_id` (the generic payload carries it; an `Idempotency-Key` header
//! carries it for every format).

use super::operator::{AlertRow, state_name};
use crate::telemetry::Telemetry;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The folder of the outbox under the output directory.
pub const OUTBOX_DIR: &str = "alerts_outbox";

/// The body format of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The alert event as JSON (the alerts topic's record).
    #[default]
    Generic,
    /// A Slack incoming webhook: `{"text": ...}` in mrkdwn.
    Slack,
    /// A WeCom group robot: `{"msgtype": "markdown", ...}`.
    Wecom,
    /// A DingTalk custom robot: `{"msgtype": "markdown", ...}`, signed when `secret` is set.
    Dingtalk,
}

/// `[alerts.webhook]`. Its `Debug` form, like every log line, hides the secret and the URL
/// past its host (robot URLs carry their access token there).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to post (http or https).
    pub url: String,
    /// Body format. Default generic.
    #[serde(default)]
    pub format: WebhookFormat,
    /// Timeout of one post. Default 10 s.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts per event before it is dropped (counted, and `TicketpulseAlertWebhookFailing`
    /// fires). Default 6: backoff 1, 2, 4, 8, 16 s between them, about half a minute plus the
    /// timeouts, so a run that ends waits at most that long per undeliverable event.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Only alerts at least this severe (`warning` or `critical`). Default warning.
    #[serde(default = "default_severity")]
    pub min_severity: String,
    /// Also notify when an alert resolves. Default true.
    #[serde(default = "yes")]
    pub resolved: bool,
    /// DingTalk signing secret (the robot's 加签 setting); never logged.
    #[serde(default)]
    pub secret: Option<String>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_attempts() -> u32 {
    6
}
fn default_severity() -> String {
    "warning".into()
}
fn yes() -> bool {
    true
}

impl WebhookConfig {
    /// Checks the values, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Error::config("alerts.webhook.url", "must be an http:// or https:// URL"));
        }
        if !["warning", "critical"].contains(&self.min_severity.as_str()) {
            return Err(Error::config("alerts.webhook.min_severity", "must be warning or critical"));
        }
        if self.attempts == 0 {
            return Err(Error::config("alerts.webhook.attempts", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(Error::config("alerts.webhook.timeout", "must be positive"));
        }
        if self.secret.is_some() && self.format != WebhookFormat::Dingtalk {
            return Err(Error::config("alerts.webhook.secret", "applies to format = \"dingtalk\" only"));
        }
        Ok(())
    }

    /// Whether `row` is notified: firing, or resolved when `resolved`, at the minimum severity.
    pub fn wants(&self, row: &AlertRow) -> bool {
        let state = match row.event.state {
            super::State::Firing => true,
            super::State::Resolved => self.resolved,
            _ => false,
        };
        state && (self.min_severity == "warning" || row.event.severity == "critical")
    }
}

/// The JSON of an alert event (the alerts topic's record and the generic webhook body).
pub fn to_json(row: &AlertRow) -> String {
    #[derive(Serialize)]
    struct Json<'a> {
        event_id: String,
        #[serde(flatten)]
        row: &'a AlertRow,
        at: String,
        window_start_at: String,
    }
    let json = Json {
        event_id: row.event_id(),
        row,
        at: crate::time::rfc3339(row.window_end),
        window_start_at: crate::time::rfc3339(row.event.window_start),
    };
    serde_json::to_string(&json).unwrap_or_default()
}

/// A human summary of an alert event (title, markdown lines).
pub fn summary(row: &AlertRow) -> (String, Vec<String>) {
    let e = &row.event;
    let what = match (row.channel.as_deref(), row.topic_id) {
        (Some(c), Some(t)) => format!("topic {t} on {c}"),
        (None, Some(t)) => format!("topic {t}"),
        (Some(c), None) => c.to_string(),
        _ => e.series.group.clone(),
    };
    let kind = match e.series.kind {
        super::Kind::Volume => "Volume spike",
        super::Kind::SlaBreachRate => "SLA breach rate",
        super::Kind::NegativeShare => "Negative sentiment share",
    };
    let state = state_name(e.state).to_uppercase();
    let title = format!("[{state}] {kind}: {what} ({})", e.severity);
    let value = |v: f64| match e.series.kind {
        super::Kind::Volume => format!("{v:.0}"),
        _ => format!("{:.1} %", v * 100.0),
    };
    let mut lines = vec![format!(
        "Observed **{}** vs expected {} (score {:.1}) in the window {} – {}",
        value(e.observed),
        value(e.expected),
        e.score,
        crate::time::rfc3339(e.window_start),
        crate::time::rfc3339(row.window_end)
    )];
    lines.push(format!(
        "Peak {} vs {} at {}; started {}{}",
        value(e.peak_observed),
        value(e.peak_expected),
        crate::time::rfc3339(e.peak_at),
        crate::time::rfc3339(e.started_at),
        e.ended_at.map(|t| format!(", ended {}", crate::time::rfc3339(t))).unwrap_or_default()
    ));
    if !row.terms.is_empty() {
        lines.push(format!("Customers write about: {}", row.terms.join(", ")));
    }
    if !row.samples.is_empty() {
        lines.push(format!("Sample conversations: {}", row.samples.join(", ")));
    }
    (title, lines)
}

/// The body of `row` in `format`.
pub fn body(format: WebhookFormat, row: &AlertRow) -> String {
    if format == WebhookFormat::Generic {
        return to_json(row);
    }
    let (title, lines) = summary(row);
    let json = match format {
        WebhookFormat::Slack => {
            // Slack's mrkdwn bolds with single asterisks
            let text = format!("*{title}*\n{}", lines.join("\n").replace("**", "*"));
            serde_json::json!({ "text": text })
        }
        WebhookFormat::Wecom => {
            let text = format!("### {title}\n{}", lines.join("\n"));
            serde_json::json!({ "msgtype": "markdown", "markdown": { "content": text } })
        }
        WebhookFormat::Dingtalk => {
            let text = format!("### {title}\n\n{}", lines.join("\n\n"));
            serde_json::json!({ "msgtype": "markdown", "markdown": { "title": title, "text": text } })
        }
        WebhookFormat::Generic => unreachable!("returned above"),
    };
    json.to_string()
}

/// The URL to post to: DingTalk's signed robots take `timestamp` and `sign` (HMAC-SHA256 of
/// `timestamp\nsecret`, base64, URL-encoded) as query parameters.
fn signed_url(config: &WebhookConfig, now_ms: i64) -> String {
    let Some(secret) = &config.secret else { return config.url.clone() };
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return config.url.clone();
    };
    mac.update(format!("{now_ms}\n{secret}").as_bytes());
    let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let encoded: String = sign
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let sep = if config.url.contains('?') { '&' } else { '?' };
    format!("{}{sep}timestamp={now_ms}&sign={encoded}", config.url)
}

/// `url` with only its scheme and host: robot URLs carry their token in the query (DingTalk,
/// WeCom) or in the path (Slack, Feishu).
fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}/[redacted]")
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_url(&self.url))
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .field("min_severity", &self.min_severity)
            .field("resolved", &self.resolved)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Posts one event; an error says why it failed (a transport error, a status, or the bot API's
/// own error code).
fn post(agent: &ureq::Agent, config: &WebhookConfig, row: &AlertRow) -> std::result::Result<(), String> {
    let now_ms = crate::time::now_ms();
    let url = signed_url(config, now_ms);
    // an error may quote the URL: never with its token or signature
    let scrub = |e: String| e.replace(&url, &redacted_url(&url));
    let response = agent
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", &row.event_id())
        .send(body(config.format, row).as_bytes());
    let mut response = match response {
        Ok(r) => r,
        Err(ureq::Error::StatusCode(code)) => return Err(format!("HTTP {code}")),
        Err(e) => return Err(scrub(e.to_string())),
    };
    if matches!(config.format, WebhookFormat::Wecom | WebhookFormat::Dingtalk) {
        // both answer 200 with {"errcode": 0} on success, another code on failure
        let text = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
        let code = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("errcode").and_then(|c| c.as_i64()));
        if code != Some(0) {
            return Err(format!("the robot answered {text}"));
        }
    }
    Ok(())
}

/// What the notifier waits on.
#[derive(Debug, Default)]
struct Signal {
    /// Committed checkpoints not yet looked at.
    wakeups: u64,
    /// Stop after the current post (`finish`: after delivering everything).
    stop: bool,
    finish: bool,
}

/// The notifier thread: posts committed outbox files in order.
#[derive(Debug)]
pub struct Notifier {
    signal: Arc<(Mutex<Signal>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The committed outbox files under `dir`, oldest first.
fn committed(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

fn progress_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".progress");
    PathBuf::from(p)
}

/// Lines of `file` already posted.
fn progress(file: &Path) -> usize {
    std::fs::read_to_string(progress_path(file)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// Delivers one file from its recorded progress; false when asked to stop midway.
fn deliver_file(
    agent: &ureq::Agent,
    config: &WebhookConfig,
    file: &Path,
    telemetry: &Telemetry,
    stopping: &dyn Fn() -> bool,
) -> Result<bool> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io("reading", file, e))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for (i, line) in lines.iter().enumerate().skip(progress(file)) {
        let Ok(row) = serde_json::from_str::<AlertRow>(line) else {
            tracing::error!(
                "alerts outbox {}: line {} is not an alert event; skipped",
                file.display(),
                i + 1
            );
            continue;
        };
        let mut delay = Duration::from_secs(1);
        for attempt in 1..=config.attempts {
            match post(agent, config, &row) {
                Ok(()) => {
                    telemetry.webhook_deliveries.with_label_values(&["ok"]).inc();
                    break;
                }
                Err(why) if attempt < config.attempts => {
                    telemetry.webhook_deliveries.with_label_values(&["retried"]).inc();
                    tracing::warn!(
                        "alert webhook: posting {} failed ({why}); retrying in {delay:?}",
                        row.event_id()
                    );
                    // sleep in small steps so that a stop request is seen
                    let until = std::time::Instant::now() + delay;
                    while std::time::Instant::now() < until {
                        if stopping() {
                            return Ok(false);
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                Err(why) => {
                    telemetry.webhook_deliveries.with_label_values(&["dropped"]).inc();
                    tracing::error!(
                        "alert webhook: {} dropped after {} attempts ({why})",
                        row.event_id(),
                        config.attempts
                    );
                }
            }
        }
        crate::sink::write_synced(&progress_path(file), (i + 1).to_string().as_bytes())?;
        if stopping() && i + 1 < lines.len() {
            return Ok(false);
        }
    }
    std::fs::remove_file(file).map_err(|e| Error::io("removing", file, e))?;
    let _ = std::fs::remove_file(progress_path(file));
    Ok(true)
}

impl Notifier {
    /// Starts posting the committed outbox files of `instance` under `out`.
    pub fn start(out: &Path, instance: &str, config: WebhookConfig, telemetry: Telemetry) -> Self {
        let signal = Arc::new((Mutex::new(Signal { wakeups: 1, ..Signal::default() }), Condvar::new()));
        let dir = out.join(OUTBOX_DIR).join(instance);
        let shared = signal.clone();
        let thread = std::thread::Builder::new()
            .name("alert-webhook".into())
            .spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(config.timeout))
                    .http_status_as_error(true)
                    .build()
                    .into();
                let (lock, cvar) = &*shared;
                let stopping = || lock.lock().map(|s| s.stop).unwrap_or(true);
                loop {
                    let finish = {
                        let Ok(mut s) = lock.lock() else { return };
                        while s.wakeups == 0 && !s.stop && !s.finish {
                            s = match cvar.wait(s) {
                                Ok(s) => s,
                                Err(_) => return,
                            };
                        }
                        if s.stop {
                            return;
                        }
                        s.wakeups = 0;
                        s.finish
                    };
                    for file in committed(&dir) {
                        match deliver_file(&agent, &config, &file, &telemetry, &stopping) {
                            Ok(true) => {}
                            Ok(false) => return,
                            Err(e) => {
                                tracing::error!("alert webhook: {e}");
                                break;
                            }
                        }
                    }
                    if finish {
                        return;
                    }
                }
            })
            .ok();
        Notifier { signal, thread }
    }

    /// Changes what the thread waits on and wakes it.
    fn tell(&self, change: impl FnOnce(&mut Signal)) {
        let (lock, cvar) = &*self.signal;
        if let Ok(mut s) = lock.lock() {
            change(&mut s);
        }
        cvar.notify_all();
    }

    /// A checkpoint committed: look for new files.
    pub fn wake(&self) {
        self.tell(|s| s.wakeups += 1);
    }

    /// Delivers what is committed, then stops (the end of a run); `abort` stops after the
    /// current post instead (what is left is posted on the next start).
    pub fn finish(mut self, abort: bool) {
        self.tell(|s| {
            s.finish = true;
            s.stop = abort;
            s.wakeups += 1;
        });
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.tell(|s| s.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The outbox file a checkpoint writes: the events to notify, one JSON per line.
pub fn outbox_file(checkpoint: &crate::sink::Stamp, rows: &[AlertRow]) -> (String, Vec<u8>) {
    let path = format!("{OUTBOX_DIR}/{}/{:020}.jsonl", checkpoint.instance, checkpoint.id);
    let mut bytes = Vec::new();
    for r in rows {
        bytes.extend_from_slice(serde_json::to_string(r).unwrap_or_default().as_bytes());
        bytes.push(b'\n');
    }
    (path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertEvent, Kind, SeriesKey, State};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    fn row(state: State) -> AlertRow {
        AlertRow {
            event: AlertEvent {
                alert_id: "volume:channel_topic:weibo/7:1000".into(),
                series: SeriesKey {
                    kind: Kind::Volume,
                    dimension: "channel_topic".into(),
                    group: "weibo/7".into(),
                },
                state,
                window_start: 1000,
                started_at: 1000,
                ended_at: None,
                observed: 41.0,
                expected: 7.0,
                score: 7.3,
                peak_at: 1000,
                peak_observed: 41.0,
                peak_expected: 7.0,
                peak_score: 7.3,
                severity: "critical".into(),
            },
            window_end: 1_801_000,
            channel: Some("weibo".into()),
            topic_id: Some(7),
            terms: vec!["电池".into(), "发热".into()],
            samples: vec!["c1".into(), "c2".into()],
            gauge: None,
        }
    }

    fn config(url: &str, format: WebhookFormat) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            format,
            timeout: Duration::from_secs(5),
            attempts: 3,
            min_severity: "warning".into(),
            resolved: true,
            secret: None,
        }
    }

    #[test]
    fn bodies_in_each_format_say_what_customers_write_about() {
        let r = row(State::Firing);
        let generic: serde_json::Value = serde_json::from_str(&body(WebhookFormat::Generic, &r)).unwrap();
        assert_eq!(generic["event_id"], "volume:channel_topic:weibo/7:1000:firing");
        assert_eq!(generic["state"], "firing");
        assert_eq!(generic["terms"][0], "电池");
        let slack: serde_json::Value = serde_json::from_str(&body(WebhookFormat::Slack, &r)).unwrap();
        let text = slack["text"].as_str().unwrap();
        assert!(text.starts_with("*[FIRING] Volume spike: topic 7 on weibo (critical)*"), "{text}");
        assert!(text.contains("电池, 发热") && text.contains("c1, c2") && !text.contains("**"), "{text}");
        let wecom: serde_json::Value = serde_json::from_str(&body(WebhookFormat::Wecom, &r)).unwrap();
        assert_eq!(wecom["msgtype"], "markdown");
        assert!(wecom["markdown"]["content"].as_str().unwrap().contains("Observed **41** vs expected 7"));
        let ding: serde_json::Value = serde_json::from_str(&body(WebhookFormat::Dingtalk, &r)).unwrap();
        assert_eq!(ding["markdown"]["title"], "[FIRING] Volume spike: topic 7 on weibo (critical)");
    }

    #[test]
    fn dingtalk_urls_are_signed_like_its_documentation_says() {
        let mut c = config("https://oapi.dingtalk.com/robot/send?access_token=T", WebhookFormat::Dingtalk);
        c.secret = Some("SECtest".into());
        // HMAC-SHA256 of "1700000000000\nSECtest", base64, URL-encoded (checked with Python's hmac)
        assert_eq!(
            signed_url(&c, 1_700_000_000_000),
            "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000&sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
        );
        assert!(config("http://x", WebhookFormat::Slack).validate().is_ok());
        let mut bad = config("ftp://x", WebhookFormat::Generic);
        assert!(bad.validate().unwrap_err().to_string().contains("alerts.webhook.url"));
        bad.url = "http://x".into();
        bad.secret = Some("s".into());
        assert!(bad.validate().unwrap_err().to_string().contains("alerts.webhook.secret"));
    }

    #[test]
    fn the_debug_form_hides_the_secret_and_the_access_token() {
        let mut c =
            config("https://oapi.dingtalk.com/robot/send?access_token=tok-123456", WebhookFormat::Dingtalk);
        c.secret = Some("SECabcdef".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("tok-123456") && !shown.contains("SECabcdef"), "{shown}");
        assert!(shown.contains("https://oapi.dingtalk.com/[redacted]"), "{shown}");
        c.url = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX".into();
        let shown = format!("{c:?}");
        assert!(!shown.contains("XXXXsecretXXXX") && shown.contains("hooks.slack.com/[redacted]"), "{shown}");
    }

    /// An HTTP server on loopback that answers `statuses` in turn (then 200) and reports each
    /// request's body.
    fn server(statuses: Vec<u16>) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let status = statuses.next().unwrap_or(200);
                let _ = tx.send(String::from_utf8_lossy(&body).to_string());
                let answer = "{\"errcode\":0}";
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        (url, rx)
    }

    #[test]
    fn the_outbox_is_posted_in_order_with_retries_and_never_twice_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join(OUTBOX_DIR).join("main");
        std::fs::create_dir_all(&outbox).unwrap();
        let (path, bytes) =
            outbox_file(&crate::sink::Stamp::new("main", 3), &[row(State::Firing), row(State::Resolved)]);
        std::fs::write(dir.path().join(&path), bytes).unwrap();
        // the first attempt fails with a 503: retried
        let (url, posted) = server(vec![503]);
        let telemetry = Telemetry::new().unwrap();
        let n = Notifier::start(dir.path(), "main", config(&url, WebhookFormat::Generic), telemetry.clone());
        n.finish(false);
        let bodies: Vec<String> = posted.try_iter().collect();
        assert_eq!(bodies.len(), 3, "{bodies:?}");
        assert!(
            bodies[0].contains(":firing\"")
                && bodies[1].contains(":firing\"")
                && bodies[2].contains(":resolved\"")
        );
        assert_eq!(telemetry.webhook_deliveries.with_label_values(&["retried"]).get(), 1);
        assert_eq!(telemetry.webhook_deliveries.with_label_values(&["ok"]).get(), 2);
        assert!(committed(&outbox).is_empty(), "a delivered file is removed");

        // a run that stopped after posting the first of two events: the restart posts the second only
        let (path, bytes) =
            outbox_file(&crate::sink::Stamp::new("main", 4), &[row(State::Firing), row(State::Resolved)]);
        let file = dir.path().join(&path);
        std::fs::write(&file, bytes).unwrap();
        std::fs::write(progress_path(&file), "1").unwrap();
        let (url, posted) = server(Vec::new());
        let n = Notifier::start(
            dir.path(),
            "main",
            config(&url, WebhookFormat::Wecom),
            Telemetry::new().unwrap(),
        );
        n.finish(false);
        let bodies: Vec<String> = posted.try_iter().collect();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        assert!(bodies[0].contains("[RESOLVED]"), "{}", bodies[0]);
        assert!(!file.exists() && !progress_path(&file).exists());
    }
}
