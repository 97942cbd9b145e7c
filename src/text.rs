//! Wording shared by the commands, the doctor and the engine: byte counts as people read them,
//! and "did you mean" suggestions for a name that does not exist.

/// `1.5 GiB`: powers of 1024, as `du -h` and the progress bars show them.
pub(crate) fn human_bytes(bytes: u64) -> String {
    indicatif::BinaryBytes(bytes).to_string()
}

/// Up to three names from `candidates` that look like `wanted` (typos, wrong folder, wrong case).
pub(crate) fn closest_names<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let wanted_lower = wanted.to_lowercase();
    let wanted_base = wanted_lower
        .rsplit('/')
        .next()
        .unwrap_or(&wanted_lower)
        .to_string();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|candidate| {
            let lower = candidate.to_lowercase();
            let base = lower.rsplit('/').next().unwrap_or(&lower);
            let distance = if base == wanted_base {
                0
            } else {
                edit_distance(&wanted_lower, &lower).min(edit_distance(&wanted_base, base) + 1)
            };
            (distance, candidate)
        })
        .collect();
    let limit = (wanted.chars().count() / 3).max(3);
    scored.retain(|(distance, _)| *distance <= limit);
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.to_string())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "onnx/model.onnx",
        ];
        assert_eq!(closest_names("confg.json", names), vec!["config.json"]);
        assert_eq!(closest_names("model.onnx", names)[0], "onnx/model.onnx");
        assert!(closest_names("zzzzzzzzzzzzzzzzzz", names).is_empty());
    }

    #[test]
    fn bytes_in_powers_of_1024() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
    }
}
