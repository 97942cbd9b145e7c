use serde_json::json;

use super::*;

#[test]
fn a_token_answer_with_every_field() {
    let grant = TokenGrant::from_json(&json!({
        "access_token": "hf_oauth_a",
        "refresh_token": "hf_oauth_refresh_r",
        "expires_in": 3600,
        "token_type": "bearer",
        "scope": " openid  profile ",
    }))
    .unwrap();
    assert_eq!(grant.access_token.secret(), "hf_oauth_a");
    assert_eq!(grant.refresh_token.unwrap().secret(), "hf_oauth_refresh_r");
    assert_eq!(grant.expires_in, Some(3600));
    assert_eq!(grant.scope.as_deref(), Some("openid  profile"));
}

#[test]
fn a_token_answer_with_only_the_access_token_or_none() {
    let grant =
        TokenGrant::from_json(&json!({"access_token": "hf_x", "expires_in": "60"})).unwrap();
    assert!(grant.refresh_token.is_none() && grant.scope.is_none());
    assert_eq!(grant.expires_in, Some(60));
    assert!(TokenGrant::from_json(&json!({"error": "authorization_pending"})).is_none());
    assert!(TokenGrant::from_json(&json!({"access_token": "  "})).is_none());
}

#[test]
fn refusal_messages_say_what_to_do_and_map_to_the_token_family() {
    let refused = OAuthError::RefreshRefused {
        name: "oauth-alice".into(),
        code: "invalid_grant".into(),
        description: Some("revoked".into()),
    };
    assert_eq!(
        refused.to_string(),
        "The browser login `oauth-alice` expired and could not be renewed (invalid_grant: revoked). Run `hfget login --web` to log in again."
    );
    assert!(refused.needs_new_login());
    assert_eq!(refused.classify().code, exit::TOKEN);
    assert_eq!(OAuthError::Denied.classify().code, exit::TOKEN);
    assert!(!OAuthError::Denied.needs_new_login());
}
