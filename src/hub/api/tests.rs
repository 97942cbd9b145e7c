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

#[test]
fn masked_hashes_are_recognised_and_refuse_the_listing() {
    // huggingface_hub PR #4595: `"xetHash": "****…"` (64 asterisks); a report: `lfs.oid` too.
    let stars = "*".repeat(64);
    let entry = |xet: Option<&str>, lfs: Option<&str>| TreeEntry {
        kind: "file".into(),
        path: "model.safetensors".into(),
        oid: "a".repeat(40),
        size: 1,
        lfs: lfs.map(|oid| LfsInfo {
            oid: oid.into(),
            size: 1,
        }),
        xet_hash: xet.map(str::to_string),
    };
    let real = "b".repeat(64);
    assert!(!entry(Some(&real), Some(&real)).has_masked_hash());
    assert!(entry(Some(&stars), Some(&real)).has_masked_hash());
    assert!(entry(Some(&stars), Some(&stars)).has_masked_hash());
    assert!(entry(None, Some(&stars)).has_masked_hash());
    let error = refuse_masked(&[entry(Some(&stars), None)], "listing").unwrap_err();
    assert!(matches!(error.kind, HubErrorKind::ContentHidden { .. }));
    assert!(
        error.is_access_problem(),
        "the download asks the doctor why"
    );
}
