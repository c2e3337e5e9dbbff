use super::*;
use crate::conversation::{ConversationRow, EndReason, Status};
use arrow::array::{Array, Float64Array, StringArray};
use std::sync::Arc;

fn row(id: &str, started_at: i64, frt: Option<f64>) -> ConversationRow {
    ConversationRow {
        conversation_id: Arc::from(id),
        revision: 1,
        channel: Arc::from("web"),
        team: None,
        customer_id: None,
        agent_id: None,
        status: Status::Closed,
        end_reason: EndReason::Closed,
        started_at,
        last_event_at: started_at + 1,
        events: 2,
        messages_by_role: [1, 0, 0, 0, 0],
        first_customer_message_at: Some(started_at),
        first_response_at: frt.map(|s| started_at + (s * 1000.0) as i64),
        first_response_s: frt,
        first_handoff_at: None,
        first_human_response_at: None,
        first_human_response_s: None,
        replies: 0,
        reply_mean_s: None,
        reply_p50_s: None,
        reply_max_s: None,
        waiting_since: Some(started_at),
        handoffs: 1,
        max_tier: 2,
        handoff_reasons: vec!["vip".into(), "bot_failed".into()],
        resolved: false,
        first_resolved_at: None,
        first_resolution_s: None,
        full_resolution_s: None,
        reopens: 0,
        bot_contained: false,
        one_touch: false,
        csat_rating: None,
        night: true,
        business_first_response_s: None,
        business_first_human_response_s: None,
        business_first_resolution_s: None,
        sla_first_response: Some(crate::conversation::Outcome::Pending),
        sla_next_reply: None,
        sla_resolution: None,
        sla_breaches: 0,
    }
}

#[test]
fn writes_one_tmp_file_per_date_and_reads_back_after_rename() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "", e))?;
    let mut sink = ParquetSink::<ConversationRow>::new(dir.path(), 3);
    let day = 86_400_000;
    sink.push(row("a", 1_793_548_800_000, Some(2.5)));
    sink.push(row("b", 1_793_548_800_000 + day, None));
    sink.push(row("c", 1_793_548_800_000 + 5, Some(1.0)));
    let pending = sink.prepare(7)?;
    assert_eq!(sink.buffered(), 0);
    assert_eq!(pending.len(), 2);
    assert_eq!(
        pending[0].path, "conversations/date=2026-11-01/part-0000000007.parquet",
        "UTC date of 2026-11-02T00:00+08:00"
    );
    assert_eq!(pending[0].rows, 2);
    assert!(read_table(dir.path(), Table::Conversations)?.is_empty(), ".tmp files are invisible");
    for p in &pending {
        std::fs::rename(dir.path().join(&p.tmp), dir.path().join(&p.path))
            .map_err(|e| Error::io("rename", "", e))?;
    }
    let batches = read_table(dir.path(), Table::Conversations)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);
    let b = &batches[0];
    assert_eq!(b.schema(), Table::Conversations.schema());
    let ids =
        b.column_by_name("conversation_id").and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
    assert_eq!(ids.map(|a| a.value(1).to_string()), Some("c".to_string()));
    let frt =
        b.column_by_name("first_response_s").and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned());
    assert_eq!(frt.map(|a| (a.value(0), a.is_null(1))), Some((2.5, false)));
    Ok(())
}

use ticketpulse_schemas::tables::Table;
