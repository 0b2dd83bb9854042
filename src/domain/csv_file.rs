//! Reading an uploaded CSV: UTF-8 only (a byte-order mark is dropped), the
//! first row names the columns, rows may have more or fewer cells than the
//! header (those rows fail one by one, not the whole file).

/// Larger uploads are refused before they are stored.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
const MAX_COLUMNS: usize = 200;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An upload that can be imported.
#[derive(Debug)]
pub struct CsvFile {
    /// The file without its byte-order mark.
    pub bytes: Vec<u8>,
    pub columns: Vec<String>,
    pub rows: usize,
    /// Where the first row after the header starts.
    pub data_start: u64,
}

/// Checks the upload; the error says what is wrong in words a person can act on.
pub fn inspect(upload: &[u8]) -> Result<CsvFile, String> {
    let bytes = upload.strip_prefix(BOM).unwrap_or(upload).to_vec();
    if let Err(e) = std::str::from_utf8(&bytes) {
        return Err(format!(
            "The file is not UTF-8 text (the first bad byte is at position {}). \
             In your spreadsheet, save it as “CSV UTF-8” and upload it again.",
            e.valid_up_to()
        ));
    }
    let mut reader = reader(&bytes);
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err("The file is empty: the first row must name the columns.".into()),
        Some(Err(e)) => return Err(describe(&e)),
        Some(Ok(header)) => header,
    };
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| match name.trim() {
            "" => format!("Column {}", i + 1),
            name => name.to_owned(),
        })
        .collect();
    if columns.len() > MAX_COLUMNS {
        return Err(format!(
            "The file has {} columns; at most {MAX_COLUMNS} can be imported.",
            columns.len()
        ));
    }
    let data_start = reader.position().byte();
    let mut rows = 0;
    for record in reader.records() {
        record.map_err(|e| describe(&e))?;
        rows += 1;
    }
    if rows == 0 {
        return Err("The file has a header row but no contacts under it.".into());
    }
    Ok(CsvFile {
        bytes,
        columns,
        rows,
        data_start,
    })
}

/// Up to `max` rows from byte `offset`, each with the offset just after it.
pub fn rows_from(bytes: &[u8], offset: u64, max: usize) -> Result<Vec<(Vec<String>, u64)>, String> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let mut reader = reader(&bytes[start..]);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while rows.len() < max {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let end = offset + reader.position().byte();
                rows.push((record.iter().map(str::to_owned).collect(), end));
            }
            Err(e) => return Err(describe(&e)),
        }
    }
    Ok(rows)
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

fn describe(e: &csv::Error) -> String {
    match e.position() {
        Some(p) => format!(
            "The file could not be read as CSV near line {}: {e}.",
            p.line()
        ),
        None => format!("The file could not be read as CSV: {e}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_with_a_bom_and_quoted_cells_is_read() {
        let file =
            inspect(b"\xEF\xBB\xBFName,Phone\n\"Souza, Maria\",+55 11 91234 5678\nAna,\n").unwrap();
        assert_eq!(file.columns, vec!["Name", "Phone"]);
        assert_eq!(file.rows, 2);
        let rows = rows_from(&file.bytes, file.data_start, 10).unwrap();
        assert_eq!(rows[0].0, vec!["Souza, Maria", "+55 11 91234 5678"]);
        assert_eq!(rows[1].0, vec!["Ana", ""]);
        // Resuming from a row's end gives the rows after it.
        let rest = rows_from(&file.bytes, rows[0].1, 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].0, vec!["Ana", ""]);
        assert_eq!(rest[0].1, file.bytes.len() as u64);
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert!(
            inspect(b"Name\n\xff\xfe\n")
                .unwrap_err()
                .contains("not UTF-8")
        );
        assert!(inspect(b"").unwrap_err().contains("empty"));
        assert!(
            inspect(b"Name,Phone\n")
                .unwrap_err()
                .contains("no contacts")
        );
        let wide = format!("{}\nx\n", vec!["c"; 201].join(","));
        assert!(
            inspect(wide.as_bytes())
                .unwrap_err()
                .contains("201 columns")
        );
    }

    #[test]
    fn ragged_rows_are_kept_for_the_importer_to_refuse() {
        let file = inspect(b"a,b,c\n1,2\n1,2,3,4\n").unwrap();
        let rows = rows_from(&file.bytes, file.data_start, 10).unwrap();
        assert_eq!(rows[0].0.len(), 2);
        assert_eq!(rows[1].0.len(), 4);
    }
}
