//! The single integration-test binary (one binary links once: matklad's advice, as uv and just
//! do). Every test drives the real `hfget` executable against the in-process Hub emulator.

// Test code may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod auth;
mod cache_cmd;
mod corporate;
mod doctor;
mod doctor_findings;
mod doctor_mirror;
mod download;
mod engine;
mod faults;
mod https;
mod interop;
mod mirror;
mod oauth;
mod parallel;
mod pipes;
mod security;
mod shared_cache;
mod soak;
mod tour;
mod xet;
