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

/// docs/exit-codes.md is written from the classification: the cause of every error below is
/// listed there under the error's exit code. A new cause, or a cause moved to another family,
/// fails here until the document says so.
#[test]
fn docs_list_each_cause_under_its_exit_code() {
    use crate::auth::oauth::OAuthError;
    use crate::auth::oidc::OidcError;
    use crate::cache::scan::InventoryError;
    use crate::hub::error::NetworkErrorKind;

    let doc = include_str!("../../docs/exit-codes.md");
    let mut listed: Vec<(u8, String)> = Vec::new();
    for section in doc.split("\n### ").skip(1) {
        let Some((codes, body)) = section.split_once(':') else {
            continue;
        };
        let body = body.split("\n## ").next().unwrap_or_default();
        for code in codes.split(", ") {
            let code: u8 = code.trim().parse().expect("a section names exit codes");
            for row in body.lines().filter(|l| l.starts_with("| `")) {
                let cause = row.trim_start_matches("| `").split('`').next().unwrap();
                listed.push((code, cause.to_string()));
            }
        }
    }
    let hub = |kind| Error::from(HubError::new(kind));
    let errors = vec![
        Error::Usage("x".into()),
        Error::Interrupted,
        Error::Stopped(crate::signal::StopSignal::Terminate),
        Error::Stopped(crate::signal::StopSignal::Hangup),
        Error::Internal("x".into()),
        Error::Output(std::io::Error::other("x")),
        Error::from(DownloadError::Task("x".into())),
        Error::from(DownloadError::UnsafePath(unsafe_path())),
        Error::Cache(CacheError::UnsafePath(unsafe_path())),
        Error::Inventory(InventoryError::NotCached("x".into())),
        Error::Inventory(InventoryError::Interrupted),
        hub(HubErrorKind::RepoNotFound),
        hub(HubErrorKind::AuthenticationRequired),
        hub(HubErrorKind::RevisionNotFound),
        hub(HubErrorKind::EntryNotFound),
        hub(HubErrorKind::GatedRepo),
        hub(HubErrorKind::RepoDisabled),
        hub(HubErrorKind::InvalidToken),
        hub(HubErrorKind::Forbidden),
        hub(HubErrorKind::SignedUrlRejected),
        hub(HubErrorKind::StorageNotFound),
        hub(HubErrorKind::RateLimited),
        hub(HubErrorKind::ServerError),
        hub(HubErrorKind::UnexpectedStatus),
        hub(HubErrorKind::Network(NetworkErrorKind::Dns)),
        hub(HubErrorKind::Network(NetworkErrorKind::ProxyUnreachable)),
        hub(HubErrorKind::ProxyAuth),
        hub(HubErrorKind::Protocol("x".into())),
        hub(HubErrorKind::ContentHidden { path: "x".into() }),
        hub(HubErrorKind::TokenNotSendable),
        hub(HubErrorKind::ClientSetup("x".into())),
        hub(HubErrorKind::Offline),
        hub(HubErrorKind::BadEndpoint("x".into())),
        Error::Auth(AuthError::NoToken {
            token_path: "x".into(),
            endpoint: "x".into(),
        }),
        Error::Auth(AuthError::EmptyToken),
        Error::Auth(AuthError::LoginInterrupted),
        Error::Auth(AuthError::Offline {
            command: "whoami",
            purpose: "x",
        }),
        Error::Auth(AuthError::AmbiguousLogin { name: "x".into() }),
        Error::Auth(AuthError::OAuth(OAuthError::Denied)),
        Error::Auth(AuthError::OAuth(OAuthError::Expired { minutes: 1 })),
        Error::Auth(AuthError::OAuth(OAuthError::Refused {
            code: "x".into(),
            description: None,
        })),
        Error::Auth(AuthError::OAuth(OAuthError::RefreshRefused {
            name: "x".into(),
            code: "x".into(),
            description: None,
        })),
        Error::Auth(AuthError::Oidc(OidcError::NoProvider)),
    ];
    for error in &errors {
        let class = error.classify();
        assert!(
            listed.contains(&(class.code, class.cause.to_string())),
            "docs/exit-codes.md does not list `{}` under exit {} ({error:?})",
            class.cause,
            class.code
        );
    }
}
