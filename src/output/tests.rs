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

/// Found in review at stop 19: every URL was re-serialised, so a sentence ending in one
/// (the mirror-upstream hint) told the user `HF_ENDPOINT=https://huggingface.co./`, and a bare
/// origin gained a slash.
#[test]
fn urls_with_nothing_to_hide_are_left_as_written() {
    for text in [
        "bypass the mirror with HF_ENDPOINT=https://huggingface.co.",
        "could not reach http://127.0.0.1:8080: connection refused",
        "the host http://mirror.example, then https://hf.co/api",
        "a user without a password: http://user@mirror:8080/x",
    ] {
        assert_eq!(redact_urls(text), text);
    }
    assert_eq!(
        redact_urls("at https://u:p@h.example?sig=1."),
        "at https://u:****@h.example"
    );
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

/// Error lines wrap at the terminal's width, by display width, continuation
/// lines under the message.
#[test]
fn wrapping_respects_display_width_and_indentation() {
    let text = "error: Could not create the folder /tmp/ld: Permission denied. Choose another --local-dir.";
    let wrapped = wrap(text, 40, 7);
    assert!(
        wrapped.lines().all(|l| l.chars().count() <= 40),
        "{wrapped}"
    );
    assert!(
        wrapped.lines().skip(1).all(|l| l.starts_with("       ")),
        "{wrapped}"
    );
    assert_eq!(
        wrapped.split_whitespace().collect::<Vec<_>>(),
        text.split_whitespace().collect::<Vec<_>>()
    );
    // Two columns per CJK character.
    let cjk = wrap("模型 模型 模型 模型", 10, 0);
    assert_eq!(cjk, "模型 模型\n模型 模型");
    // Existing lines keep their indentation.
    assert_eq!(wrap("a\n  Hub says: b c", 8, 0), "a\n  Hub\n  says:\n  b c");
}

#[test]
fn counts_take_the_number_of_their_noun() {
    assert_eq!(counted(1u64, "repo"), "1 repo");
    assert_eq!(counted(0u64, "repo"), "0 repos");
    assert_eq!(counted(2u64, "detached revision"), "2 detached revisions");
    assert_eq!(is_are(1u64), "is");
    assert_eq!(is_are(3u64), "are");
}
