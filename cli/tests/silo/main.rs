//! Integration tests of the silo store and the `silo` command, with the
//! real `git` as the oracle. Modules mirror `src/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bucket;
mod bucket_nightly;
mod cli;
mod crash;
mod derived;
mod du;
mod families;
mod gc;
#[path = "../common/moto.rs"]
mod moto;
#[path = "../common/nginx.rs"]
mod nginx;
mod packages;
#[path = "../common/proxy.rs"]
mod proxy;
mod readers;
mod remote;
mod repack;
#[path = "../common/runner.rs"]
mod runner;
mod serve;
mod split;
mod store;
mod verify;
mod zips;
