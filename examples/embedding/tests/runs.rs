//! The example run as its users run it: twice on one SQLite file, the second run finds
//! the first one's state; dropped without shutdown, it warns on stderr and the change is
//! lost.

use std::process::{Command, Output};

fn run(database: &str, extra: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_spacewars-embedding"))
        .arg(database)
        .args(extra)
        .output()
        .expect("run the example");
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_second_run_finds_the_first_runs_state_and_a_dropped_engine_says_what_it_lost() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join("game.db").display().to_string();

    let first = run(&database, &[]);
    assert_eq!(
        stdout(&first),
        "first run: registering pilot\nfound course: speed 0 angle 0\n\
         set course: speed 1 angle 10\nshut down cleanly\n"
    );

    let second = run(&database, &["--lease-ttl-ms", "300"]);
    assert_eq!(
        stdout(&second),
        "found course: speed 1 angle 10\nset course: speed 2 angle 20\nshut down cleanly\n"
    );

    let dropped = run(&database, &["--drop", "--lease-ttl-ms", "300"]);
    assert_eq!(
        stdout(&dropped),
        "found course: speed 2 angle 20\nset course: speed 3 angle 30\n\
         dropping the engine without shutdown\n"
    );
    // At least the course change is unwritten (on a slow machine the wall clock may have
    // made more pending by then).
    let stderr = String::from_utf8_lossy(&dropped.stderr);
    let lost = stderr
        .split("spacewars engine dropped without Engine::shutdown(): ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse::<u32>().ok());
    assert!(lost >= Some(1), "{stderr}");
    assert!(
        stderr.contains("changes not yet written to the database are lost"),
        "{stderr}"
    );

    // The dropped run's lease expires (300 ms); its course change never reached the file.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let after = run(&database, &[]);
    assert_eq!(
        stdout(&after),
        "found course: speed 2 angle 20\nset course: speed 3 angle 30\nshut down cleanly\n"
    );
}
