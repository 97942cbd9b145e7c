use super::*;
use crate::cache::UnsafePath;
use crate::hub::HubErrorKind;

fn unsafe_path() -> UnsafePath {
    UnsafePath {
        name: "../escape".to_string(),
        reason: "it leaves the folder",
    }
}

/// An unsafe name is one failure (the listing's), whichever layer caught it.
#[test]
fn an_unsafe_path_has_one_exit_code_and_one_cause() {
    let errors = [
        Error::from(DownloadError::UnsafePath(unsafe_path())),
        Error::from(DownloadError::Cache(CacheError::UnsafePath(unsafe_path()))),
        Error::Cache(CacheError::UnsafePath(unsafe_path())),
    ];
    for error in &errors {
        assert_eq!(error.exit_code(), exit::INTEGRITY, "{error:?}");
        assert_eq!(error.classify().cause, "unsafe_listing", "{error:?}");
    }
}

/// A token that cannot be a header value is a token problem, and a client that
/// cannot be built is not "the Hub's answers look wrong" (exit 8).
#[test]
fn local_client_failures_are_not_protocol_errors() {
    let token = Error::from(HubError::new(HubErrorKind::TokenNotSendable));
    assert_eq!(token.exit_code(), exit::TOKEN);
    assert!(!token.to_string().contains("does not look like the Hub"));
    let client = Error::from(HubError::new(HubErrorKind::ClientSetup("no TLS".into())));
    assert_eq!(client.exit_code(), exit::FAILURE);
    assert!(
        client
            .to_string()
            .contains("could not set up the HTTP client")
    );
}

#[test]
fn a_refused_command_line_keeps_the_whole_message_in_json() {
    let rendered = "error: the following required arguments were not provided:\n  <REPO_ID>\n\n\
                    Usage: hfget download --json <REPO_ID> [FILES]...\n\n\
                    For more information, try '--help'.\n";
    assert_eq!(
        Error::usage_from_clap(rendered).to_string(),
        "the following required arguments were not provided: <REPO_ID>"
    );
    let one_line = "error: unexpected argument '--nope' found\n\n  tip: to pass '--nope' as a value, use '-- --nope'\n\nUsage: hfget download <REPO_ID>\n";
    assert_eq!(
        Error::usage_from_clap(one_line).to_string(),
        "unexpected argument '--nope' found; tip: to pass '--nope' as a value, use '-- --nope'"
    );
}
