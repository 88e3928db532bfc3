//! Progress bars on stderr (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use trees_silo::progress::{Progress, Unit};

/// One bar, re-labelled at each stage.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Self {
        Bar(ProgressBar::new(0))
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64, unit: Unit) {
        let template = match unit {
            Unit::Bytes => "{msg:>28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            Unit::Objects => "{msg:>28} [{bar:30}] {pos}/{len} objects {per_sec} {eta}",
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        self.0.set_style(style);
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(name.to_string());
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

/// Peak resident memory of this process (VmHWM), where the OS tells it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
