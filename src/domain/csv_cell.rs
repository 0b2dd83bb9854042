//! The one way wacrm writes CSV: every cell goes through [`defuse`], so a
//! value someone typed (a contact's name, a file's cell) cannot run as a
//! formula when the file is opened in a spreadsheet (OWASP's CSV
//! injection rule). Every CSV download and export writes through
//! [`CsvWriter`]; nothing else writes CSV.

use std::borrow::Cow;
use std::io;

/// A cell a spreadsheet would read as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or carriage return) gets a leading `'`. A plain number
/// (`+4930901820`, `-12.50`) is left as it is: a spreadsheet reads it as a
/// number, which runs nothing, and phone numbers and amounts stay readable.
pub fn defuse(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// A sign, digits, and at most one `.` followed by digits: nothing a
/// spreadsheet could evaluate as more than a number.
fn is_plain_number(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// A CSV writer that defuses every cell it writes (headers included).
pub struct CsvWriter<W: io::Write>(csv::Writer<W>);

impl<W: io::Write> CsvWriter<W> {
    /// Every record as long as the first.
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter(csv::Writer::from_writer(out))
    }

    /// Records of any length (an uploaded file's rows, as they came).
    pub fn flexible(out: W) -> CsvWriter<W> {
        CsvWriter(csv::WriterBuilder::new().flexible(true).from_writer(out))
    }

    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.0.write_record(
            record
                .into_iter()
                .map(|cell| defuse(cell.as_ref()).into_owned()),
        )
    }

    /// Flushes and hands back the output.
    pub fn into_inner(self) -> anyhow::Result<W> {
        self.0
            .into_inner()
            .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_starting_with_a_formula_character_get_a_quote() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "'=HYPERLINK(\"http://evil\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(1)", "'@SUM(1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("=1", "'=1"),
            ("-", "'-"),
            ("+", "'+"),
            ("-1e5", "'-1e5"),
            ("+1.", "'+1."),
            ("-.5", "'-.5"),
            ("+1 555 0100", "'+1 555 0100"),
            ("-1.2.3", "'-1.2.3"),
        ] {
            assert_eq!(defuse(cell), written, "{cell:?}");
        }
    }

    #[test]
    fn other_cells_and_plain_numbers_are_left_as_they_are() {
        for cell in [
            "Maria",
            "",
            "a=b",
            "'=already defused",
            "12",
            "-12.50",
            "+4930901820",
            "-7",
            "2026-12-07",
        ] {
            assert_eq!(defuse(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn defusing_twice_changes_nothing_more() {
        for cell in ["=1", "+1+1", "@x", "-2+3", "plain", "-3"] {
            assert_eq!(defuse(&defuse(cell)), defuse(cell));
        }
    }

    #[test]
    fn the_writer_defuses_every_cell_and_quotes_as_csv_does() {
        let mut writer = CsvWriter::flexible(Vec::new());
        writer.write_record(["=name", "phone"]).unwrap();
        writer
            .write_record(["=HYPERLINK(\"x\")", "+4930901820", "@SUM(1)"])
            .unwrap();
        writer.write_record(["-2+3"]).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(
            text,
            "'=name,phone\n\"'=HYPERLINK(\"\"x\"\")\",+4930901820,'@SUM(1)\n'-2+3\n"
        );
    }
}
