//! A server process that dies with its owner: on `Drop`, on a panic, and when the test process
//! itself is killed.
//!
//! Each server runs under a tiny `/bin/sh` supervisor whose stdin is a pipe from this process.
//! The supervisor starts the server in the background and waits for it; a second background job
//! blocks reading that pipe and SIGKILLs the server when the pipe closes. The pipe closes when
//! [`Supervised`] is dropped (also while a panic unwinds) and, because the kernel closes every
//! file descriptor of a dead process, when the test binary is killed or aborts. So no etcd or
//! kube-apiserver outlives the test that started it, whichever way the test ends.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The supervisor: `$0` is the server's name, `$@` its program and arguments. The server gets no
/// stdin and not fd 3; the watchdog reads fd 3 (the pipe) and kills the server at end of file;
/// the supervisor exits with the server's status and takes the watchdog with it.
const SUPERVISOR: &str = r#"exec 3<&0
"$@" </dev/null 3<&- &
server=$!
(read -r _ <&3; kill -9 "$server" 2>/dev/null) &
watchdog=$!
exec 3<&-
wait "$server"
status=$?
kill "$watchdog" 2>/dev/null
exit "$status""#;

/// How long `Drop` waits for the supervisor to reap the killed server before killing it too.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running server process, its output in `log`.
#[derive(Debug)]
pub(crate) struct Supervised {
    name: &'static str,
    child: Child,
    /// The supervisor's stdin; dropping it kills the server.
    lifeline: Option<ChildStdin>,
    log: PathBuf,
}

impl Supervised {
    /// Starts `program` with `args`, stdout and stderr appended to `log`.
    pub(crate) fn spawn(
        name: &'static str,
        program: &Path,
        args: &[OsString],
        log: &Path,
    ) -> io::Result<Self> {
        let output = File::create(log)?;
        let errors = output.try_clone()?;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(name)
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(output)
            .stderr(errors)
            .spawn()?;
        let lifeline = child.stdin.take();
        Ok(Self {
            name,
            child,
            lifeline,
            log: log.to_owned(),
        })
    }

    /// The server's name (`etcd`, `kube-apiserver`).
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The server's exit status, when it has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the server's output (at most its last 64 KiB are read).
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Whether the server's output says that a port it wanted was taken.
    pub(crate) fn port_was_taken(&self) -> bool {
        self.log_tail(200).contains("address already in use")
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // Closing the pipe makes the watchdog SIGKILL the server; the supervisor then exits.
        drop(self.lifeline.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                // Stuck or unwaitable: kill the supervisor (the watchdog has fired either way).
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
            }
        }
    }
}

/// The last `lines` lines of the file at `path` (at most its last 64 KiB are read), or a note
/// saying why it could not be read.
fn tail(path: &Path, lines: usize) -> String {
    const MAX: u64 = 64 * 1024;
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(MAX)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_kills_the_server_and_its_supervisor() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 600", pid_file.display());
        let mut server = Supervised::spawn(
            "sleeper",
            Path::new("/bin/sh"),
            &["-c".into(), script.into()],
            &dir.path().join("log"),
        )
        .expect("spawns");
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file)
                && let Ok(pid) = text.trim().parse::<u32>()
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "the server never started");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(server.exited().is_none());
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        assert!(proc_dir.exists());
        let started = Instant::now();
        drop(server);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stopping took too long"
        );
        // The supervisor reaped the server, so its pid is gone (not a zombie).
        assert!(
            !proc_dir.exists(),
            "the server (pid {pid}) outlived its Supervised"
        );
    }

    #[test]
    fn an_early_exit_is_seen_with_its_output() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Supervised::spawn(
            "failing",
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                "echo one; echo 'listen tcp 127.0.0.1:1: bind: address already in use' >&2; exit 3"
                    .into(),
            ],
            &dir.path().join("log"),
        )
        .expect("spawns");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = server.exited() {
                break status;
            }
            assert!(Instant::now() < deadline, "the server never exited");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.code(), Some(3));
        assert!(server.port_was_taken());
        assert_eq!(
            server.log_tail(1),
            "listen tcp 127.0.0.1:1: bind: address already in use"
        );
        assert!(server.log_tail(10).starts_with("one\n"));
    }

    #[test]
    fn tail_of_a_missing_file_says_so() {
        assert!(tail(Path::new("/nonexistent/weir-e2e.log"), 5).starts_with("(cannot read"));
    }
}
