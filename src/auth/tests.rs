use super::*;
use crate::env::tests::MapEnvironment;

fn settings(dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let home = dir.join("hf").to_string_lossy().to_string();
    let config = dir.join("config").to_string_lossy().to_string();
    let mut pairs = vec![
        ("HF_HOME", home.as_str()),
        ("HFGET_CONFIG_DIR", config.as_str()),
        ("HF_ENDPOINT", "https://hub.example:8443"),
    ];
    pairs.extend_from_slice(extra);
    Settings::from_env(&MapEnvironment::new(&pairs))
}

/// A keyring holding the active login `laptop` for the settings' endpoint.
async fn keyring_with_login(settings: &Settings, secret: &str) -> KeyringHandle {
    let handle = keyring::tests::mock_handle();
    let token = Token::parse(secret).unwrap();
    logins::save_keyring(
        settings,
        &handle,
        "laptop",
        &token,
        state::LoginInfo::default(),
    )
    .await
    .unwrap();
    handle
}

#[tokio::test]
async fn precedence_flag_env_legacy_env_keyring_file() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &[]);
    std::fs::create_dir_all(settings.token_path.parent().unwrap()).unwrap();
    std::fs::write(&settings.token_path, "hf_file_token\n").unwrap();
    let keyring = keyring_with_login(&settings, "hf_keyring_token").await;
    let resolve = |env: MapEnvironment, flag: Option<&'static str>| {
        let settings = settings.clone();
        let keyring = &keyring;
        async move {
            resolve_token_with(&settings, &env, flag, keyring)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let both = || {
        MapEnvironment::new(&[
            ("HF_TOKEN", "hf_env"),
            ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
        ])
    };

    assert_eq!(
        resolve(both(), Some("hf_flag")).await.source,
        TokenSource::Flag
    );
    assert_eq!(resolve(both(), None).await.source, TokenSource::EnvHfToken);

    let legacy = resolve(
        MapEnvironment::new(&[("HF_TOKEN", ""), ("HUGGING_FACE_HUB_TOKEN", "hf_legacy")]),
        None,
    )
    .await;
    assert_eq!(legacy.source, TokenSource::EnvHuggingFaceHubToken);
    assert_eq!(legacy.token.secret(), "hf_legacy");

    let from_keyring = resolve(MapEnvironment::new(&[]), None).await;
    assert_eq!(
        from_keyring.source,
        TokenSource::Keyring {
            name: "laptop".into()
        }
    );
    assert_eq!(from_keyring.token.secret(), "hf_keyring_token");

    // Without the keyring login, the file.
    let resolved = resolve_token_with(
        &settings,
        &MapEnvironment::new(&[]),
        None,
        &KeyringHandle::disabled(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(resolved.token.secret(), "hf_file_token");
    assert!(matches!(resolved.source, TokenSource::File { .. }));

    // All sources, for doctor.
    let sources = inspect_sources(&settings, &both(), Some("hf_flag"), &keyring)
        .await
        .unwrap();
    let ids: Vec<_> = sources.candidates.iter().map(|c| c.source.id()).collect();
    assert_eq!(
        ids,
        [
            "flag",
            "env:HF_TOKEN",
            "env:HUGGING_FACE_HUB_TOKEN",
            "keyring",
            "file"
        ]
    );
    assert_eq!(sources.keyring_login.as_deref(), Some("laptop"));
    assert_eq!(sources.keyring_problem, None);
}

#[tokio::test]
async fn keyring_logins_are_per_endpoint_host() {
    let dir = tempfile::tempdir().unwrap();
    let settings_a = settings(dir.path(), &[]);
    let keyring = keyring_with_login(&settings_a, "hf_keyring_token").await;
    let settings_b = settings(dir.path(), &[("HF_ENDPOINT", "https://huggingface.co")]);
    let resolved = resolve_token_with(&settings_b, &MapEnvironment::new(&[]), None, &keyring)
        .await
        .unwrap();
    assert_eq!(resolved, None);
    assert_eq!(endpoint_host(&settings_a), "hub.example:8443");
    assert_eq!(endpoint_host(&settings_b), "huggingface.co");
}

#[tokio::test]
async fn unreadable_keyring_login_falls_through_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &[]);
    // Recorded as active, but the keyring is disabled.
    keyring_with_login(&settings, "hf_keyring_token").await;
    std::fs::create_dir_all(settings.token_path.parent().unwrap()).unwrap();
    std::fs::write(&settings.token_path, "hf_file_token").unwrap();
    let sources = inspect_sources(
        &settings,
        &MapEnvironment::new(&[]),
        None,
        &KeyringHandle::disabled(),
    )
    .await
    .unwrap();
    assert_eq!(sources.candidates.len(), 1);
    assert!(
        sources
            .keyring_problem
            .unwrap()
            .contains("HFGET_KEYRING=none")
    );

    // A login whose entry vanished.
    let empty = keyring::tests::mock_handle();
    let sources = inspect_sources(&settings, &MapEnvironment::new(&[]), None, &empty)
        .await
        .unwrap();
    assert!(sources.keyring_problem.unwrap().contains("no entry"));
}

#[tokio::test]
async fn implicit_token_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &[("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")]);
    let env = MapEnvironment::new(&[("HF_TOKEN", "hf_env")]);
    let keyring = KeyringHandle::disabled();
    assert!(
        resolve_token_with(&settings, &env, None, &keyring)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        resolve_token_with(&settings, &env, Some("hf_x"), &keyring)
            .await
            .unwrap()
            .is_some()
    );
}

#[test]
fn invalid_token_messages_name_the_source_and_the_fix() {
    let message = AuthError::InvalidToken {
        origin: TokenSource::EnvHfToken,
        masked: "hf_…0007".into(),
        alternative: Some(TokenSource::Keyring {
            name: "laptop".into(),
        }),
    }
    .to_string();
    assert_eq!(
        message,
        "HF_TOKEN holds a token the Hub rejects (hf_…0007): it is revoked, expired or mistyped. Your keyring login `laptop` would work: unset HF_TOKEN."
    );
    let message = AuthError::InvalidToken {
        origin: TokenSource::Keyring { name: "old".into() },
        masked: "hf_…0007".into(),
        alternative: None,
    }
    .to_string();
    assert!(
        message.ends_with(
            "Log in again with `hfget login --name old`, or remove it with `hfget logout old`."
        ),
        "{message}"
    );
}
