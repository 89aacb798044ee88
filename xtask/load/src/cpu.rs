//! CPU time used by the load generator and the server during a measurement, so reports
//! can say how the two shared the machine's cores.

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) used so far by `pid`, or by this process if `None`.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

/// utime + stime from a `/proc/<pid>/stat` line, in seconds.
fn parse_stat(stat: &str) -> Option<f64> {
    // The command name may contain spaces; fields are counted after its closing ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Cores used by the client and the server over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CoresUsed {
    /// The load generator (this process).
    pub client: f64,
    /// The server process.
    pub server: f64,
}

/// Samples CPU time at the start of a window.
pub struct CpuWindow {
    started: Instant,
    client: Option<f64>,
    server: Option<f64>,
    server_pid: Option<u32>,
}

impl CpuWindow {
    /// Starts a window for this process and `server_pid`.
    pub fn start(server_pid: Option<u32>) -> CpuWindow {
        CpuWindow {
            started: Instant::now(),
            client: cpu_seconds(None),
            server: server_pid.and_then(|pid| cpu_seconds(Some(pid))),
            server_pid,
        }
    }

    /// Cores used since the start (0 where unknown).
    pub fn finish(&self) -> CoresUsed {
        let wall = self
            .started
            .elapsed()
            .max(Duration::from_millis(1))
            .as_secs_f64();
        let used = |before: Option<f64>, pid: Option<u32>| match (before, cpu_seconds(pid)) {
            (Some(before), Some(after)) => (after - before) / wall,
            _ => 0.0,
        };
        CoresUsed {
            client: used(self.client, None),
            server: if self.server_pid.is_some() {
                used(self.server, self.server_pid)
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_user_plus_system_time() {
        let line = "4242 (game server) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 130 0 0 20 0 \
                    3 0 100 1000000 2000 18446744073709551615";
        assert_eq!(parse_stat(line), Some(3.8));
        assert_eq!(parse_stat("garbage"), None);
        assert!(cpu_seconds(None).is_some());
    }
}
