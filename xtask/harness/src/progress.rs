//! Progress of the long tool runs (the capacity ramp, the drills) on the terminal, with
//! `indicatif`. Bars draw on stderr only when it is a terminal, so piped reports stay as
//! they were; lines printed through [`Progress::println`] go above the bar.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar (a known count of cycles) or a spinner (steps until a limit).
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `len` units named `what` (e.g. "cycles").
    pub fn bar(len: u64, what: &str) -> Progress {
        let bar = ProgressBar::new(len);
        let template = format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(500));
        Progress { bar }
    }

    /// A spinner for runs whose length is not known beforehand.
    pub fn spinner() -> Progress {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// What is running now.
    pub fn set_message(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// One unit done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Prints `line` on stdout, above the bar.
    pub fn println(&self, line: impl AsRef<str>) {
        self.bar.suspend(|| println!("{}", line.as_ref()));
    }

    /// Runs `print` (which prints on stdout) with the bar out of the way.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.bar.suspend(print)
    }

    /// Removes the bar (before the final report).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
