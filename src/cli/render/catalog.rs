//! `fwkit verify --catalog`: one line (text) or one JSON object (JSON Lines)
//! per entry as it is done, in catalogue order, then the summary; a progress
//! bar (entries, bytes, ETA) on stderr when it is a terminal.

use super::text::safe;
use super::{Detail, Mode, SCHEMA};
use crate::cli::args::ReportOutput;
use fwkit::catalog::{CatalogReport, EntryReport, Event};
use fwkit::{Check, Verdict};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::{self, IsTerminal, Write};

/// Where the entries go while the catalogue is verified.
pub struct Output {
    mode: Mode,
    out: io::BufWriter<io::Stdout>,
    bar: Option<ProgressBar>,
    draw_bar: bool,
    total_bytes: u64,
    done_bytes: u64,
    /// Entries shown without -v (failed or weak), and those left out.
    shown: usize,
    hidden: usize,
}

/// Failed or weak entries shown without `-v`; the rest are counted and
/// named in the summary (every entry is in `--json`).
const SHOWN_ENTRIES: usize = 20;

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    schema: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl Output {
    pub fn new(mode: Mode, show: &ReportOutput) -> Output {
        let draw_bar = mode != Mode::Json
            && mode != Mode::Quiet
            && !show.no_progress
            && io::stderr().is_terminal();
        Output {
            mode,
            out: io::BufWriter::with_capacity(64 << 10, io::stdout()),
            bar: None,
            draw_bar,
            total_bytes: 0,
            done_bytes: 0,
            shown: 0,
            hidden: 0,
        }
    }

    /// Show `event`. A reader that went away (`… | head`) stops the output,
    /// not the run: the exit status still answers for every entry.
    pub fn event(&mut self, event: Event<'_>) -> io::Result<()> {
        match self.show(event) {
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                self.mode = Mode::Quiet;
                Ok(())
            }
            other => other,
        }
    }

    fn show(&mut self, event: Event<'_>) -> io::Result<()> {
        match event {
            Event::Start { entries, bytes } => {
                self.total_bytes = bytes;
                if self.draw_bar {
                    self.bar = Some(bar(entries));
                }
                Ok(())
            }
            Event::Entry(entry) => {
                self.done_bytes = self.done_bytes.saturating_add(entry.size.unwrap_or(0));
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    bar.set_message(format!(
                        "{}/{}",
                        indicatif::HumanBytes(self.done_bytes),
                        indicatif::HumanBytes(self.total_bytes)
                    ));
                }
                self.entry(entry)
            }
        }
    }

    fn entry(&mut self, entry: &EntryReport) -> io::Result<()> {
        match self.mode {
            Mode::Quiet => Ok(()),
            Mode::Json => {
                let line = Line {
                    schema: SCHEMA,
                    kind: "entry",
                    body: entry,
                };
                serde_json::to_writer(&mut self.out, &line).map_err(io::Error::from)?;
                self.out.write_all(b"\n")?;
                self.out.flush()
            }
            Mode::Text(detail) => {
                // Without -v a verified entry is only counted, and at most
                // SHOWN_ENTRIES others are listed: the output fits a screen
                // whatever the size of the mirror.
                if detail == Detail::Summary {
                    let notable = entry.weak || !entry.verdict.is_verified();
                    if !notable {
                        return Ok(());
                    }
                    if self.shown >= SHOWN_ENTRIES {
                        self.hidden = self.hidden.saturating_add(1);
                        return Ok(());
                    }
                    self.shown = self.shown.saturating_add(1);
                }
                let text = entry_text(entry, detail);
                match &self.bar {
                    Some(bar) => bar.suspend(|| write_flush(&mut self.out, &text)),
                    None => write_flush(&mut self.out, &text),
                }
            }
        }
    }

    pub fn summary(&mut self, report: &CatalogReport) -> io::Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        match self.mode {
            Mode::Quiet => Ok(()),
            Mode::Json => {
                let line = Line {
                    schema: SCHEMA,
                    kind: "summary",
                    body: report,
                };
                serde_json::to_writer(&mut self.out, &line).map_err(io::Error::from)?;
                self.out.write_all(b"\n")?;
                self.out.flush()
            }
            Mode::Text(detail) => {
                let mut text = String::new();
                if self.hidden > 0 {
                    text.push_str(&format!(
                        "… and {} more failed or weak entries (see -v or --json)\n",
                        self.hidden
                    ));
                }
                text.push_str(&summary_text(report, detail));
                write_flush(&mut self.out, &text)
            }
        }
    }
}

fn write_flush(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn bar(entries: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(entries).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} packages {msg} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// `ok      path (format)`, `weak    path …`, or `FAILED  path` and its reasons.
fn entry_text(entry: &EntryReport, detail: Detail) -> String {
    let path = safe(&entry.path);
    let format = entry
        .format
        .map(|f| format!(" ({})", f.name()))
        .unwrap_or_default();
    let mut text = match (&entry.verdict, entry.weak) {
        (Verdict::Verified, false) => format!("ok      {path}{format}\n"),
        (Verdict::Verified, true) => {
            format!("weak    {path}{format}: only a weak digest (MD5 or SHA-1) in the catalogue\n")
        }
        (Verdict::NotVerified { reasons }, _) => {
            let mut text = format!("FAILED  {path}{format}\n");
            for reason in reasons {
                text.push_str(&format!("        {}\n", safe(reason)));
            }
            text
        }
    };
    if detail == Detail::Full {
        for check in &entry.checks {
            text.push_str(&format!(
                "        {}: {}\n",
                outcome(check),
                safe(&check.summary())
            ));
        }
        for warning in &entry.warnings {
            text.push_str(&format!("        warning: {}\n", safe(warning)));
        }
    }
    text
}

fn summary_text(report: &CatalogReport, detail: Detail) -> String {
    let mut text = format!(
        "catalogue: {} ({}), {} entries",
        safe(&report.catalogue.display().to_string()),
        report.kind,
        report.entries
    );
    if let Some(shard) = report.shard {
        text.push_str(&format!(", shard {}/{}", shard.index, shard.count));
    }
    text.push('\n');
    for check in &report.checks {
        text.push_str(&format!("{}: {}\n", outcome(check), safe(&check.summary())));
    }
    let shown = if detail == Detail::Full {
        usize::MAX
    } else {
        SHOWN_ENTRIES
    };
    for name in report.unlisted.iter().take(shown) {
        text.push_str(&format!("unlisted: {}\n", safe(name)));
    }
    if report.unlisted.len() > shown {
        text.push_str(&format!(
            "unlisted: … {} more (-v lists them all)\n",
            report.unlisted.len().saturating_sub(shown)
        ));
    }
    text.push_str(&format!(
        "checked {} entries ({} bytes): {} verified, {} of them on a weak digest alone (MD5 or SHA-1)\n",
        report.checked, report.bytes, report.verified, report.weak
    ));
    match &report.verdict {
        Verdict::Verified => text.push_str("verdict: verified\n"),
        Verdict::NotVerified { reasons } => {
            text.push_str("verdict: NOT VERIFIED\n");
            for reason in reasons {
                text.push_str(&format!("  - {}\n", safe(reason)));
            }
        }
    }
    text
}

fn outcome(check: &Check) -> &'static str {
    match check.outcome {
        fwkit::Outcome::Passed => "passed",
        fwkit::Outcome::Failed => "FAILED",
        fwkit::Outcome::NotRun => "NOT RUN",
        fwkit::Outcome::Info => "info",
    }
}
