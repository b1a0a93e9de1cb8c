//! Integration tests: the real app in-process on a free port, and the real
//! `gatehouse` binary for the command line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should stop loudly"
)]

mod backends;
mod browser;
mod cli;
mod discovery;
mod invite;
mod ops;
mod pages;
