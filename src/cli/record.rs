//! The recording step of `perfold flamegraph -- CMD` and `perfold fold -- CMD`:
//! the real perf records with cargo-flamegraph 0.6.15's defaults
//! (`perf record -F 997 --call-graph dwarf,64000 -g -o perf.data CMD`), or
//! attaches to running processes with `-p` until Ctrl-C.
//!
//! While perf runs, perfold ignores Ctrl-C (a handler that does nothing, so
//! the programs perf starts keep the default action): perf stops recording
//! on it and perfold goes on to draw what was recorded.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;

use super::perf_exec::find_perf;

#[derive(Args, Debug, Clone, Default)]
#[command(
    next_help_heading = "Recording (perfold records with perf first when given a command or -p)"
)]
pub struct RecordArgs {
    /// Sampling frequency of the recording, as perf record -F [default: 997, as cargo-flamegraph]
    #[arg(short = 'F', long = "freq", value_name = "HZ")]
    pub freq: Option<u32>,

    /// Call graph mode of the recording, as perf record --call-graph [default: dwarf,64000]
    #[arg(long = "call-graph", value_name = "MODE")]
    pub call_graph: Option<String>,

    /// Record the running process(es) PID[,PID...] until Ctrl-C, as perf record -p
    #[arg(
        short = 'p',
        long = "attach",
        value_name = "PID",
        conflicts_with = "command"
    )]
    pub attach: Option<String>,

    /// The command to record, after `--` (perfold flamegraph -- ./prog args)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

impl RecordArgs {
    /// Whether there is something to record.
    pub fn wanted(&self) -> bool {
        self.attach.is_some() || !self.command.is_empty()
    }

    /// perf record's arguments, writing to `output`.
    pub fn perf_args(&self, output: &Path) -> Vec<OsString> {
        let freq = self.freq.unwrap_or(997).to_string();
        let call_graph = self.call_graph.as_deref().unwrap_or("dwarf,64000");
        let mut args: Vec<OsString> = [
            "record",
            "-F",
            &freq,
            "--call-graph",
            call_graph,
            "-g",
            "-o",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push(output.into());
        match &self.attach {
            Some(pids) => {
                args.push("-p".into());
                args.push(pids.into());
            }
            None => {
                args.push("--".into());
                args.extend(self.command.iter().cloned());
            }
        }
        args
    }

    /// Runs perf record into `output`; the error line if it failed. With
    /// `keep_stdout_clean` (perfold's result goes to standard output), what
    /// perf and the recorded command print there goes to standard error.
    pub fn record(&self, output: &Path, keep_stdout_clean: bool) -> Result<(), String> {
        let perf = find_perf()?;
        let args = self.perf_args(output);
        let mut command = Command::new(&perf);
        command.args(&args);
        if keep_stdout_clean {
            use std::os::fd::AsFd;
            if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
                command.stdout(Stdio::from(fd));
            }
        }
        let previous = ignore_interrupts();
        let status = command.status();
        restore_interrupts(previous);
        let status = status.map_err(|e| format!("{}: {e}", perf.display()))?;
        if status.success() {
            return Ok(());
        }
        let how = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".to_string(),
        };
        Err(format!(
            "perf record failed ({how}): {} {}",
            perf.display(),
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        ))
    }
}

/// Where the recording goes: the input named on the command line, else
/// ./perf.data (perf keeps the previous one as perf.data.old).
pub fn recording_path(input: Option<&PathBuf>) -> PathBuf {
    input.cloned().unwrap_or_else(|| PathBuf::from("perf.data"))
}

extern "C" fn ignore(_: libc::c_int) {}

fn ignore_interrupts() -> [libc::sigaction; 2] {
    // SAFETY: sigaction with a valid handler that does nothing; the old
    // actions are kept to be restored.
    unsafe {
        let mut previous: [libc::sigaction; 2] = std::mem::zeroed();
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, &mut previous[0]);
        libc::sigaction(libc::SIGQUIT, &action, &mut previous[1]);
        previous
    }
}

fn restore_interrupts(previous: [libc::sigaction; 2]) {
    // SAFETY: restores the actions ignore_interrupts saved.
    unsafe {
        libc::sigaction(libc::SIGINT, &previous[0], std::ptr::null_mut());
        libc::sigaction(libc::SIGQUIT, &previous[1], std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_flamegraph_defaults() {
        let r = RecordArgs {
            command: vec!["./prog".into(), "arg".into()],
            ..Default::default()
        };
        let args: Vec<String> = r
            .perf_args(Path::new("perf.data"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "record -F 997 --call-graph dwarf,64000 -g -o perf.data -- ./prog arg"
        );
    }

    #[test]
    fn attach_and_overrides() {
        let r = RecordArgs {
            freq: Some(99),
            call_graph: Some("fp".into()),
            attach: Some("12,34".into()),
            ..Default::default()
        };
        let args: Vec<String> = r
            .perf_args(Path::new("x.data"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "record -F 99 --call-graph fp -g -o x.data -p 12,34"
        );
    }
}
