use super::*;
use std::collections::HashMap;

/// An environment made of a fixed map, for unit tests.
pub struct MapEnvironment(pub HashMap<String, String>);

impl MapEnvironment {
    pub fn new(pairs: &[(&str, &str)]) -> Self {
        MapEnvironment(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Environment for MapEnvironment {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.0.get(name).map(OsString::from)
    }
}

#[test]
fn cache_precedence_follows_huggingface_hub() {
    let env = MapEnvironment::new(&[("HF_HOME", "/h"), ("HF_HUB_CACHE", "/c")]);
    let settings = Settings::from_env(&env);
    assert_eq!(settings.hub_cache, PathBuf::from("/c"));
    assert_eq!(settings.token_path, PathBuf::from("/h/token"));
    assert_eq!(
        settings.stored_tokens_path(),
        PathBuf::from("/h/stored_tokens")
    );

    let env = MapEnvironment::new(&[("HF_HOME", "/h")]);
    assert_eq!(Settings::from_env(&env).hub_cache, PathBuf::from("/h/hub"));

    let env = MapEnvironment::new(&[("XDG_CACHE_HOME", "/x"), ("HUGGINGFACE_HUB_CACHE", "")]);
    assert_eq!(
        Settings::from_env(&env).hub_cache,
        PathBuf::from("/x/huggingface/hub")
    );
}

#[test]
fn endpoint_trailing_slash_is_stripped_and_flags_parse_like_python() {
    let env = MapEnvironment::new(&[
        ("HF_ENDPOINT", "http://127.0.0.1:9/"),
        ("HF_HUB_OFFLINE", "yes"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "0"),
    ]);
    let settings = Settings::from_env(&env);
    assert_eq!(settings.endpoint, "http://127.0.0.1:9");
    assert!(settings.offline);
    assert_eq!(settings.progress_bars, Some(true));
}
