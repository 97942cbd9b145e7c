use super::*;

fn response(status: u16, code: Option<&str>, message: Option<&str>) -> ErrorResponse {
    ErrorResponse {
        status,
        url: "http://hub/x".into(),
        error_code: code.map(str::to_string),
        error_message: message.map(str::to_string),
        from_endpoint: true,
        ..ErrorResponse::default()
    }
}

#[test]
fn classification_prefers_codes_over_wording() {
    let cases = [
        (
            response(404, Some("RevisionNotFound"), Some("Invalid rev id: x")),
            HubErrorKind::RevisionNotFound,
        ),
        (
            response(404, Some("EntryNotFound"), None),
            HubErrorKind::EntryNotFound,
        ),
        (
            response(401, Some("GatedRepo"), Some("some brand-new wording")),
            HubErrorKind::GatedRepo,
        ),
        (
            response(403, Some("GatedRepo"), None),
            HubErrorKind::GatedRepo,
        ),
        (
            response(404, Some("RepoNotFound"), Some("Repository not found")),
            HubErrorKind::RepoNotFound,
        ),
        (
            response(403, None, Some("Access to this resource is disabled.")),
            HubErrorKind::RepoDisabled,
        ),
        (
            response(
                401,
                None,
                Some("Invalid credentials in Authorization header"),
            ),
            HubErrorKind::InvalidToken,
        ),
        (
            response(401, None, Some("Invalid username or password.")),
            HubErrorKind::AuthenticationRequired,
        ),
        (
            response(401, None, None),
            HubErrorKind::AuthenticationRequired,
        ),
        (
            response(
                403,
                None,
                Some(
                    "Please enable access to public gated repositories in your fine-grained token settings to view this repository.",
                ),
            ),
            HubErrorKind::Forbidden,
        ),
        (response(429, None, None), HubErrorKind::RateLimited),
        (response(503, None, None), HubErrorKind::ServerError),
        (response(418, None, None), HubErrorKind::UnexpectedStatus),
    ];
    for (response, expected) in cases {
        assert_eq!(classify(&response), expected, "{response:?}");
    }
}

#[test]
fn a_cdn_404_is_the_storage_s_never_the_repository_s() {
    let mut cdn = response(404, None, Some("The specified key does not exist."));
    cdn.from_endpoint = false;
    assert_eq!(classify(&cdn), HubErrorKind::StorageNotFound);
    // The Hub's own 404s keep their meaning, and so does a code from wherever it comes.
    assert_eq!(
        classify(&response(404, None, None)),
        HubErrorKind::RepoNotFound
    );
    let mut coded = response(404, Some("EntryNotFound"), None);
    coded.from_endpoint = false;
    assert_eq!(classify(&coded), HubErrorKind::EntryNotFound);
}

#[test]
fn a_cdn_403_is_never_an_auth_problem() {
    let mut cdn = response(403, None, Some("Access Denied"));
    cdn.from_endpoint = false;
    assert_eq!(classify(&cdn), HubErrorKind::SignedUrlRejected);
}

#[test]
fn retry_after_prefers_exhausted_ratelimit() {
    assert_eq!(
        retry_after_secs(Some("\"api\";r=0;t=42"), Some("7")),
        Some(42)
    );
    assert_eq!(
        retry_after_secs(Some("\"api\";r=10;t=42"), Some("7")),
        Some(7)
    );
    assert_eq!(retry_after_secs(None, Some(" 3 ")), Some(3));
    assert_eq!(
        retry_after_secs(None, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
        None
    );
}

#[test]
fn a_mirrors_proxy_timeout_is_not_called_a_hub_server_error() {
    // olah 0.5.4 `error_proxy_timeout` (docs/real-hub.md §5).
    let error = HubError::from_response(response(504, Some("ProxyTimeout"), Some("Proxy Timeout")));
    assert_eq!(error.kind, HubErrorKind::ServerError);
    let text = error.to_string();
    assert!(text.contains("cannot reach the Hub"), "{text}");
    assert!(!text.contains("the Hub had a server error"), "{text}");
}

/// A 401 to a request that carried a token is the token's fault in either
/// wording the Hub uses, never "log in".
#[test]
fn a_401_to_a_sent_token_is_an_invalid_token_in_any_wording() {
    for message in [
        "Invalid username or password.",
        "Invalid credentials in Authorization header",
        "something else entirely",
    ] {
        let response = |token_sent| ErrorResponse {
            status: 401,
            error_message: Some(message.to_string()),
            from_endpoint: true,
            token_sent,
            ..ErrorResponse::default()
        };
        assert_eq!(
            classify(&response(true)),
            HubErrorKind::InvalidToken,
            "{message}"
        );
    }
    let anonymous = ErrorResponse {
        status: 401,
        error_message: Some("Invalid username or password.".to_string()),
        from_endpoint: true,
        ..ErrorResponse::default()
    };
    assert_eq!(classify(&anonymous), HubErrorKind::AuthenticationRequired);
}
