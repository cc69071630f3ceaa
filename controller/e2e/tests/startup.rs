//! How `ApiServer::start` fails: loudly, with the failing server's log, after retrying taken
//! ports a bounded number of times.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use weir_e2e::{ApiServer, Error};

/// An executable shell script at `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// The etcd the real tests use (so the etcd half of startup is real here too).
fn etcd() -> PathBuf {
    let name = std::env::var_os("WEIR_ETCD").unwrap_or_else(|| "etcd".into());
    let path = PathBuf::from(&name);
    if path.components().count() > 1 {
        return path;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(&name))
        .find(|candidate| candidate.is_file())
        .expect("etcd on PATH: run scripts/kube-apiserver.sh")
}

#[tokio::test]
async fn an_apiserver_that_exits_is_an_error_with_its_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = script(
        dir.path(),
        "kube-apiserver",
        "echo 'E0101 unknown flag: --nope' >&2; exit 7",
    );
    match ApiServer::start_with(&broken, &etcd()).await {
        Err(
            error @ Error::Exited {
                process: "kube-apiserver",
                ..
            },
        ) => {
            assert!(!error.port_taken());
            let message = error.to_string();
            assert!(message.contains("exit status: 7"), "{message}");
            assert!(message.contains("E0101 unknown flag: --nope"), "{message}");
        }
        other => panic!("expected kube-apiserver to be reported as exited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_taken_port_is_retried_then_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let attempts = dir.path().join("attempts");
    let taken = script(
        dir.path(),
        "kube-apiserver",
        &format!(
            "echo x >> {}; echo 'failed to listen on 127.0.0.1:1: bind: address already in use' >&2; exit 1",
            attempts.display()
        ),
    );
    match ApiServer::start_with(&taken, &etcd()).await {
        Err(error) => assert!(error.port_taken(), "{error}"),
        Ok(server) => panic!("a server that never binds started: {server:?}"),
    }
    let tries = std::fs::read_to_string(&attempts)
        .expect("the script ran")
        .lines()
        .count();
    assert_eq!(tries, 4, "one start and three retries with new ports");
}
