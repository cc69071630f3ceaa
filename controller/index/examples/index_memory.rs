//! How much memory the index takes at scale: VmRSS of this process before and after building
//! the index of `benches/fixture` (10,000 Ingresses, 50,000 EndpointSlices), objects applied
//! one at a time as watchers deliver them, then every stack translated once.
//!
//! ```text
//! cargo run --release -p weir-index --example index_memory
//! ```

use std::time::Instant;

use weir_translate::Kind;

#[path = "../benches/fixture/mod.rs"]
mod fixture;

/// This process's resident set size in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

fn main() {
    let before = rss_kib();
    let started = Instant::now();
    let index = fixture::build(fixture::objects());
    let elapsed = started.elapsed();
    let after = rss_kib();
    let stacks = index.stacks().len();
    println!(
        "index: {} Ingresses, {} Services, {} EndpointSlices, {stacks} stacks",
        index.count(Kind::Ingress),
        index.count(Kind::Service),
        index.count(Kind::EndpointSlice),
    );
    println!(
        "built (objects parsed, applied, every stack translated) in {:.2} s",
        elapsed.as_secs_f64()
    );
    println!(
        "VmRSS before {before} KiB, after {after} KiB: +{:.1} MiB ({:.1} KiB per Ingress with its Service and 5 slices)",
        (after - before) as f64 / 1024.0,
        (after - before) as f64 / fixture::INGRESSES as f64
    );
    drop(index);
}
