//! The standard cast of the integration tests: users, tokens and repositories that exercise
//! every path of the Hub's behaviour (public, private, gated in every state, renamed, disabled).

use hub_emulator::{AccessState, Content, Gate, Repo, Scenario, Token, User};

/// Classic read token of `alice`, member (admin) of `acme`.
pub const ALICE: &str = "hf_alice_read_000000000000000000001";
/// Fine-grained token of `alice` without the gated-repos permission and without any scope.
pub const ALICE_FINE_NO_GATED: &str = "hf_alice_fine_nogated_000000000002";
/// Fine-grained token of `alice`, gated repos allowed, scoped to read `acme`.
pub const ALICE_FINE_ACME: &str = "hf_alice_fine_acme_00000000000003";
/// Classic read token of `bob`, who asked for access to the gated repo (pending).
pub const BOB: &str = "hf_bob_read_00000000000000000000004";
/// Classic read token of `carol`, whose gated request was rejected.
pub const CAROL: &str = "hf_carol_read_000000000000000000005";
/// Classic read token of `dave`, who never requested access to anything.
pub const DAVE: &str = "hf_dave_read_0000000000000000000006";
/// Classic read token of `erin`, member of `acme`, whose org requires SSO she has not done.
pub const ERIN: &str = "hf_erin_read_0000000000000000000008";
/// A token the Hub does not know (revoked).
pub const REVOKED: &str = "hf_revoked_00000000000000000000007";

pub const LFS_SIZE: u64 = 3 * 1024 * 1024 + 17;

/// `acme/tiny`: a small public model with a nested file, an LFS file, branches, tags and a PR.
pub fn tiny_repo() -> Repo {
    Repo::model("acme/tiny")
        .file("README.md", b"# tiny\n")
        .file("config.json", b"{\"hidden_size\": 8}\n")
        .file("nested/deeper/notes.txt", b"nested file\n")
        .lfs(
            "model.safetensors",
            Content::Pattern {
                seed: 7,
                size: LFS_SIZE,
            },
        )
        .tag("v1")
        .commit()
        .file("config.json", b"{\"hidden_size\": 16}\n")
        .branch("dev")
        .pr(1)
}

pub fn standard_scenario() -> Scenario {
    Scenario::new()
        .page_size(2)
        .user(User::new("alice").org("acme", "admin"))
        .user(User::new("bob"))
        .user(User::new("carol"))
        .user(User::new("dave"))
        .user(User::new("erin").org_with_restrictions("acme", "read", &["sso"]))
        .token(Token::read(ALICE, "alice", "laptop"))
        .token(Token::fine_grained(ALICE_FINE_NO_GATED, "alice", "ci-fine").can_read_gated(false))
        .token(
            Token::fine_grained(ALICE_FINE_ACME, "alice", "acme-fine")
                .can_read_gated(true)
                .scope("org", "acme", &["repo.content.read"]),
        )
        .token(Token::read(BOB, "bob", "bob-laptop"))
        .token(Token::read(CAROL, "carol", "carol-laptop"))
        .token(Token::read(DAVE, "dave", "dave-laptop"))
        .token(Token::read(ERIN, "erin", "erin-laptop"))
        .token(Token::read(REVOKED, "alice", "old").invalid())
        .repo(tiny_repo())
        .repo(
            Repo::dataset("acme/data")
                .file("README.md", b"# data\n")
                .file("data/train.csv", b"a,b\n1,2\n"),
        )
        .repo(
            Repo::model("acme/secret")
                .private()
                .file("config.json", b"{\"secret\": true}\n"),
        )
        .repo(
            Repo::model("meta/gated")
                .gated(Gate::Manual)
                .access("alice", AccessState::Granted)
                .access("bob", AccessState::Pending)
                .access("carol", AccessState::Rejected)
                // The smallest file: the doctor must not take it for proof of access, since the
                // Hub lets anyone read a gated repo's README.md.
                .file("README.md", b"# gated\n")
                .file("config.json", b"{\"gated\": true}\n")
                .lfs(
                    "model.safetensors",
                    Content::Pattern {
                        seed: 9,
                        size: 4096,
                    },
                ),
        )
        .repo(
            Repo::model("acme/renamed")
                .renamed_from("acme/old-name")
                .file("config.json", b"{\"renamed\": true}\n"),
        )
        .repo(
            Repo::model("acme/banned")
                .disabled()
                .file("config.json", b"{}\n"),
        )
        .repo(
            Repo::space("acme/app")
                .file("app.py", b"print('hi')\n")
                .file("README.md", b"# app\n"),
        )
}
