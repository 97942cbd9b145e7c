use super::*;
use crate::auth::keyring::tests::mock_handle;
use crate::env::tests::MapEnvironment;

fn settings(dir: &std::path::Path) -> Settings {
    let home = dir.join("hf").to_string_lossy().to_string();
    let config = dir.join("config").to_string_lossy().to_string();
    Settings::from_env(&MapEnvironment::new(&[
        ("HF_HOME", &home),
        ("HFGET_CONFIG_DIR", &config),
        ("HF_ENDPOINT", "http://127.0.0.1:9"),
    ]))
}

fn info(user: &str, token: &Token) -> LoginInfo {
    LoginInfo {
        user: user.into(),
        role: "read".into(),
        masked: token.masked(),
        oauth: None,
    }
}

#[tokio::test]
async fn keyring_and_file_logins_list_switch_and_logout() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let keyring = mock_handle();
    let a = Token::parse("hf_aaaaaaaaaaaaaaaa0001").unwrap();
    let b = Token::parse("hf_bbbbbbbbbbbbbbbb0002").unwrap();
    save_keyring(&settings, &keyring, "laptop", &a, info("alice", &a))
        .await
        .unwrap();
    assert_eq!(
        save_file(&settings, "ci", &b, info("bob", &b)).unwrap(),
        Some("laptop".into())
    );

    let rows = list(&settings, true).unwrap();
    assert_eq!(rows.len(), 2);
    let ci = rows.iter().find(|r| r.name == "ci").unwrap();
    assert!(ci.active && ci.store == "file" && ci.user.as_deref() == Some("bob"));
    assert_eq!(ci.token.as_deref(), Some("hf_…0002"));
    assert!(!rows.iter().find(|r| r.name == "laptop").unwrap().active);

    assert_eq!(
        switch(&settings, &keyring, "laptop", None).await.unwrap(),
        StoreKind::Keyring
    );
    assert!(
        list(&settings, true)
            .unwrap()
            .iter()
            .find(|r| r.name == "laptop")
            .unwrap()
            .active
    );
    assert!(matches!(
        switch(&settings, &keyring, "nope", None).await,
        Err(AuthError::UnknownLogin { .. })
    ));

    // The active login is the keyring one.
    let removed = logout(&settings, &keyring, LogoutTarget::Active)
        .await
        .unwrap();
    assert_eq!(removed.keyring, ["laptop"]);
    assert_eq!(
        keyring
            .get()
            .await
            .unwrap()
            .get("127.0.0.1:9/laptop")
            .await
            .unwrap(),
        None
    );

    let removed = logout(&settings, &keyring, LogoutTarget::Name("ci".into()))
        .await
        .unwrap();
    assert_eq!(removed.file, ["ci"]);
    assert!(removed.token_file);
    assert!(!settings.token_path.exists());
    assert!(!settings.stored_tokens_path().exists());
    assert!(
        logout(&settings, &keyring, LogoutTarget::All)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_disabled_keyring_refuses_to_store_and_to_remove() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let token = Token::parse("hf_aaaaaaaaaaaaaaaa0001").unwrap();
    let error = save_keyring(
        &settings,
        &KeyringHandle::disabled(),
        "x",
        &token,
        LoginInfo::default(),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("HFGET_KEYRING=none") && message.contains("--store file"),
        "{message}"
    );
    assert!(!settings.token_path.exists());

    save_keyring(&settings, &mock_handle(), "x", &token, LoginInfo::default())
        .await
        .unwrap();
    let error = logout(&settings, &KeyringHandle::disabled(), LogoutTarget::All)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::KeyringNeeded { .. }));
    assert_eq!(list(&settings, false).unwrap().len(), 1, "nothing removed");
}

#[test]
fn names_that_configparser_cannot_keep_are_refused() {
    for bad in ["", " x", "a]b", "DEFAULT", "a\nb"] {
        assert!(validate_name(bad).is_err(), "{bad:?}");
    }
    validate_name("oauth-alice").unwrap();
    validate_name("my token/2").unwrap();
}
