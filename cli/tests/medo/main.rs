//! Integration tests of the `medo` command, on real files in temporary
//! directories, with `git` as the oracle of ids. Modules mirror
//! `src/medo/`; hostile tars are made byte by byte in `cli::RawTar`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod add;
mod cli;
mod expand;
#[path = "../common/moto.rs"]
mod moto;
#[path = "../common/nginx.rs"]
mod nginx;
mod packages;
mod reachable;
mod roundtrip;
#[path = "../common/runner.rs"]
mod runner;
mod unpack;
mod url;
mod verify;
mod zips;
