use super::*;
use reqwest::header::HeaderValue;

#[test]
fn encoding_matches_python_quote() {
    assert_eq!(encode_component("refs/pr/1"), "refs%2Fpr%2F1");
    assert_eq!(encode_path("dir/a b+c.json"), "dir/a%20b%2Bc.json");
    assert_eq!(encode_path("ünï"), "%C3%BCn%C3%AF");
}

#[test]
fn link_header_next() {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::LINK,
        HeaderValue::from_static("<https://hub/api/models/a/b/tree/main?cursor=xyz>; rel=\"next\""),
    );
    assert_eq!(
        next_link(&headers).unwrap().as_str(),
        "https://hub/api/models/a/b/tree/main?cursor=xyz"
    );
    assert!(next_link(&HeaderMap::new()).is_none());
}

#[test]
fn gate_values() {
    let info: RepoInfo =
        serde_json::from_str(r#"{"id":"a/b","gated":"manual","private":false}"#).unwrap();
    assert_eq!(info.gated, Gate::Manual);
    let info: RepoInfo = serde_json::from_str(r#"{"id":"a/b","gated":false}"#).unwrap();
    assert_eq!(info.gated, Gate::None);
}
