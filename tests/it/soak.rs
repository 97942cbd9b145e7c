//! Soak: at least 1000 file downloads against the emulator with random faults, then
//! every cached file is checked against its hash and the request log against leaks.
//!
//! Ignored by default; run it with
//! `cargo test --test it soak -- --ignored --nocapture` (CI runs it too).

use hub_emulator::{Content, Fault, FaultAction, Origin, Repo, Scenario, Token, User};
use sha1::Digest as _;

use crate::common::fixtures::ALICE;
use crate::common::*;

const FILES: usize = 250;
const ROUNDS: usize = 4;

/// A deterministic pseudo-random sequence (no dependency, reproducible failures).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn scenario() -> Scenario {
    let mut repo = Repo::model("soak/many");
    for i in 0..FILES {
        repo = if i.is_multiple_of(10) {
            repo.lfs(
                &format!("shards/shard-{i:04}.bin"),
                Content::Pattern {
                    seed: i as u64,
                    size: 64 * 1024 + i as u64,
                },
            )
        } else {
            repo.file(
                &format!("files/{:02}/file-{i:04}.txt", i % 17),
                format!("file {i}\n").repeat(i % 50 + 1).as_bytes(),
            )
        };
    }
    Scenario::new()
        .page_size(100)
        .user(User::new("alice"))
        .token(Token::read(ALICE, "alice", "laptop"))
        .repo(repo)
}

/// One random fault aimed at one file, firing once.
fn random_fault(rng: &mut Lcg, file: &str, lfs: bool) -> Fault {
    let origin = if lfs && rng.next().is_multiple_of(2) {
        Fault::on_cdn()
    } else {
        Fault::on_hub()
    };
    let action = match rng.next() % 6 {
        0 => FaultAction::Status {
            status: [500, 502, 503, 504][(rng.next() % 4) as usize],
        },
        1 => FaultAction::RateLimited {
            retry_after_secs: 0,
        },
        2 => FaultAction::CutAfter {
            bytes: rng.next() % 2000,
        },
        3 => FaultAction::Corrupt {
            offset: rng.next() % 64,
        },
        4 => FaultAction::ShortBody {
            missing: 1 + rng.next() % 16,
        },
        _ => FaultAction::Latency {
            millis: rng.next() % 200,
        },
    };
    origin.path(file).times(1).action(action)
}

fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
#[ignore = "soak test: `cargo test --test it soak -- --ignored --nocapture`"]
fn soak_a_thousand_downloads_under_random_faults() {
    let mut ctx = TestContext::new(scenario());
    ctx.env("HF_TOKEN", ALICE);
    let mut rng = Lcg(0x5eed_1234);
    let (mut downloads, mut faults) = (0usize, 0usize);
    for round in 0..ROUNDS {
        for i in 0..FILES {
            if rng.next().is_multiple_of(5) {
                let name = if i.is_multiple_of(10) {
                    format!("shard-{i:04}.bin")
                } else {
                    format!("file-{i:04}.txt")
                };
                ctx.emulator
                    .add_fault(random_fault(&mut rng, &name, i.is_multiple_of(10)));
                faults += 1;
            }
        }
        let cache = ctx.path(&format!("cache-{round}"));
        let out = ctx.run(&[
            "download",
            "soak/many",
            "--cache-dir",
            cache.to_str().unwrap(),
            "--max-workers",
            "16",
        ]);
        assert_eq!(out.code, 0, "round {round}\n{}", out.stderr);
        downloads += FILES;

        let snapshot = std::path::PathBuf::from(out.stdout_line());
        let mut checked = 0;
        for dir in std::fs::read_dir(snapshot.join("files")).unwrap().flatten() {
            for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
                let target = std::fs::canonicalize(file.path()).unwrap();
                let bytes = std::fs::read(&target).unwrap();
                assert_eq!(
                    git_blob_sha1(&bytes),
                    target.file_name().unwrap().to_string_lossy(),
                    "{}",
                    file.path().display()
                );
                checked += 1;
            }
        }
        for shard in std::fs::read_dir(snapshot.join("shards"))
            .unwrap()
            .flatten()
        {
            let target = std::fs::canonicalize(shard.path()).unwrap();
            assert_eq!(
                sha256_file(&target),
                target.file_name().unwrap().to_string_lossy(),
                "{}",
                shard.path().display()
            );
            checked += 1;
        }
        assert_eq!(checked, FILES, "round {round}: every file present");
        let leftovers: Vec<_> = std::fs::read_dir(cache.join("models--soak--many/blobs"))
            .unwrap()
            .flatten()
            .filter(|e| {
                !e.file_name()
                    .to_string_lossy()
                    .chars()
                    .all(|c| c.is_ascii_hexdigit())
            })
            .map(|e| e.file_name())
            .collect();
        assert!(
            leftovers.is_empty(),
            "round {round}: only verified blobs remain: {leftovers:?}"
        );
        ctx.emulator.clear_faults();
    }
    let requests = ctx.requests();
    let cdn: Vec<_> = requests
        .iter()
        .filter(|r| r.origin == Origin::Cdn)
        .collect();
    assert!(
        cdn.iter().all(|r| r.authorization.is_none()),
        "the token never reached the CDN"
    );
    let failed = requests.iter().filter(|r| r.status >= 400).count();
    eprintln!(
        "soak: {downloads} file downloads in {ROUNDS} rounds, {faults} faults injected, {} requests ({} to the CDN, {failed} answered with an error), every file verified",
        requests.len(),
        cdn.len()
    );
    assert!(downloads >= 1000);
}
