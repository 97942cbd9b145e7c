use super::*;

/// A fresh in-memory store, private to the calling test.
pub fn mock_handle() -> KeyringHandle {
    KeyringHandle::with_store(mock_store())
}

pub fn mock_store() -> Arc<dyn SecretStore> {
    let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
    Arc::new(CoreStore::new(store, "mock", false))
}

#[tokio::test]
async fn round_trip_through_the_mock_store() {
    let handle = mock_handle();
    let keyring = handle.get().await.unwrap();
    assert_eq!(keyring.get("h/laptop").await.unwrap(), None);
    let token = Token::parse("hf_secret_value_1234").unwrap();
    keyring.set("h/laptop", &token, "hfget").await.unwrap();
    assert_eq!(keyring.get("h/laptop").await.unwrap(), Some(token));
    assert!(keyring.delete("h/laptop").await.unwrap());
    assert!(!keyring.delete("h/laptop").await.unwrap());
    assert_eq!(keyring.get("h/laptop").await.unwrap(), None);
}

#[test]
fn errors_are_classified_like_the_reference_table() {
    assert!(matches!(
        classify_platform_failure("Zbus(Connection(Os NotFound: \"/run/user/0/bus\"))"),
        Unavailable::NoSessionBus(_)
    ));
    assert!(matches!(
        classify_platform_failure(
            "org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable"
        ),
        Unavailable::NoSecretService(_)
    ));
    let locked = map_error("a", keyring_core::Error::NoStorageAccess("Prompt".into()));
    assert!(matches!(locked.unavailable(), Some(Unavailable::Locked(_))));
}

#[tokio::test]
async fn disabled_backend_is_unavailable() {
    let handle = KeyringHandle::disabled();
    assert!(!handle.enabled());
    assert_eq!(handle.get().await.unwrap_err(), Unavailable::Disabled);
    let mut settings = crate::env::Settings::from_env(&crate::env::tests::MapEnvironment::new(&[]));
    settings.keyring_backend = Some("NONE".into());
    assert_eq!(Backend::from_settings(&settings), Backend::Disabled);
    settings.keyring_backend = Some("kwallet9".into());
    assert_eq!(
        Backend::from_settings(&settings),
        Backend::Unknown("kwallet9".into())
    );
}
