//! Outputs that appear whole or not at all.
//!
//! A review page, a batch folder or a JSON file that stops half-way looks
//! complete to the person who opens it — and a batch is then sent as it
//! stands. So every output is written into a hidden temporary sibling
//! (`.NAME.greet-tmp-PID`) and renamed onto its name only when the run has
//! succeeded; on any error (a template that fails for one language, a full
//! disk) the temporary is removed and nothing is left behind.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The hidden sibling `.NAME.greet-tmp-PID` of `dest`.
fn sibling(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    dest.with_file_name(format!(".{name}.greet-tmp-{}", std::process::id()))
}

/// A folder written in a temporary sibling and renamed into place.
pub struct StagedDir {
    tmp: PathBuf,
    dest: PathBuf,
    /// The outermost folder this run created on the way to `dest`, removed
    /// again if the run fails.
    made: Option<PathBuf>,
    done: bool,
}

impl StagedDir {
    /// Refuses a `dest` that exists and is not an empty folder: a batch
    /// folder holds one batch, never one mixed with older files.
    pub fn new(dest: &Path) -> anyhow::Result<StagedDir> {
        if let Ok(mut entries) = std::fs::read_dir(dest) {
            if entries.next().is_some() {
                return Err(crate::exit::Halt::invalid(format!(
                    "{} is not empty: name a new or empty folder for the batch",
                    dest.display()
                )));
            }
        } else if dest.exists() {
            return Err(crate::exit::Halt::invalid(format!(
                "{} exists and is not a folder: name a new or empty folder for the batch",
                dest.display()
            )));
        }
        let mut made = None;
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            made = parent
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty() && !a.exists())
                .last()
                .map(Path::to_path_buf);
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let staged = StagedDir {
            tmp: sibling(dest),
            dest: dest.to_path_buf(),
            made,
            done: false,
        };
        let _ = std::fs::remove_dir_all(&staged.tmp);
        std::fs::create_dir(&staged.tmp)
            .with_context(|| format!("cannot create {}", staged.tmp.display()))?;
        Ok(staged)
    }

    /// Where to write the files meanwhile.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Put the folder in place (an empty folder there is replaced).
    pub fn commit(mut self) -> anyhow::Result<()> {
        if let Ok(d) = File::open(&self.tmp) {
            let _ = d.sync_all();
        }
        if self.dest.is_dir() {
            // Only an empty folder can be here (checked in `new`).
            let _ = std::fs::remove_dir(&self.dest);
        }
        std::fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot create {}", self.dest.display()))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
            if let Some(made) = &self.made {
                let _ = std::fs::remove_dir_all(made);
            }
        }
    }
}

/// A file written in a temporary sibling and renamed into place.
pub struct StagedFile {
    tmp: PathBuf,
    dest: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl StagedFile {
    pub fn create(dest: &Path) -> anyhow::Result<StagedFile> {
        if dest.is_dir() {
            return Err(crate::exit::Halt::invalid(format!(
                "{} is a folder: name a file for --out",
                dest.display()
            )));
        }
        let tmp = sibling(dest);
        let file =
            File::create(&tmp).with_context(|| format!("cannot create {}", dest.display()))?;
        Ok(StagedFile {
            tmp,
            dest: dest.to_path_buf(),
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// Flush, sync and rename onto the destination.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let writer = self.writer.take().expect("committed once");
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        std::fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot create {}", self.dest.display()))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.writer.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_folder_leaves_nothing_and_a_committed_one_is_whole() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("batch");
        {
            let staged = StagedDir::new(&dest).unwrap();
            std::fs::write(staged.path().join("a.eml"), "x").unwrap();
        }
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        let staged = StagedDir::new(&dest).unwrap();
        std::fs::write(staged.path().join("a.eml"), "x").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read_to_string(dest.join("a.eml")).unwrap(), "x");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        assert!(
            StagedDir::new(&dest).is_err(),
            "a folder with a batch is refused"
        );
    }

    #[test]
    fn a_dropped_file_leaves_nothing_and_an_old_file_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("review.html");
        std::fs::write(&dest, "old").unwrap();
        {
            let mut f = StagedFile::create(&dest).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        let mut f = StagedFile::create(&dest).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
