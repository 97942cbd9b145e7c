use super::*;

#[test]
fn renewal_is_due_in_the_last_quarter_of_the_lifetime() {
    let now = 1_000_000;
    // An hour-long token: renewed in its last 15 minutes, not before.
    assert!(!renewal_due(now + 901, Some(3600), now));
    assert!(renewal_due(now + 900, Some(3600), now));
    assert!(renewal_due(now - 5, Some(3600), now));
    // Long lifetimes: at most Python's day of margin.
    assert!(!renewal_due(now + 86_401, Some(30 * 86_400), now));
    assert!(renewal_due(now + 86_400, Some(30 * 86_400), now));
    // Very short ones: at least a minute.
    assert!(renewal_due(now + 60, Some(100), now));
    assert!(!renewal_due(now + 61, Some(100), now));
    // Unknown lifetime (a Python-made login): Python's day.
    assert!(renewal_due(now + 3600, None, now));
    assert!(!renewal_due(now + 2 * 86_400, None, now));
}

#[test]
fn expiry_reads_as_a_date_and_a_distance() {
    assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13 UTC");
    assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
    assert_eq!(
        describe_expiry(1_700_000_000, 1_700_000_000 - 3 * 3600),
        "2023-11-14 22:13 UTC (in 3 h)"
    );
    assert_eq!(
        describe_expiry(1_700_000_000, 1_700_000_001),
        "2023-11-14 22:13 UTC (expired)"
    );
    assert_eq!(
        describe_expiry(1_700_000_000, 1_700_000_000 - 90),
        "2023-11-14 22:13 UTC (in 90 s)"
    );
}

#[test]
fn the_keyring_secret_keeps_the_pair_together_and_reads_old_entries() {
    let pair = LoginSecret {
        access: Token::parse("hf_oauth_a").unwrap(),
        refresh: Token::parse("hf_oauth_refresh_r"),
    };
    let encoded = pair.encode();
    assert!(encoded.starts_with('{'));
    assert_eq!(LoginSecret::decode(&encoded), Some(pair));
    // A token login's entry is the bare token, as before.
    let plain = LoginSecret::decode("hf_plain\n").unwrap();
    assert_eq!(plain.access.secret(), "hf_plain");
    assert_eq!(plain.refresh, None);
    assert_eq!(plain.encode(), "hf_plain");
    assert_eq!(LoginSecret::decode("  "), None);
}

#[test]
fn file_fields_follow_save_token() {
    let facts = OAuthFacts {
        expires_at: Some(42),
        ..OAuthFacts::default()
    };
    let refresh = Token::parse("r").unwrap();
    assert_eq!(
        file_fields(Some(&refresh), &facts),
        [
            (REFRESH_KEY, "r".to_string()),
            (EXPIRES_KEY, "42".to_string())
        ]
    );
    assert!(file_fields(None, &OAuthFacts::default()).is_empty());
}
