//! Writing an export to disk: each table as JSON Lines and CSV while its
//! rows arrive, then one `.tar.gz` of those files, the media files, a
//! manifest (each file's size and SHA-256) and `SHA256SUMS`, so
//! `tar -xzf` and `sha256sum -c SHA256SUMS` check it with standard tools.
//! Everything streams: memory does not grow with the workspace. Blocking
//! file I/O; run it off the async threads.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::domain::csv_cell::CsvWriter;

/// A file's size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: String,
}

/// Counts and hashes what is written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub fn finish(mut self) -> io::Result<(W, Digest)> {
        self.inner.flush()?;
        let digest = Digest {
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        };
        Ok((self.inner, digest))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes what is read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

type Output = HashingWriter<BufWriter<File>>;

fn create(path: &Path) -> io::Result<Output> {
    Ok(HashingWriter::new(BufWriter::new(File::create(path)?)))
}

/// A file to put in the archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its path inside the archive's folder (`messages.jsonl`, `media/…`).
    pub name: String,
    pub source: PathBuf,
    /// Known when it was written here; otherwise hashed while archived.
    pub digest: Option<Digest>,
    /// For a table's files: how many rows.
    pub rows: Option<u64>,
}

/// One table's `.jsonl` and `.csv`, written row by row.
pub struct TableWriter {
    table: String,
    dir: PathBuf,
    columns: Vec<String>,
    jsonl: Output,
    csv: CsvWriter<Output>,
    rows: u64,
}

impl TableWriter {
    pub fn create(dir: &Path, table: &str, columns: Vec<String>) -> anyhow::Result<TableWriter> {
        let jsonl = create(&dir.join(format!("{table}.jsonl")))?;
        let mut csv = CsvWriter::new(create(&dir.join(format!("{table}.csv")))?);
        csv.write_record(&columns)?;
        Ok(TableWriter {
            table: table.to_owned(),
            dir: dir.to_owned(),
            columns,
            jsonl,
            csv,
            rows: 0,
        })
    }

    /// One row, as the JSON object Postgres made of it.
    pub fn row(&mut self, json: &str) -> anyhow::Result<()> {
        self.jsonl.write_all(json.as_bytes())?;
        self.jsonl.write_all(b"\n")?;
        let object: serde_json::Map<String, Value> = serde_json::from_str(json)?;
        let cells = self.columns.iter().map(|c| csv_cell(object.get(c)));
        self.csv.write_record(cells)?;
        self.rows += 1;
        Ok(())
    }

    /// The two files, with their sizes and hashes.
    pub fn finish(self) -> anyhow::Result<[Entry; 2]> {
        let (_, jsonl) = self.jsonl.finish()?;
        let (_, csv) = self.csv.into_inner()?.finish()?;
        let entry = |ext: &str, digest: Digest| Entry {
            name: format!("{}.{ext}", self.table),
            source: self.dir.join(format!("{}.{ext}", self.table)),
            digest: Some(digest),
            rows: Some(self.rows),
        };
        Ok([entry("jsonl", jsonl), entry("csv", csv)])
    }
}

/// A spreadsheet cell: text as is, other values as JSON, null empty (the
/// writer defuses formulas).
fn csv_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

const README: &str = "This is an export of data kept by wacrm.\n\n\
Each table is here twice: as JSON Lines (<table>.jsonl: one JSON object a line, exact values)\n\
and as CSV (<table>.csv: for spreadsheets; a cell starting with = + - @, a tab or a carriage\n\
return, other than a plain number, gets a leading ' so a spreadsheet does not run it as a\n\
formula). Files sent or received in chats are in media/, named by the media id a message's\n\
\"url\" (/media/<id>) points at.\n\n\
manifest.json lists every file with its size and SHA-256. To check them:\n\
    sha256sum -c SHA256SUMS\n\
Its \"left_out\" names what is not here and why (secrets such as keys and tokens,\n\
session and queue state, counters).\n";

/// Writes the archive to `out`: `folder/` holding the entries, then
/// `manifest.json` (`head` and the file list), `SHA256SUMS`, `README.txt`.
/// Entries come one at a time and the manifest and sums are written to
/// files in `scratch` as they go, so nothing grows with the number of
/// files. Entries whose source is gone (a file deleted meanwhile) are
/// listed as missing. The archive's own size and hash.
pub fn write(
    out: &Path,
    folder: &str,
    scratch: &Path,
    entries: impl Iterator<Item = anyhow::Result<Entry>>,
    head: Value,
) -> anyhow::Result<Digest> {
    let file = HashingWriter::new(BufWriter::new(File::create(out)?));
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let manifest_path = scratch.join(".manifest.json");
    let sums_path = scratch.join(".SHA256SUMS");
    let mut manifest = BufWriter::new(File::create(&manifest_path)?);
    let mut sums = BufWriter::new(File::create(&sums_path)?);
    // The head's fields, then the files one a line, then the missing ones.
    let head = serde_json::to_string(&head)?;
    let head = head
        .strip_suffix('}')
        .ok_or_else(|| anyhow::anyhow!("the manifest head is an object"))?;
    write!(
        manifest,
        "{head}{}\"files\": [",
        if head.len() > 1 { ", " } else { "" }
    )?;
    let mut missing = Vec::new();
    let mut first = true;
    for entry in entries {
        let entry = entry?;
        let source = match File::open(&entry.source) {
            Ok(source) => source,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(entry.name.clone());
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let size = source.metadata()?.len();
        let mut reader = HashingReader {
            inner: source,
            hasher: Sha256::new(),
            size: 0,
        };
        let mut header = file_header(size, mtime);
        tar.append_data(&mut header, format!("{folder}/{}", entry.name), &mut reader)?;
        anyhow::ensure!(
            reader.size == size,
            "{} changed while it was archived",
            entry.name
        );
        let digest = Digest {
            size,
            sha256: hex::encode(reader.hasher.finalize()),
        };
        if let Some(known) = &entry.digest {
            anyhow::ensure!(
                known == &digest,
                "{} changed after it was written",
                entry.name
            );
        }
        let mut listed = json!({"path": entry.name, "size": digest.size, "sha256": digest.sha256});
        if let Some(rows) = entry.rows {
            listed["rows"] = json!(rows);
        }
        write!(manifest, "{}\n  {listed}", if first { "" } else { "," })?;
        first = false;
        writeln!(sums, "{}  {}", digest.sha256, entry.name)?;
    }
    writeln!(manifest, "\n], \"missing_files\": {}}}", json!(missing))?;
    manifest
        .into_inner()
        .map_err(|e| anyhow::anyhow!("manifest: {}", e.error()))?;
    sums.into_inner()
        .map_err(|e| anyhow::anyhow!("sums: {}", e.error()))?;
    for (name, path) in [
        ("manifest.json", &manifest_path),
        ("SHA256SUMS", &sums_path),
    ] {
        let source = File::open(path)?;
        let mut header = file_header(source.metadata()?.len(), mtime);
        tar.append_data(&mut header, format!("{folder}/{name}"), source)?;
    }
    let mut header = file_header(README.len() as u64, mtime);
    tar.append_data(
        &mut header,
        format!("{folder}/README.txt"),
        README.as_bytes(),
    )?;
    let gz = tar.into_inner()?;
    let hashing = gz.finish()?;
    let (buffered, digest) = hashing.finish()?;
    buffered
        .into_inner()
        .map_err(|e| anyhow::anyhow!("flushing the archive: {}", e.error()))?
        .sync_all()?;
    Ok(digest)
}

fn file_header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_holds_the_tables_and_a_manifest_that_checks_out() {
        let dir = std::env::temp_dir().join(format!("wacrm-archive-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut contacts = TableWriter::create(
            &dir,
            "contacts",
            vec!["id".into(), "name".into(), "attributes".into()],
        )
        .unwrap();
        contacts
            .row(r#"{"id":"a","name":"=HYPERLINK(\"x\")","attributes":{"vip":true}}"#)
            .unwrap();
        contacts
            .row(r#"{"id":"b","name":"Bo, \"the\" one","attributes":null}"#)
            .unwrap();
        let mut entries = contacts.finish().unwrap().to_vec();
        std::fs::write(dir.join("photo"), b"\x89PNG...").unwrap();
        entries.push(Entry {
            name: "media/m1-photo.png".into(),
            source: dir.join("photo"),
            digest: None,
            rows: None,
        });
        entries.push(Entry {
            name: "media/gone.png".into(),
            source: dir.join("gone"),
            digest: None,
            rows: None,
        });
        let out = dir.join("export.tar.gz");
        let digest = write(
            &out,
            "export",
            &dir,
            entries.into_iter().map(Ok),
            json!({"format": "wacrm-export-1"}),
        )
        .unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(digest.size, bytes.len() as u64);
        assert_eq!(digest.sha256, hex::encode(Sha256::digest(&bytes)));

        let mut files = std::collections::HashMap::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            files.insert(path, content);
        }
        let csv = String::from_utf8(files["export/contacts.csv"].clone()).unwrap();
        assert_eq!(
            csv,
            "id,name,attributes\na,\"'=HYPERLINK(\"\"x\"\")\",\"{\"\"vip\"\":true}\"\nb,\"Bo, \"\"the\"\" one\",\n"
        );
        let manifest: Value = serde_json::from_slice(&files["export/manifest.json"]).unwrap();
        assert_eq!(manifest["format"], "wacrm-export-1");
        assert_eq!(manifest["missing_files"], json!(["media/gone.png"]));
        for file in manifest["files"].as_array().unwrap() {
            let content = &files[&format!("export/{}", file["path"].as_str().unwrap())];
            assert_eq!(file["size"], content.len());
            assert_eq!(file["sha256"], hex::encode(Sha256::digest(content)));
        }
        assert_eq!(manifest["files"][0]["rows"], 2);
        let sums = String::from_utf8(files["export/SHA256SUMS"].clone()).unwrap();
        assert_eq!(sums.lines().count(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
