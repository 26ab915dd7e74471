//! Progress for long steps: a bar with bytes, rate and ETA on a terminal; in a
//! Nix build (no terminal) a line at each quarter, never a flood. Short steps
//! (under 256 MiB) report nothing.

use std::io::IsTerminal;
use std::time::Instant;

const QUIET_BELOW: u64 = 256 << 20;

pub struct Progress {
    label: String,
    total: u64,
    bar: Option<indicatif::ProgressBar>,
    next_quarter: u64,
    start: Instant,
    enabled: bool,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: u64) -> Self {
        let label = label.into();
        let enabled = total >= QUIET_BELOW && std::env::var_os("NIT_NO_PROGRESS").is_none();
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(label.clone());
            bar
        });
        Progress {
            label,
            total,
            bar,
            next_quarter: 1,
            start: Instant::now(),
            enabled,
        }
    }

    pub fn set(&mut self, pos: u64) {
        if !self.enabled {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
            return;
        }
        while self.next_quarter <= 4 && pos * 4 >= self.total * self.next_quarter {
            let secs = self.start.elapsed().as_secs_f64().max(1e-3);
            crate::diag::note(format_args!(
                "{}: {}% ({} of {}, {:.0} MiB/s)",
                self.label,
                self.next_quarter * 25,
                crate::units::human(pos),
                crate::units::human(self.total),
                pos as f64 / secs / crate::units::MIB as f64
            ));
            self.next_quarter += 1;
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
