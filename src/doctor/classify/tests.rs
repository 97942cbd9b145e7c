use super::*;
use crate::doctor::evidence::{RepoFlags, TokenEvidence};
use crate::hub::Gate;
use crate::hub::whoami::WhoAmI;

fn probe(status: u16, code: Option<&str>, message: &str) -> Probe {
    Probe {
        what: "auth-check".into(),
        status: Some(status),
        error_code: code.map(str::to_string),
        error_message: Some(message.to_string()).filter(|m| !m.is_empty()),
        ..Probe::default()
    }
}

fn ok() -> Probe {
    probe(200, None, "")
}

fn whoami(json: &str) -> WhoAmI {
    serde_json::from_str(json).unwrap()
}

fn classic(source: &str) -> TokenEvidence {
    TokenEvidence {
        source: source.into(),
        source_description: source.into(),
        masked: "hf_…0001".into(),
        whoami_probe: ok(),
        whoami: Some(whoami(
            r#"{"name":"alice","orgs":[{"name":"acme"}],"auth":{"accessToken":{"displayName":"laptop","role":"read"}}}"#,
        )),
        can_access_repo: None,
    }
}

fn fine(can_read_gated: bool, scoped_to: &str) -> TokenEvidence {
    let json = format!(
        r#"{{"name":"alice","orgs":[{{"name":"acme"}}],"auth":{{"accessToken":{{"displayName":"fg","role":"fineGrained","fineGrained":{{"canReadGatedRepos":{can_read_gated},"global":[],"scoped":[{{"entity":{{"type":"org","name":"{scoped_to}"}},"permissions":["repo.content.read"]}}]}}}}}}}}"#
    );
    TokenEvidence {
        whoami: Some(whoami(&json)),
        ..classic("keyring")
    }
}

fn gated_evidence(token: Option<TokenEvidence>, auth_check: Probe) -> Evidence {
    Evidence {
        repo_id: "meta/gated".into(),
        revision: "main".into(),
        token,
        repo_info: ok(),
        repo: Some(RepoFlags {
            gated: Gate::Manual,
            ..RepoFlags::default()
        }),
        auth_check: Some(auth_check),
        ..Evidence::default()
    }
}

#[test]
fn gated_states_today_and_in_older_wordings() {
    let today = [
        (
            "Access to model meta/gated is restricted and you are not in the authorized list. Visit https://huggingface.co/meta/gated to ask for access.",
            Cause::GatedAccessNotRequested,
        ),
        (
            "Your request to access model meta/gated is awaiting a review from the repo authors.",
            Cause::GatedAccessPending,
        ),
        (
            "Your request to access model meta/gated has been rejected by the repo's authors.",
            Cause::GatedAccessRejected,
        ),
        (
            "Your request to access model meta/gated has been reset by the repo's authors. Visit https://huggingface.co/meta/gated to submit a new request.",
            Cause::GatedAccessNotRequested,
        ),
        // Older web wording and invented future wordings still land in the right family.
        (
            "Your request to access this repo has been successfully submitted, and is pending a review from the repo's authors.",
            Cause::GatedAccessPending,
        ),
        (
            "Access request declined by the maintainers.",
            Cause::GatedAccessRejected,
        ),
        (
            "Some completely new sentence about this gate.",
            Cause::GatedAccessNotRequested,
        ),
        ("", Cause::GatedAccessNotRequested),
    ];
    for (message, expected) in today {
        let evidence = gated_evidence(
            Some(classic("file")),
            probe(403, Some("GatedRepo"), message),
        );
        assert_eq!(classify(&evidence), expected, "{message}");
        assert_eq!(expected.layer(), Layer::Account);
    }
}

#[test]
fn anonymous_gate_is_a_missing_token_in_any_wording() {
    for message in [
        "Access to model meta/gated is restricted. You must have access to it and be authenticated to access it. Please log in.",
        "Access to model briaai/RMBG-1.4 is restricted. You must be authenticated to access it.",
        "Repo model meta-llama/Llama-2-7b is gated. You must be authenticated to access it.",
    ] {
        let evidence = gated_evidence(None, probe(401, Some("GatedRepo"), message));
        assert_eq!(classify(&evidence), Cause::NoToken, "{message}");
    }
}

#[test]
fn fine_grained_gated_permission_is_a_token_problem_whatever_the_message() {
    for message in [
        "Please enable access to public gated repositories in your fine-grained token settings to view this repository.",
        "Forbidden",
        "",
    ] {
        let evidence = gated_evidence(Some(fine(false, "acme")), probe(403, None, message));
        assert_eq!(
            classify(&evidence),
            Cause::TokenGatedScopeMissing,
            "{message}"
        );
    }
}

#[test]
fn fine_grained_token_without_scope_on_a_private_repo_of_its_org() {
    let evidence = Evidence {
        repo_id: "acme/secret".into(),
        token: Some(fine(true, "other-org")),
        repo_info: probe(404, Some("RepoNotFound"), "Repository not found"),
        ..Evidence::default()
    };
    assert_eq!(classify(&evidence), Cause::TokenRepoScopeMissing);
    // The same answer for a repo of a stranger is just "not found".
    let evidence = Evidence {
        repo_id: "stranger/secret".into(),
        ..evidence
    };
    assert_eq!(classify(&evidence), Cause::RepoNotFound);
}

#[test]
fn invalid_env_token_shadowing_a_working_login() {
    let mut bad = classic("env:HF_TOKEN");
    bad.whoami = None;
    bad.whoami_probe = probe(401, None, "Invalid credentials in Authorization header");
    let mut good = classic("keyring");
    good.can_access_repo = Some(true);
    let evidence = Evidence {
        token: Some(bad.clone()),
        other_tokens: vec![good],
        repo_info: probe(401, None, "Invalid credentials in Authorization header"),
        ..Evidence::default()
    };
    assert_eq!(classify(&evidence), Cause::EnvTokenShadowsLogin);
    let alone = Evidence {
        other_tokens: vec![],
        ..evidence
    };
    assert_eq!(classify(&alone), Cause::InvalidToken);
}

#[test]
fn other_families() {
    let base = Evidence {
        repo_id: "acme/x".into(),
        repo_info: ok(),
        ..Evidence::default()
    };
    let with = |f: &dyn Fn(&mut Evidence)| {
        let mut e = base.clone();
        f(&mut e);
        classify(&e)
    };
    assert_eq!(with(&|_| {}), Cause::Ok);
    assert_eq!(
        with(&|e| e.repo_info = probe(403, None, "Access to this resource is disabled.")),
        Cause::RepoDisabled
    );
    assert_eq!(
        with(&|e| {
            e.repo_info = probe(401, None, "Invalid username or password.");
            e.other_types = vec![crate::hub::RepoType::Dataset];
        }),
        Cause::WrongRepoType
    );
    assert_eq!(
        with(&|e| e.repo_info = probe(401, None, "Invalid username or password.")),
        Cause::RepoNotFound
    );
    assert_eq!(
        with(
            &|e| e.revision_probe = Some(probe(404, Some("RevisionNotFound"), "Invalid rev id: x"))
        ),
        Cause::RevisionNotFound
    );
    assert_eq!(
        with(&|e| {
            e.file = Some("x".into());
            e.file_probe = Some(Probe {
                what: "HEAD x".into(),
                ..probe(404, Some("EntryNotFound"), "Entry not found")
            });
        }),
        Cause::FileNotFound
    );
    assert_eq!(
        with(&|e| e.repo_info = probe(429, None, "")),
        Cause::RateLimited
    );
    assert_eq!(
        with(&|e| e.repo_info = probe(503, None, "")),
        Cause::ServerError
    );
    assert_eq!(
        with(&|e| e.repo_info = Probe {
            network_error: Some("refused".into()),
            ..Probe::default()
        }),
        Cause::EndpointUnreachable
    );
    assert_eq!(
        with(&|e| {
            e.token = Some(classic("file"));
            e.auth_check = Some(probe(403, None, "SSO required"));
        }),
        Cause::OrgRestriction
    );
    assert_eq!(
        with(&|e| e.auth_check = Some(probe(401, None, "Invalid username or password."))),
        Cause::NoToken
    );
}

#[test]
fn every_cause_has_an_exit_code_in_its_family() {
    assert_eq!(Cause::Ok.exit_code(), 0);
    assert_eq!(
        Cause::GatedAccessPending.exit_code(),
        Cause::OrgRestriction.exit_code()
    );
    assert_eq!(
        Cause::TokenGatedScopeMissing.exit_code(),
        Cause::InvalidToken.exit_code()
    );
    assert_ne!(
        Cause::TokenGatedScopeMissing.exit_code(),
        Cause::GatedAccessPending.exit_code()
    );
    assert_eq!(
        Cause::FileNotFound.exit_code(),
        Cause::RepoNotFound.exit_code()
    );
}

#[test]
fn layer_words_are_the_json_names() {
    for layer in [
        Layer::Account,
        Layer::Token,
        Layer::Repo,
        Layer::Network,
        Layer::None,
    ] {
        assert_eq!(
            serde_json::to_value(layer).unwrap(),
            serde_json::Value::from(layer.id())
        );
    }
}

// --- evidence made consistent before it is classified ---

fn file_probe(status: u16, code: Option<&str>, message: &str) -> Probe {
    Probe {
        what: "HEAD config.json".into(),
        url: "http://mirror.local/meta/gated/resolve/main/config.json".into(),
        ..probe(status, code, message)
    }
}

fn olah_missing_route() -> Probe {
    Probe {
        url: "http://mirror.local/api/models/meta/gated/auth-check".into(),
        ..probe(
            404,
            Some("RepoNotFound"),
            "Sorry, we can't find the page you are looking for.",
        )
    }
}

fn mirror(mut evidence: Evidence) -> Evidence {
    evidence.endpoint = "http://mirror.local".into();
    evidence
}

#[test]
fn a_successful_content_file_wins_over_a_missing_route() {
    for token in [None, Some(classic("file")), Some(fine(true, "acme"))] {
        let mut evidence = mirror(gated_evidence(token.clone(), olah_missing_route()));
        evidence.file_probe = Some(file_probe(200, None, ""));
        assert_eq!(classify(&evidence), Cause::Ok, "{token:?}");
        let notes = crate::doctor::advice::notes(Cause::Ok, &evidence);
        assert!(
            notes[0].contains("GET /api/models/meta/gated/auth-check"),
            "{notes:?}"
        );
    }
}

#[test]
fn a_refusal_on_the_file_wins_over_a_missing_route() {
    let mut evidence = mirror(gated_evidence(Some(classic("file")), olah_missing_route()));
    evidence.file_probe = Some(file_probe(
        403,
        Some("GatedRepo"),
        "Your request to access model meta/gated is awaiting a review from the repo authors.",
    ));
    assert_eq!(classify(&evidence), Cause::GatedAccessPending);
}

#[test]
fn repo_not_found_on_a_route_of_a_repo_that_exists_is_the_endpoints_inconsistency() {
    // Fine-grained or not, never a token scope (the misreading olah once caused).
    for token in [None, Some(fine(true, "acme"))] {
        let mut evidence = gated_evidence(token, olah_missing_route());
        evidence.file_probe = Some(file_probe(
            404,
            Some("RepoNotFound"),
            "Repository not found",
        ));
        assert_eq!(classify(&evidence), Cause::EndpointInconsistent);
    }
    let mut evidence = gated_evidence(None, ok());
    evidence.revision = "refs/pr/1".into();
    evidence.revision_probe = Some(olah_missing_route());
    assert_eq!(classify(&evidence), Cause::EndpointInconsistent);
}

#[test]
fn an_offline_mirrors_401_repo_not_found_on_a_known_repo_is_not_cached() {
    let mut evidence = mirror(gated_evidence(None, olah_missing_route()));
    evidence.file_probe = Some(file_probe(
        401,
        Some("RepoNotFound"),
        "Repository not found",
    ));
    assert_eq!(classify(&evidence), Cause::NotCachedByMirror);
    // The Hub itself never answers that; there it is an inconsistency.
    evidence.endpoint = "https://huggingface.co".into();
    assert_eq!(classify(&evidence), Cause::EndpointInconsistent);
}

#[test]
fn a_mirrors_proxy_timeout_wins_over_a_bare_gateway_error() {
    let mut token = classic("file");
    token.whoami = None;
    token.whoami_probe = probe(504, None, "");
    let evidence = Evidence {
        token: Some(token),
        repo_info: probe(504, Some("ProxyTimeout"), "Proxy Timeout"),
        ..Evidence::default()
    };
    assert_eq!(classify(&evidence), Cause::MirrorUpstreamUnreachable);
    assert_eq!(Cause::MirrorUpstreamUnreachable.exit_code(), 7);
}

#[test]
fn whoami_refusing_a_sent_token_is_an_invalid_token_in_either_wording() {
    for message in [
        "Invalid credentials in Authorization header",
        "Invalid username or password.",
        "",
    ] {
        let mut token = classic("file");
        token.whoami = None;
        token.whoami_probe = probe(401, None, message);
        let evidence = Evidence {
            token: Some(token),
            repo_info: probe(401, None, message),
            ..Evidence::default()
        };
        assert_eq!(classify(&evidence), Cause::InvalidToken, "{message:?}");
    }
    // A mirror's 401 RepoNotFound on whoami says nothing about the token.
    let mut token = classic("file");
    token.whoami = None;
    token.whoami_probe = probe(401, Some("RepoNotFound"), "Repository not found");
    let evidence = Evidence {
        token: Some(token),
        repo_info: ok(),
        ..Evidence::default()
    };
    assert_eq!(classify(&evidence), Cause::Ok);
}

#[test]
fn a_masked_listing_alone_means_no_content_access() {
    let mut evidence = gated_evidence(None, olah_missing_route());
    evidence.listing_masked = Some(true);
    assert_eq!(classify(&evidence), Cause::NoToken);
    evidence.token = Some(fine(false, "acme"));
    assert_eq!(classify(&evidence), Cause::TokenGatedScopeMissing);
    evidence.token = Some(classic("file"));
    assert_eq!(classify(&evidence), Cause::GatedAccessNotRequested);
}

#[test]
fn entry_not_found_for_a_file_the_repo_info_lists_is_not_a_missing_file() {
    // olah 0.5.4 offline: `404 EntryNotFound` for a file it has not cached.
    let mut evidence = mirror(gated_evidence(None, olah_missing_route()));
    evidence.file = Some("config.json".into());
    evidence.file_probe = Some(file_probe(404, Some("EntryNotFound"), "Entry not found"));
    evidence.file_in_repo_info = Some(true);
    assert_eq!(classify(&evidence), Cause::NotCachedByMirror);
    evidence.file_in_repo_info = Some(false);
    assert_eq!(classify(&evidence), Cause::FileNotFound);
}
