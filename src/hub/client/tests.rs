use super::*;

#[test]
fn origins_compare_scheme_host_and_port() {
    let a = Url::parse("http://127.0.0.1:8000/a").unwrap();
    assert!(same_origin(
        &a,
        &Url::parse("http://127.0.0.1:8000/b?x").unwrap()
    ));
    assert!(!same_origin(
        &a,
        &Url::parse("http://127.0.0.1:8001/a").unwrap()
    ));
    assert!(!same_origin(
        &a,
        &Url::parse("https://127.0.0.1:8000/a").unwrap()
    ));
    assert!(same_origin(
        &Url::parse("https://huggingface.co/").unwrap(),
        &Url::parse("https://huggingface.co:443/x").unwrap()
    ));
}

#[test]
fn signed_queries_never_reach_messages() {
    let url = Url::parse("https://cdn.example/repos/a/b?Signature=secret&Expires=1").unwrap();
    assert_eq!(strip_query(&url), "https://cdn.example/repos/a/b");
}

#[test]
fn error_bodies() {
    assert_eq!(
        message_from_body(r#"{"error":"Repository not found"}"#).as_deref(),
        Some("Repository not found")
    );
    assert_eq!(
        message_from_body(r#"{"error":["a","b"]}"#).as_deref(),
        Some("a; b")
    );
    assert_eq!(message_from_body("<html>rate limited</html>"), None);
    assert_eq!(
        message_from_body("Entry not found").as_deref(),
        Some("Entry not found")
    );
}

#[test]
fn backoff_grows_and_is_capped() {
    let policy = RetryPolicy::default();
    for attempt in 0..10 {
        let delay = policy.backoff(attempt);
        assert!(delay <= policy.max_delay, "{delay:?}");
    }
    assert!(policy.backoff(0) <= Duration::from_millis(500));
}
