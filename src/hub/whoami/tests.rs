use super::*;

#[test]
fn parses_the_documented_schema_and_reads_scopes() {
    let json = r#"{"type":"user","name":"alice","orgs":[{"name":"acme","roleInOrg":"admin","securityRestrictions":["sso"]}],
        "auth":{"type":"access_token","accessToken":{"displayName":"fg","role":"fineGrained",
        "fineGrained":{"canReadGatedRepos":false,"global":["discussion.write"],
        "scoped":[{"entity":{"_id":"x","type":"org","name":"acme"},"permissions":["repo.content.read"]}]}}}}"#;
    let who: WhoAmI = serde_json::from_str(json).unwrap();
    assert_eq!(who.name, "alice");
    assert_eq!(who.token_name(), Some("fg"));
    assert!(!who.fine_grained().unwrap().can_read_gated_repos);
    assert_eq!(who.can_read_contents_of("acme", "acme/x"), Some(true));
    assert_eq!(who.can_read_contents_of("other", "other/x"), Some(false));
    assert_eq!(who.org("ACME").unwrap().security_restrictions, vec!["sso"]);
}
