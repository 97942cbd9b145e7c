//! The `GET /api/whoami-v2` answer (docs/protocol.md §3.4): who the token belongs to and what it
//! may do. Every field is optional or defaulted: the schema grows, and a missing field must not
//! turn a valid token into an error.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct WhoAmI {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub fullname: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub orgs: Vec<OrgInfo>,
    #[serde(default)]
    pub auth: AuthInfo,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OrgInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "roleInOrg")]
    pub role_in_org: Option<String>,
    /// "for accessing data in this org with current authentication method": `mfa`, `sso`, `ip`,
    /// `token-policy`, `token-revoked`.
    #[serde(default, rename = "securityRestrictions")]
    pub security_restrictions: Vec<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AuthInfo {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, rename = "accessToken")]
    pub access_token: Option<AccessToken>,
    #[serde(default, rename = "expiresAt")]
    pub expires_at: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AccessToken {
    #[serde(default, rename = "displayName")]
    pub display_name: Option<String>,
    /// `read`, `write`, `fineGrained` (or `god` for staff).
    #[serde(default)]
    pub role: String,
    #[serde(default, rename = "createdAt")]
    pub created_at: Option<String>,
    #[serde(default, rename = "fineGrained")]
    pub fine_grained: Option<FineGrained>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct FineGrained {
    /// "Read access to contents of all public gated repos you can access".
    #[serde(default, rename = "canReadGatedRepos")]
    pub can_read_gated_repos: bool,
    #[serde(default)]
    pub global: Vec<String>,
    #[serde(default)]
    pub scoped: Vec<ScopedPermission>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ScopedPermission {
    pub entity: Entity,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Entity {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// Permissions that let a fine-grained token read repository contents (docs/protocol.md §3.4: `repo.content.read`
/// on the owning user/org/repo; write implies read).
pub const CONTENT_READ_PERMISSIONS: &[&str] = &["repo.content.read", "repo.write"];

impl WhoAmI {
    pub fn token_name(&self) -> Option<&str> {
        self.auth
            .access_token
            .as_ref()
            .and_then(|t| t.display_name.as_deref())
    }

    pub fn role(&self) -> Option<&str> {
        self.auth.access_token.as_ref().map(|t| t.role.as_str())
    }

    pub fn fine_grained(&self) -> Option<&FineGrained> {
        self.auth
            .access_token
            .as_ref()
            .filter(|t| t.role == "fineGrained")
            .and_then(|t| t.fine_grained.as_ref())
    }

    pub fn org(&self, name: &str) -> Option<&OrgInfo> {
        self.orgs
            .iter()
            .find(|org| org.name.eq_ignore_ascii_case(name))
    }

    /// Whether a fine-grained token is scoped to read the contents of `owner/…` (or of the repo
    /// itself). Classic tokens always may; `None` means "no token information".
    pub fn can_read_contents_of(&self, owner: &str, repo_id: &str) -> Option<bool> {
        let access = self.auth.access_token.as_ref()?;
        if access.role != "fineGrained" {
            return Some(true);
        }
        let Some(fine) = access.fine_grained.as_ref() else {
            return Some(false);
        };
        Some(fine.scoped.iter().any(|scope| {
            let matches_entity = match scope.entity.kind.as_str() {
                "user" | "org" => scope.entity.name.eq_ignore_ascii_case(owner),
                "model" | "dataset" | "space" => scope.entity.name.eq_ignore_ascii_case(repo_id),
                _ => false,
            };
            matches_entity
                && scope
                    .permissions
                    .iter()
                    .any(|p| CONTENT_READ_PERMISSIONS.contains(&p.as_str()))
        }))
    }
}

#[cfg(test)]
mod tests;
