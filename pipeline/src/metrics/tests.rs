use super::*;

fn ch(s: &str) -> Arc<str> {
    Arc::from(s)
}

#[test]
fn closes_after_end_plus_lateness_and_refuses_late_changes() {
    let mut w = WindowOperator::new(60_000, 30_000);
    let web = ch("web");
    assert!(w.add_started(0, &web, 1));
    assert!(w.add_messages(0, &web, 3));
    assert!(w.close(89_999).is_empty(), "end 60s + lateness 30s not reached");
    let closed = w.close(90_000);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].aggregate.messages, 3);
    assert_eq!((closed[0].start, closed[0].end), (0, 60_000));
    assert!(!w.add_messages(0, &web, 1), "closed windows refuse changes");
    assert!(w.close(1_000_000).is_empty(), "emitted once");
}

#[test]
fn retraction_moves_a_duration_between_open_windows() {
    let mut w = WindowOperator::new(60_000, 0);
    let app = ch("app");
    assert!(w.add_duration(120_000, &app, Duration::FirstResponse, 5.0));
    assert!(w.remove_duration(120_000, &app, Duration::FirstResponse, 5.0));
    assert!(w.add_duration(60_000, &app, Duration::FirstResponse, 2.0));
    let closed = w.close(i64::MAX);
    assert_eq!(closed.len(), 1, "the emptied window is not emitted: {closed:?}");
    assert_eq!(closed[0].start, 60_000);
    assert_eq!(closed[0].aggregate.first_response_s, vec![2.0]);
}

#[test]
fn channels_come_out_sorted_within_a_window() {
    let mut w = WindowOperator::new(1_000, 0);
    for c in ["weibo", "app", "email"] {
        w.add_messages(0, &ch(c), 1);
    }
    let names: Vec<String> = w.close(i64::MAX).into_iter().map(|c| c.channel.to_string()).collect();
    assert_eq!(names, ["app", "email", "weibo"]);
}
