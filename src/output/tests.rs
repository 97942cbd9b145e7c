use super::*;

#[test]
fn urls_in_causes_lose_their_query_and_password() {
    assert_eq!(
        redact_urls(
            "error sending request for url (https://cdn.example/blob?X-Amz-Signature=abc&t=1): boom"
        ),
        "error sending request for url (https://cdn.example/blob): boom"
    );
    assert_eq!(
        redact_urls("to http://user:secret@mirror:8080/api/models/x and back"),
        "to http://user:****@mirror:8080/api/models/x and back"
    );
    assert_eq!(redact_urls("no url here"), "no url here");
}

#[derive(Debug, thiserror::Error)]
#[error("outer failed: {0}")]
struct Outer(#[source] Middle);

#[derive(Debug, thiserror::Error)]
#[error("middle")]
struct Middle(#[source] std::io::Error);

#[test]
fn the_chain_skips_links_the_line_above_already_says() {
    let error = Outer(Middle(std::io::Error::other("disk on fire")));
    assert_eq!(causes(&error), vec!["disk on fire".to_string()]);
}
