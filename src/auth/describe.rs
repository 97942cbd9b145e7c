//! How a token reads to people: its role in a sentence, and what a fine-grained token may do.
//! `whoami`, `login` and `auth list` all say it the same way.

use crate::hub::whoami::WhoAmI;

/// The token's name, role and, for fine-grained tokens, what it may do: as `whoami` and `login` show it.
pub fn describe_token(who: &WhoAmI) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(fine) = who.fine_grained() {
        lines.push(format!(
            "  gated repos: {}",
            if fine.can_read_gated_repos {
                "yes"
            } else {
                "no"
            }
        ));
        lines.push(format!(
            "  global permissions: {}",
            if fine.global.is_empty() {
                "none".to_string()
            } else {
                fine.global.join(", ")
            }
        ));
        if fine.scoped.is_empty() {
            lines.push(
                "  scoped to: nothing (this token cannot read any private repository)".to_string(),
            );
        } else {
            lines.push("  scoped to:".to_string());
            for scope in &fine.scoped {
                lines.push(format!(
                    "    {} {}: {}",
                    scope.entity.kind,
                    scope.entity.name,
                    if scope.permissions.is_empty() {
                        "no permissions".to_string()
                    } else {
                        scope.permissions.join(", ")
                    }
                ));
            }
        }
    }
    lines
}

/// `read`, `write`, `fine-grained`: how the role reads in a sentence (and in `auth list`).
pub fn role_label(role: Option<&str>) -> String {
    match role {
        Some("fineGrained") => "fine-grained".to_string(),
        Some("") | None => "unknown role".to_string(),
        Some(other) => other.to_string(),
    }
}
