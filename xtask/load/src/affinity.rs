//! CPU affinity of the measured server and of the load generator, so a figure such as
//! "players held" is one of a known number of server cores. The generator pins itself
//! with `sched_setaffinity` (through rustix) before its runtime starts, so every thread
//! it makes inherits the set; the server is started under `taskset -c` (util-linux), which
//! sets the set before the server's own threads exist.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
use tokio::process::Command;

/// A list of CPUs as `taskset -c` and the kernel write it: `0`, `0,2`, `1-3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(Vec<usize>);

impl CpuList {
    /// The CPUs, ascending, without repeats.
    pub fn cpus(&self) -> &[usize] {
        &self.0
    }

    /// A list of the given CPUs.
    pub fn of(cpus: impl IntoIterator<Item = usize>) -> CpuList {
        let mut cpus: Vec<usize> = cpus.into_iter().collect();
        cpus.sort_unstable();
        cpus.dedup();
        CpuList(cpus)
    }
}

impl FromStr for CpuList {
    type Err = String;

    fn from_str(list: &str) -> Result<CpuList, String> {
        let mut cpus = Vec::new();
        for part in list.split(',').map(str::trim) {
            let number = |s: &str| {
                s.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("`{s}` is not a CPU number (e.g. 0, 0,2 or 1-3)"))
            };
            match part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (number(from)?, number(to)?);
                    if from > to || to >= CpuSet::MAX_CPU {
                        return Err(format!("`{part}` is not a range of CPUs"));
                    }
                    cpus.extend(from..=to);
                }
                None => cpus.push(number(part)?),
            }
        }
        if let Some(&cpu) = cpus.iter().find(|&&cpu| cpu >= CpuSet::MAX_CPU) {
            return Err(format!("CPU {cpu} is beyond what the kernel's set holds"));
        }
        Ok(CpuList::of(cpus))
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpus: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&cpus.join(","))
    }
}

/// `--server-cpus` / `--generator-cpus`: a list, or `none` for no pinning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuChoice {
    /// Leave the process on every CPU it may use.
    Unpinned,
    /// Pin it to these CPUs.
    Pinned(CpuList),
}

impl FromStr for CpuChoice {
    type Err = String;

    fn from_str(value: &str) -> Result<CpuChoice, String> {
        if value.trim() == "none" {
            return Ok(CpuChoice::Unpinned);
        }
        let list: CpuList = value.parse()?;
        if list.cpus().is_empty() {
            return Err("an empty CPU list".to_owned());
        }
        Ok(CpuChoice::Pinned(list))
    }
}

/// The affinity flags (`load capacity`, `load soak`, `load sync`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Affinity {
    /// CPUs of the measured server (`taskset -c` syntax: 0, 0,2, 1-3; `none`: not
    /// pinned). Default for capacity and soak: the first CPU this process may use.
    #[arg(long, value_name = "LIST")]
    pub server_cpus: Option<CpuChoice>,
    /// CPUs of the load generator (this process; same syntax). Default for capacity and
    /// soak: the second CPU this process may use.
    #[arg(long, value_name = "LIST")]
    pub generator_cpus: Option<CpuChoice>,
}

impl Affinity {
    /// Fills the choices left open: with `pin_by_default` the server gets the first
    /// allowed CPU and the generator the second (when there are two), else nothing is
    /// pinned.
    pub fn resolved(&self, pin_by_default: bool, allowed: &CpuList) -> Affinity {
        let default = |index: usize| match allowed.cpus() {
            cpus if pin_by_default && cpus.len() >= 2 => {
                CpuChoice::Pinned(CpuList::of([cpus[index]]))
            }
            _ => CpuChoice::Unpinned,
        };
        Affinity {
            server_cpus: Some(self.server_cpus.clone().unwrap_or_else(|| default(0))),
            generator_cpus: Some(self.generator_cpus.clone().unwrap_or_else(|| default(1))),
        }
    }

    /// The server's CPUs, when pinned.
    pub fn server(&self) -> Option<&CpuList> {
        pinned(self.server_cpus.as_ref())
    }

    /// The generator's CPUs, when pinned.
    pub fn generator(&self) -> Option<&CpuList> {
        pinned(self.generator_cpus.as_ref())
    }

    /// One line saying where each side runs.
    pub fn describe(&self) -> String {
        let side = |cpus: Option<&CpuList>| match cpus {
            Some(list) if list.cpus().len() == 1 => format!("pinned to CPU {list}"),
            Some(list) => format!("pinned to CPUs {list}"),
            None => "not pinned".to_owned(),
        };
        let overlap = match (self.server(), self.generator()) {
            (Some(s), Some(g)) if s.cpus().iter().any(|c| g.cpus().contains(c)) => {
                " (they share CPUs)"
            }
            _ => "",
        };
        format!(
            "server {}, load generator {}{overlap}; other processes on the machine may \
             still run on either",
            side(self.server()),
            side(self.generator())
        )
    }
}

fn pinned(choice: Option<&CpuChoice>) -> Option<&CpuList> {
    match choice {
        Some(CpuChoice::Pinned(list)) => Some(list),
        _ => None,
    }
}

/// The CPUs this process may run on now.
pub fn allowed() -> anyhow::Result<CpuList> {
    let set = sched_getaffinity(None).context("reading this process's CPU affinity")?;
    Ok(CpuList::of(
        (0..CpuSet::MAX_CPU).filter(|&cpu| set.is_set(cpu)),
    ))
}

/// Pins the calling thread, and so every thread it starts afterwards (call it before the
/// runtime is built), to `cpus`.
pub fn pin_this_process(cpus: &CpuList) -> anyhow::Result<()> {
    let mut set = CpuSet::new();
    for &cpu in cpus.cpus() {
        set.set(cpu);
    }
    sched_setaffinity(None, &set).with_context(|| format!("pinning the load generator to {cpus}"))
}

/// The command that starts `binary`, under `taskset -c` when `cpus` is given.
pub fn server_command(binary: &Path, cpus: Option<&CpuList>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus.to_string()).arg(binary);
            command
        }
        None => Command::new(binary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_as_taskset_writes_them() {
        let list: CpuList = "3,0-1, 1".parse().expect("parses");
        assert_eq!(list.cpus(), [0, 1, 3]);
        assert_eq!(list.to_string(), "0,1,3");
        assert!("2-1".parse::<CpuList>().is_err());
        assert!("a".parse::<CpuList>().is_err());
        assert_eq!("none".parse::<CpuChoice>(), Ok(CpuChoice::Unpinned));
        assert_eq!(
            "1".parse::<CpuChoice>(),
            Ok(CpuChoice::Pinned(CpuList::of([1])))
        );
    }

    #[test]
    fn by_default_the_server_gets_the_first_cpu_and_the_generator_the_second() {
        let two = CpuList::of([4, 6]);
        let pinned = Affinity::default().resolved(true, &two);
        assert_eq!(pinned.server(), Some(&CpuList::of([4])));
        assert_eq!(pinned.generator(), Some(&CpuList::of([6])));
        assert_eq!(
            pinned.describe(),
            "server pinned to CPU 4, load generator pinned to CPU 6; other processes on \
             the machine may still run on either"
        );
        // One CPU, or no default pinning: nothing is pinned unless asked.
        let one = Affinity::default().resolved(true, &CpuList::of([0]));
        assert_eq!((one.server(), one.generator()), (None, None));
        let asked = Affinity {
            server_cpus: Some(CpuChoice::Pinned(CpuList::of([0, 1]))),
            generator_cpus: None,
        }
        .resolved(false, &two);
        assert_eq!(asked.server(), Some(&CpuList::of([0, 1])));
        assert_eq!(asked.generator(), None);
    }

    #[test]
    fn the_server_command_runs_under_taskset_when_pinned() {
        let pinned = server_command(Path::new("/bin/game"), Some(&CpuList::of([0, 2])));
        let std = pinned.as_std();
        assert_eq!(std.get_program(), "taskset");
        let args: Vec<_> = std.get_args().collect();
        assert_eq!(args, ["-c", "0,2", "/bin/game"]);
        let free = server_command(Path::new("/bin/game"), None);
        assert_eq!(free.as_std().get_program(), "/bin/game");
    }
}
