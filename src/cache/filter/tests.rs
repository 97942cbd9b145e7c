use super::*;

#[test]
fn sizes_and_durations_read_like_hf() {
    assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
    assert_eq!(parse_size("10k"), Ok(10_000));
    assert_eq!(parse_size("2MiB"), Ok(2 << 20));
    assert_eq!(parse_size("512"), Ok(512));
    assert!(parse_size("GB").is_err());
    assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
    assert_eq!(parse_duration("3mo"), Ok(90 * 86_400));
    assert!(parse_duration("3q").is_err());
}

#[test]
fn bad_filters_and_sorts_are_refused() {
    for bad in [
        "size",
        "size~3",
        "type>model",
        "refs!=main",
        "colour=red",
        "size>",
    ] {
        assert!(compile_filter(bad).is_err(), "{bad}");
    }
    for good in [
        "size>1GB",
        "size == 0",
        "type=model",
        "accessed>=7d",
        "refs=main",
    ] {
        assert!(compile_filter(good).is_ok(), "{good}");
    }
    assert!(compile_sort("size:down").is_err());
    assert!(compile_sort("colour").is_err());
}

#[test]
fn refusals_say_which_expression_and_why() {
    let Err(error) = compile_filter("type>model") else {
        panic!("accepted");
    };
    assert_eq!(
        error.to_string(),
        "Invalid filter `type>model`: only `=` works with `type`."
    );
    let Err(error) = compile_sort("size:down") else {
        panic!("accepted");
    };
    assert_eq!(
        error.to_string(),
        "Invalid sort `size:down`: the order must be asc or desc, not `down`."
    );
}
