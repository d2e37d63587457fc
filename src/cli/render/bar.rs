//! The progress bar: stderr only, and only when options.rs decided to draw
//! one (a terminal, no -q, no --no-progress).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

/// A progress bar on stderr, drawn only for long reads on a terminal.
pub struct Bar(Mutex<Option<ProgressBar>>);

impl Bar {
    pub fn new() -> Bar {
        Bar(Mutex::new(None))
    }
}

impl fwkit::Progress for Bar {
    fn start(&self, total: u64) {
        if total < (64 << 20) {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        {
            bar.set_style(style);
        }
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.0.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(bytes);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.0.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}
