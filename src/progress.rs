//! Progress on stderr while a recording is read: bytes read of the file's
//! total, samples per second and the time left, drawn by indicatif. Only
//! when stderr is a terminal and `-q` was not given; otherwise nothing is
//! drawn and updates cost a branch.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// The progress line of one run.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// A progress line over `total` bytes, drawn when stderr is a terminal
    /// and `quiet` is false.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let shown = !quiet && std::io::stderr().is_terminal();
        Progress {
            bar: shown.then(|| bar(total)),
            started: Instant::now(),
        }
    }

    /// `read` bytes of the file read so far, `samples` samples seen.
    pub fn update(&self, read: u64, samples: u64) {
        let Some(bar) = &self.bar else { return };
        bar.set_position(read);
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            bar.set_message(format!("{:.0} samples/s", samples as f64 / secs));
        }
    }

    /// Clears the line (the output that follows is the program's).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
    let style =
        ProgressStyle::with_template("{bytes}/{total_bytes} [{wide_bar}] {msg}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_draws_nothing() {
        let p = Progress::new(100, true);
        assert!(p.bar.is_none());
        p.update(50, 10);
        p.finish();
    }
}
