use super::*;
use crate::env::tests::MapEnvironment;

#[test]
fn round_trip_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cfg").to_string_lossy().to_string();
    let settings = Settings::from_env(&MapEnvironment::new(&[("HFGET_CONFIG_DIR", &config)]));
    assert_eq!(State::load(&settings).unwrap(), State::default());
    let mut state = State::default();
    let host = state.host_mut("huggingface.co");
    host.active = Some("laptop".into());
    host.keyring.insert(
        "laptop".into(),
        LoginInfo {
            user: "alice".into(),
            role: "read".into(),
            masked: "hf_…0001".into(),
            oauth: None,
        },
    );
    state.save(&settings).unwrap();
    let loaded = State::load(&settings).unwrap();
    assert_eq!(loaded, state);
    assert_eq!(
        loaded.active_keyring_login("huggingface.co"),
        Some("laptop")
    );
    assert_eq!(loaded.active_keyring_login("other"), None);
}
