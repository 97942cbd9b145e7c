//! The doctor's human report: a verdict line, one line per piece of evidence, the layer at
//! fault, then numbered fix steps.

use super::evidence::{Evidence, TokenEvidence};
use super::{Cause, Diagnosis};
use crate::hub::Gate;

pub fn human(diagnosis: &Diagnosis) -> String {
    let mut out = String::new();
    let mark = if diagnosis.cause == Cause::Ok {
        "✓"
    } else {
        "✗"
    };
    out.push_str(&format!("{mark} {}\n\n", diagnosis.summary));
    for (label, value) in evidence_lines(&diagnosis.evidence) {
        out.push_str(&format!("  {label:<11} {value}\n"));
    }
    for note in &diagnosis.notes {
        out.push_str(&format!("  {:<11} {note}\n", "note"));
    }
    out.push('\n');
    // The same word as the `layer` field of --json.
    let layer = diagnosis.layer.id();
    out.push_str(&format!(
        "  cause       {} (layer: {layer})\n",
        diagnosis.cause.id()
    ));
    out.push_str(&format!("  {}\n", diagnosis.explanation));
    if !diagnosis.fix.is_empty() {
        out.push_str(if diagnosis.cause == Cause::Ok {
            "\nNext:\n"
        } else {
            "\nFix:\n"
        });
        for (number, step) in diagnosis.fix.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", number + 1));
        }
    }
    out
}

fn evidence_lines(evidence: &Evidence) -> Vec<(&'static str, String)> {
    let mut lines = vec![("endpoint", evidence.endpoint.clone())];
    match &evidence.token {
        Some(token) => {
            lines.push((
                "token",
                format!("{} from {}", token.masked, token.source_description),
            ));
            lines.extend(whoami_lines(token));
        }
        None if evidence.implicit_token_disabled => lines.push((
            "token",
            "none sent (HF_HUB_DISABLE_IMPLICIT_TOKEN is set)".to_string(),
        )),
        None => lines.push(("token", "none (anonymous)".to_string())),
    }
    for other in &evidence.other_tokens {
        let state = match (other.is_valid(), other.can_access_repo) {
            _ if !other.was_checked() => {
                "a different token (not checked: the one in use works)".to_string()
            }
            (false, _) => "rejected by the Hub".to_string(),
            (true, Some(true)) => format!("valid ({}), can read this repository", user_of(other)),
            (true, Some(false)) => format!(
                "valid ({}), cannot read this repository either",
                user_of(other)
            ),
            (true, None) => format!("valid ({})", user_of(other)),
        };
        lines.push((
            "also",
            format!("{} in {}: {state}", other.masked, other.source_description),
        ));
    }
    let kind = evidence.repo_type.map(|t| t.label()).unwrap_or("model");
    match &evidence.repo {
        Some(repo) => {
            let gate = match repo.gated {
                Gate::None => "not gated",
                Gate::Auto => "gated (automatic approval)",
                Gate::Manual => "gated (manual approval)",
            };
            let mut text = format!(
                "{kind} {} · {} · {gate}{}",
                evidence.repo_id,
                if repo.private { "private" } else { "public" },
                if repo.disabled { " · disabled" } else { "" }
            );
            if let Some(canonical) = &repo.canonical_id {
                text.push_str(&format!(" · now named {canonical}"));
            }
            if let Some(sha) = &repo.sha {
                text.push_str(&format!(" · main at {}", &sha[..sha.len().min(7)]));
            }
            lines.push(("repo", text));
        }
        None => lines.push((
            "repo",
            format!(
                "{kind} {}: {}",
                evidence.repo_id,
                evidence.repo_info.summary()
            ),
        )),
    }
    if !evidence.other_types.is_empty() {
        let types: Vec<&str> = evidence.other_types.iter().map(|t| t.label()).collect();
        lines.push((
            "other type",
            format!("{} exists as a {}", evidence.repo_id, types.join(" and a ")),
        ));
    }
    if let Some(probe) = &evidence.revision_probe {
        lines.push((
            "revision",
            format!("{}: {}", evidence.revision, probe.summary()),
        ));
    }
    if !evidence.branches.is_empty() || !evidence.tags.is_empty() {
        lines.push((
            "refs",
            format!(
                "branches: {}; tags: {}",
                join_or_none(&evidence.branches),
                join_or_none(&evidence.tags)
            ),
        ));
    }
    if let Some(reason) = &evidence.refs_unreadable {
        lines.push(("refs", format!("could not be listed: {reason}")));
    }
    if let Some(probe) = &evidence.auth_check {
        lines.push(("auth-check", probe.summary()));
    }
    if let Some(probe) = &evidence.file_probe {
        lines.push(("file", format!("{}: {}", probe.what, probe.summary())));
    }
    if !evidence.closest_files.is_empty() {
        lines.push(("similar", evidence.closest_files.join(", ")));
    }
    lines
}

fn whoami_lines(token: &TokenEvidence) -> Vec<(&'static str, String)> {
    let Some(who) = &token.whoami else {
        return vec![("whoami", token.whoami_probe.summary())];
    };
    let mut lines = Vec::new();
    let orgs: Vec<String> = who
        .orgs
        .iter()
        .map(|org| {
            let mut text = org.name.clone();
            let mut notes = Vec::new();
            if let Some(role) = &org.role_in_org {
                notes.push(role.clone());
            }
            if !org.security_restrictions.is_empty() {
                notes.push(format!(
                    "restrictions: {}",
                    org.security_restrictions.join(", ")
                ));
            }
            if !notes.is_empty() {
                text.push_str(&format!(" ({})", notes.join("; ")));
            }
            text
        })
        .collect();
    lines.push((
        "account",
        format!(
            "{}{}",
            who.name,
            if orgs.is_empty() {
                String::new()
            } else {
                format!(" · orgs: {}", orgs.join(", "))
            }
        ),
    ));
    let name = who
        .token_name()
        .map(|n| format!("`{n}`, "))
        .unwrap_or_default();
    let role = who.role().unwrap_or("unknown");
    let mut text = format!("{name}role {role}");
    if let Some(fine) = who.fine_grained() {
        text.push_str(&format!(
            " · gated repos: {} · global: {} · scoped: {}",
            if fine.can_read_gated_repos {
                "yes"
            } else {
                "no"
            },
            join_or_none(&fine.global),
            if fine.scoped.is_empty() {
                "none".to_string()
            } else {
                fine.scoped
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} → {}",
                            s.entity.kind,
                            s.entity.name,
                            s.permissions.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        ));
    }
    if let Some(expires) = &who.auth.expires_at {
        text.push_str(&format!(" · expires {expires}"));
    }
    lines.push(("token info", text));
    lines
}

fn user_of(token: &TokenEvidence) -> String {
    token
        .whoami
        .as_ref()
        .map(|w| w.name.clone())
        .unwrap_or_default()
}

fn join_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
