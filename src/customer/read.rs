//! The streaming CSV reader and the duplicate scan.
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::decode::{self, Detected};
use super::{Customer, Gender, dates, email, invisible};
use crate::config::{COLUMNS, Config, DateOrder, is_language_tag};
use crate::feast::Tradition;
use crate::problem::Problem;

/// Where each known column is, by 0-based field index.
#[derive(Debug, Default, Clone)]
struct Columns {
    known: Known,
    /// (index, normalised name) of every other column.
    extra: Vec<(usize, String)>,
}

/// The known columns found: (name, 0-based field index), a handful at most.
/// Looked up for every cell of every row, so a short list rather than a hash map.
#[derive(Debug, Default, Clone)]
struct Known(Vec<(&'static str, usize)>);

impl Known {
    fn get(&self, name: &str) -> Option<&usize> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, i)| i)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Record `name` at `index`; the index it had already, if any (kept).
    fn insert(&mut self, name: &'static str, index: usize) -> Option<usize> {
        match self.get(name) {
            Some(first) => Some(*first),
            None => {
                self.0.push((name, index));
                None
            }
        }
    }
}

/// The field index of each known column, looked up by name once (when the
/// header is read), so that a row's cells are found without comparing names.
#[derive(Debug, Default, Clone, Copy)]
struct At {
    id: Option<usize>,
    email: Option<usize>,
    first_name: Option<usize>,
    last_name: Option<usize>,
    gender: Option<usize>,
    language: Option<usize>,
    birthday: Option<usize>,
    customer_since: Option<usize>,
    opt_out: Option<usize>,
    tradition: Option<usize>,
}

impl At {
    fn of(known: &Known) -> At {
        let at = |name: &str| known.get(name).copied();
        At {
            id: at("id"),
            email: at("email"),
            first_name: at("first_name"),
            last_name: at("last_name"),
            gender: at("gender"),
            language: at("language"),
            birthday: at("birthday"),
            customer_since: at("customer_since"),
            opt_out: at("opt_out"),
            tradition: at("tradition"),
        }
    }
}

/// `First Name`, `first-name`, `FIRST_NAME` → `firstname`.
fn squash(header: &str) -> String {
    header
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '\u{a0}') && !invisible::is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// `Favourite Product` → `favourite_product`: how templates reach extra columns.
fn extra_name(header: &str) -> String {
    let mut out = String::new();
    for c in header
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
    {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if invisible::is_invisible(c) {
            // Not part of the name, and not a break in it either.
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// Header spellings that mean a known column (after [`squash`]).
fn alias(squashed: &str) -> Option<&'static str> {
    Some(match squashed {
        "id" | "customerid" | "customerkey" | "key" => "id",
        "email" | "mail" | "emailaddress" => "email",
        "firstname" | "givenname" | "name" | "forename" => "first_name",
        "lastname" | "surname" | "familyname" => "last_name",
        "gender" | "sex" => "gender",
        "language" | "lang" | "locale" => "language",
        "birthday" | "birthdate" | "dateofbirth" | "dob" => "birthday",
        "customersince" | "since" | "firstpurchase" | "joined" => "customer_since",
        "optout" | "unsubscribed" | "donotemail" => "opt_out",
        "tradition" => "tradition",
        _ => return None,
    })
}

impl Columns {
    fn from_header(
        header: &csv::StringRecord,
        mapping: &BTreeMap<String, String>,
        file: &str,
    ) -> Result<Columns, Vec<Problem>> {
        let mut cols = Columns::default();
        let mut problems = Vec::new();
        // A config mapping wins over the built-in spellings.
        let mapped: HashMap<String, &'static str> = mapping
            .iter()
            .filter_map(|(canonical, header)| {
                let c = COLUMNS.iter().find(|c| **c == canonical)?;
                Some((squash(header), *c))
            })
            .collect();
        for (i, cell) in header.iter().enumerate() {
            let sq = squash(cell);
            if sq.is_empty() {
                continue;
            }
            let known = mapped.get(&sq).copied().or_else(|| alias(&sq));
            match known {
                Some(name) => {
                    if let Some(first) = cols.known.insert(name, i) {
                        problems.push(
                            Problem::error(
                                file,
                                format!(
                                    "columns {} and {} both mean {name}; rename or remove one",
                                    first + 1,
                                    i + 1
                                ),
                            )
                            .at(1, Some(i as u64 + 1)),
                        );
                    }
                }
                None => {
                    let name = extra_name(cell);
                    if let Some((first, _)) = cols.extra.iter().find(|(_, n)| *n == name) {
                        problems.push(
                            Problem::error(
                                file,
                                format!(
                                    "columns {} and {} are both named \"{name}\" once spaces and case are ignored; rename one",
                                    first + 1,
                                    i + 1
                                ),
                            )
                            .at(1, Some(i as u64 + 1)),
                        );
                    }
                    cols.extra.push((i, name));
                }
            }
        }
        for required in ["email", "first_name"] {
            if !cols.known.contains_key(required) {
                let found: Vec<String> = header.iter().map(|h| format!("\"{h}\"")).collect();
                problems.push(Problem::error(
                    file,
                    format!(
                        "no {required} column; the columns found are {} — name the column \"{required}\", or map it in greet.toml under [customers.columns]",
                        found.join(", ")
                    ),
                ).at(1, None));
            }
        }
        if problems.is_empty() {
            Ok(cols)
        } else {
            Err(problems)
        }
    }
}

/// Turns one raw row into a customer. Shared by the threads that parse.
#[derive(Debug, Clone)]
pub struct RowParser {
    file: String,
    /// greet.toml, named in the hint for a file that is not UTF-8.
    config_file: String,
    columns: Columns,
    /// Where the known columns are.
    at: At,
    date_order: DateOrder,
    delimiter: char,
    /// The run's today in the business's time zone: no birthday is after it.
    today: NaiveDate,
    /// Language → tradition, for rows without a `tradition` cell.
    traditions: BTreeMap<String, Tradition>,
    /// The tradition of a row with neither a tradition nor a language.
    default_tradition: Option<Tradition>,
}

/// One row as the CSV reader found it: its line and its bytes, owned.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: u64,
    /// The cells' bytes end to end, and where each cell ends in them.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// The last row of the file: where an unclosed quote ends up.
    last: bool,
}

impl RawRow {
    fn row(&self) -> Row<'_> {
        Row {
            line: self.line,
            bytes: &self.bytes,
            ends: &self.ends,
            last: self.last,
        }
    }
}

/// One row, borrowed: from a [`RawRow`] or from a [`Batch`].
#[derive(Debug, Clone, Copy)]
struct Row<'r> {
    line: u64,
    bytes: &'r [u8],
    ends: &'r [usize],
    last: bool,
}

impl<'r> Row<'r> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each cell as (start, end) in [`Row::bytes`].
    fn spans(&self) -> impl Iterator<Item = (usize, usize)> + 'r {
        let ends = self.ends;
        ends.iter()
            .enumerate()
            .map(move |(i, &end)| (if i == 0 { 0 } else { ends[i - 1] }, end))
    }

    fn cells(&self) -> impl Iterator<Item = &'r [u8]> + 'r {
        let bytes = self.bytes;
        self.spans().map(move |(start, end)| &bytes[start..end])
    }

    fn to_raw(self) -> RawRow {
        RawRow {
            line: self.line,
            bytes: self.bytes.to_vec(),
            ends: self.ends.to_vec(),
            last: self.last,
        }
    }

    fn get(&self, i: usize) -> Option<&'r [u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }
}

/// Rows read in one go, their bytes end to end in one buffer: what the
/// roster scan hands a worker thread (a few allocations per batch, not per row).
pub struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    rows: Vec<RowAt>,
    /// The read error after the rows: the rest of the file is not read.
    error: Option<Problem>,
}

/// Where a batch's row is: its line and byte in the file, and where its
/// bytes and cell ends stop in the batch (each starts where the one before stops).
#[derive(Debug, Clone, Copy)]
struct RowAt {
    line: u64,
    byte: u64,
    bytes_end: usize,
    ends_end: usize,
    last: bool,
}

impl Batch {
    fn with_capacity(rows: usize, bytes: usize, fields: usize) -> Batch {
        Batch {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(fields),
            rows: Vec::with_capacity(rows),
            error: None,
        }
    }

    fn push(&mut self, record: &csv::ByteRecord, last: bool) {
        let row_start = self.bytes.len();
        self.bytes.extend_from_slice(record.as_slice());
        let mut end = 0;
        self.ends.extend(record.iter().map(|cell| {
            end += cell.len();
            end
        }));
        debug_assert_eq!(row_start + end, self.bytes.len());
        let position = record.position();
        self.rows.push(RowAt {
            line: position.map_or(0, |p| p.line()),
            byte: position.map_or(0, |p| p.byte()),
            bytes_end: self.bytes.len(),
            ends_end: self.ends.len(),
            last,
        });
    }

    /// The rows in file order, each with the byte where it ends in the file
    /// (its start and its cells' length, as the size estimate counts).
    fn rows(&self) -> impl Iterator<Item = (Row<'_>, u64)> + '_ {
        let mut from = (0, 0);
        self.rows.iter().map(move |at| {
            let (bytes_start, ends_start) = from;
            from = (at.bytes_end, at.ends_end);
            let row = Row {
                line: at.line,
                bytes: &self.bytes[bytes_start..at.bytes_end],
                ends: &self.ends[ends_start..at.ends_end],
                last: at.last,
            };
            (row, at.byte + (at.bytes_end - bytes_start) as u64)
        })
    }
}

/// Reads customers one row at a time.
pub struct CustomerReader {
    rows: RawRows,
    parser: RowParser,
    queue: VecDeque<Result<Customer, Problem>>,
}

/// The raw rows of a list, for parsing elsewhere (e.g. on worker threads),
/// one by one or in [`Batch`]es. One row is read ahead, to know which row is
/// the last; the reader's two records are reused, row after row.
pub struct RawRows {
    reader: csv::Reader<Box<dyn Read + Send>>,
    file: String,
    /// The row handed out last.
    current: csv::ByteRecord,
    /// The row read ahead, when `ahead` is [`Ahead::Row`].
    next: csv::ByteRecord,
    ahead: Ahead,
}

/// What was read ahead of the current row.
enum Ahead {
    /// Nothing yet (the first row).
    Unread,
    /// A row, in [`RawRows::next`].
    Row,
    /// A read error: the rest of the file cannot be trusted.
    Failed(Problem),
    /// The end of the file (or of what could be read).
    End,
}

impl RawRows {
    fn read_ahead(&mut self) -> Ahead {
        match self.reader.read_byte_record(&mut self.next) {
            Ok(true) => Ahead::Row,
            Ok(false) => Ahead::End,
            Err(e) => Ahead::Failed(csv_problem(&self.file, &e)),
        }
    }

    /// Move to the next row, into `self.current`: whether it is the last
    /// row, or the read error met instead; `None` at the end.
    fn advance(&mut self) -> Option<Result<bool, Problem>> {
        if let Ahead::Unread = self.ahead {
            self.ahead = self.read_ahead();
        }
        match std::mem::replace(&mut self.ahead, Ahead::End) {
            Ahead::Unread | Ahead::End => None,
            Ahead::Failed(p) => Some(Err(p)),
            Ahead::Row => {
                std::mem::swap(&mut self.current, &mut self.next);
                self.ahead = self.read_ahead();
                Some(Ok(matches!(self.ahead, Ahead::End)))
            }
        }
    }

    /// The next `rows` rows (fewer at the end of the file, or before a read
    /// error, which ends the batch); `None` when nothing is left.
    pub fn next_batch(&mut self, rows: usize) -> Option<Batch> {
        let size = self.current.as_slice().len().max(64);
        let fields = self.current.len().max(8);
        let mut batch = Batch::with_capacity(rows, rows * size, rows * fields);
        while batch.rows.len() < rows {
            match self.advance() {
                None => break,
                Some(Ok(last)) => batch.push(&self.current, last),
                Some(Err(p)) => {
                    batch.error = Some(p);
                    break;
                }
            }
        }
        (!batch.rows.is_empty() || batch.error.is_some()).then_some(batch)
    }
}

impl Iterator for RawRows {
    type Item = Result<RawRow, Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        let last = match self.advance()? {
            Ok(last) => last,
            Err(p) => return Some(Err(p)),
        };
        let record = &self.current;
        let mut end = 0;
        Some(Ok(RawRow {
            line: record.position().map_or(0, |p| p.line()),
            bytes: record.as_slice().to_vec(),
            ends: record
                .iter()
                .map(|cell| {
                    end += cell.len();
                    end
                })
                .collect(),
            last,
        }))
    }
}

/// How many times this process has opened the customer list (`-v` says).
static READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many times this process has opened the customer list so far.
pub fn reads() -> usize {
    READS.load(std::sync::atomic::Ordering::Relaxed)
}

impl CustomerReader {
    /// Open the configured list and read its header.
    pub fn open(config: &Config) -> Result<CustomerReader, Vec<Problem>> {
        READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = config.customers.display().to_string();
        let f = File::open(&config.customers).map_err(|e| {
            vec![Problem::error(
                &file,
                format!("cannot read the customer list: {e}"),
            )]
        })?;
        Self::from_reader(Box::new(BufReader::with_capacity(1 << 16, f)), file, config)
    }

    /// Read a list from any byte source: detect the encoding (BOM, else the
    /// configured one, else strict UTF-8) and the delimiter, then the header.
    pub fn from_reader(
        input: Box<dyn Read + Send>,
        file: String,
        config: &Config,
    ) -> Result<CustomerReader, Vec<Problem>> {
        let fatal = |e: std::io::Error| vec![io_problem(&file, &e)];
        let mut raw = BufReader::with_capacity(1 << 16, input);
        let detected = decode::detect(&mut raw, config.encoding).map_err(fatal)?;
        let decoded: Box<dyn Read + Send> = match detected {
            Detected::Utf8 { .. } => Box::new(raw),
            Detected::Decoded(enc) => Box::new(decode::Decoding::new(raw, enc)),
        };
        let mut text = BufReader::with_capacity(1 << 16, decode::CrlfToLf::new(decoded));
        let delimiter = decode::sniff_delimiter(text.fill_buf().map_err(fatal)?);
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(1 << 16)
            .flexible(true)
            .has_headers(true)
            .delimiter(delimiter)
            .from_reader(Box::new(text) as Box<dyn Read + Send>);
        let header = match reader.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(vec![csv_problem(&file, &e)]),
        };
        let header = match csv::StringRecord::from_byte_record(header) {
            Ok(h) => h,
            Err(_) => {
                let p = Problem::fatal(&file, not_utf8_message(&config.path.display().to_string()));
                return Err(vec![p.at(1, None)]);
            }
        };
        let columns = Columns::from_header(&header, &config.columns, &file)?;
        let today = crate::clock::now(config.time_zone)
            .map_err(|e| vec![Problem::fatal(&file, format!("{e:#}"))])?
            .date_naive();
        Ok(CustomerReader {
            rows: RawRows {
                reader,
                file: file.clone(),
                current: csv::ByteRecord::new(),
                next: csv::ByteRecord::new(),
                ahead: Ahead::Unread,
            },
            parser: RowParser {
                file,
                config_file: config.path.display().to_string(),
                at: At::of(&columns.known),
                columns,
                date_order: config.date_order,
                delimiter: char::from(delimiter),
                today,
                traditions: config.traditions.clone(),
                default_tradition: config.tradition_of_language(None),
            },
            queue: VecDeque::new(),
        })
    }

    pub fn file(&self) -> &str {
        &self.parser.file
    }

    /// Split into the row parser and the raw rows, to parse on other threads.
    pub fn into_raw(self) -> (RowParser, RawRows) {
        (self.parser, self.rows)
    }
}

/// A row read and checked, its text still borrowed from the row: what
/// [`RowParser::parse`] makes a [`Customer`] of, and what the duplicate scan
/// digests without copying.
struct Checked<'a> {
    key: Cow<'a, str>,
    line: u64,
    email: &'a str,
    first_name: Cow<'a, str>,
    last_name: Cow<'a, str>,
    gender: Gender,
    language: Option<Cow<'a, str>>,
    birthday: Option<dates::Birthday>,
    customer_since: Option<NaiveDate>,
    opt_out: bool,
    tradition: Option<Tradition>,
    cells: &'a [Cow<'a, str>],
    extra: &'a [(usize, String)],
}

impl Checked<'_> {
    fn into_customer(self) -> Customer {
        let extra = self
            .extra
            .iter()
            .map(|(i, name)| {
                let text = self.cells.get(*i).map_or("", |s| s.as_ref());
                (name.clone(), invisible::clean_name(text).into_owned())
            })
            .collect();
        Customer {
            key: self.key.into_owned(),
            line: self.line,
            email: self.email.to_string(),
            first_name: self.first_name.into_owned(),
            last_name: self.last_name.into_owned(),
            gender: self.gender,
            language: self.language.map(Cow::into_owned),
            birthday: self.birthday,
            customer_since: self.customer_since,
            opt_out: self.opt_out,
            tradition: self.tradition,
            extra,
        }
    }
}

impl RowParser {
    /// Parse one row: `Ok(None)` for a blank row; warnings are pushed to `warnings`.
    pub fn parse(
        &self,
        row: &RawRow,
        warnings: &mut Vec<Problem>,
    ) -> Result<Option<Customer>, Problem> {
        self.check(row.row(), warnings, |c| c.into_customer())
    }

    /// Check one row as [`RowParser::parse`] does (the same problems and
    /// warnings) and hand what it holds, borrowed, to `then`.
    fn check<T>(
        &self,
        row: Row<'_>,
        warnings: &mut Vec<Problem>,
        then: impl FnOnce(Checked<'_>) -> T,
    ) -> Result<Option<T>, Problem> {
        let line = row.line;
        // A blank row: nothing but spaces and invisible characters in every
        // cell. An ASCII byte that is not a space is neither, in any cell:
        // most rows are told from blank ones by their first byte.
        let visible_ascii = |b: &u8| b.is_ascii() && !char::from(*b).is_whitespace();
        if !row.bytes.iter().any(visible_ascii) && row.cells().all(is_blank_cell) {
            return Ok(None);
        }
        let file = &self.file;
        let at = |i: usize, msg: String| Problem::error(file, msg).at(line, Some(i as u64 + 1));
        // The whole row is looked at once first: most rows are UTF-8 throughout
        // (then a cell is UTF-8 when it starts and ends on a character
        // boundary), and have no byte a control character or a line break
        // starts with (then no cell has one).
        let row_text = std::str::from_utf8(row.bytes).ok();
        let may_have_control = may_have_control(row.bytes);
        // Every cell is text: invalid UTF-8 and control characters are refused here,
        // newlines inside a cell are collapsed (with a warning).
        let mut cells: Vec<Cow<'_, str>> = Vec::with_capacity(row.len());
        for (i, (start, end)) in row.spans().enumerate() {
            let raw = &row.bytes[start..end];
            let text = cell_text(row_text, raw, start..end).ok_or_else(|| {
                Problem::fatal(file, not_utf8_message(&self.config_file))
                    .at(line, Some(i as u64 + 1))
            })?;
            if may_have_control
                && has_control(raw)
                && let Some(c) = text
                    .chars()
                    .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(at(
                    i,
                    format!("control character U+{:04X} in the cell", c as u32),
                ));
            }
            // A quote that is never closed swallows the rest of the file into one
            // cell of the last row: line breaks and the rows' delimiters in it.
            let line_break = may_have_control && has_line_break(raw);
            if row.last && line_break && text.contains(self.delimiter) {
                let lines = text.matches('\n').count() + 1;
                return Err(Problem::fatal(
                    file,
                    format!("a quote opened in this cell is never closed, so the cell swallows {lines} lines of the file; close the quote (\"…\") or remove it"),
                )
                .at(line, Some(i as u64 + 1)));
            }
            if line_break {
                warnings.push(
                    Problem::warning(file, "a line break inside the cell was replaced by a space")
                        .at(line, Some(i as u64 + 1)),
                );
                cells.push(Cow::Owned(
                    text.split_whitespace().collect::<Vec<_>>().join(" "),
                ));
            } else {
                cells.push(Cow::Borrowed(text));
            }
        }
        let cols = &self.columns;
        let cell = |at: Option<usize>| -> (usize, &str) {
            match at {
                Some(i) => (i, cells.get(i).map_or("", |s| s.as_ref())),
                None => (0, ""),
            }
        };
        // Code-like cells (id, gender, language, dates, opt_out): invisible
        // characters never change what they mean.
        let get = |at: Option<usize>| -> (usize, Cow<'_, str>) {
            let (i, text) = cell(at);
            (i, code_cell(text))
        };

        let (ei, raw_email) = cell(self.at.email);
        let normalised = email::normalise(raw_email);
        let addr = normalised.address.as_ref();
        if is_totals_label(addr) || (addr.is_empty() && cells.iter().any(|c| is_totals_label(c))) {
            warnings.push(
                Problem::warning(file, "skipped a row that looks like a totals row").at(line, None),
            );
            return Ok(None);
        }
        if let Some(why) = email::problem(addr) {
            return Err(at(ei, why));
        }
        let email_warning = |msg: String| Problem::warning(file, msg).at(line, Some(ei as u64 + 1));
        if !normalised.removed.is_empty() {
            let what: Vec<String> = normalised
                .removed
                .iter()
                .map(|c| invisible::describe(*c))
                .collect();
            warnings.push(email_warning(format!(
                "address \"{addr}\" held invisible characters ({}); they were removed",
                what.join(", ")
            )));
        }
        if let Some(how) = normalised.rewritten {
            let typed = invisible::strip(email::clean(raw_email));
            warnings.push(email_warning(format!(
                "address \"{typed}\" written {how}; read as {addr}"
            )));
        }
        // Names: bidi controls and stray invisible characters removed, and a
        // name an export turned into ???? refused.
        let mut name_cell = |name: &str, column| -> Result<(usize, Cow<'_, str>), Problem> {
            let (i, text) = cell(column);
            let clean = invisible::clean_name(text);
            if let Some(why) = super::name::lost(&clean) {
                return Err(at(i, format!("{name} \"{clean}\" {why}")));
            }
            if let Some(why) = super::name::doubtful(&clean) {
                warnings.push(
                    Problem::warning(file, format!("{name} \"{clean}\" {why}"))
                        .at(line, Some(i as u64 + 1)),
                );
            }
            Ok((i, clean))
        };
        let (fi, first_name) = name_cell("first_name", self.at.first_name)?;
        if first_name.is_empty() {
            return Err(at(fi, "first_name is empty".into()));
        }
        let (_, last_name) = if self.at.last_name.is_some() {
            name_cell("last_name", self.at.last_name)?
        } else {
            (0, Cow::Borrowed(""))
        };
        let (gi, gender_cell) = get(self.at.gender);
        let mut gender = Gender::parse(&gender_cell).ok_or_else(|| {
            at(
                gi,
                format!("gender \"{gender_cell}\" is not m or f (blank means unknown)"),
            )
        })?;
        if gender == Gender::Unknown
            && gender_cell.is_empty()
            && let Some(inferred) = crate::i18n::el::infer_gender(&first_name)
        {
            gender = inferred;
            warnings.push(
                Problem::warning(
                    file,
                    format!(
                        "gender inferred as {} from the name {first_name} (fill in the gender column to decide)",
                        inferred.code()
                    ),
                )
                .at(line, Some(gi as u64 + 1)),
            );
        }
        let (li, lang_cell) = get(self.at.language);
        let language = if lang_cell.is_empty() {
            None
        } else {
            let primary = lang_cell.split(['-', '_']).next().unwrap_or("");
            // Lower case, copied only when it is not already.
            let primary = if primary.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(primary.to_ascii_lowercase())
            } else {
                Cow::Borrowed(primary)
            };
            if !is_language_tag(&primary) {
                return Err(at(
                    li,
                    format!(
                        "language \"{lang_cell}\" is not a language code such as el, hy, he or en"
                    ),
                ));
            }
            Some(primary)
        };
        let (ti, tradition_cell) = get(self.at.tradition);
        let tradition = if tradition_cell.is_empty() {
            match &language {
                Some(lang) => self.traditions.get(lang.as_ref()).copied(),
                None => self.default_tradition,
            }
        } else {
            Some(Tradition::parse(&tradition_cell).ok_or_else(|| {
                at(
                    ti,
                    format!(
                        "tradition \"{tradition_cell}\" is not orthodox, armenian, jewish or western (blank: from the language)"
                    ),
                )
            })?)
        };
        let (bi, bday) = get(self.at.birthday);
        let birthday = if bday.is_empty() {
            None
        } else {
            let b = dates::parse_birthday(&bday, self.date_order, self.today)
                .map_err(|e| at(bi, format!("birthday {e}")))?;
            if let Some(why) = dates::implausible_birthday(&b, self.today) {
                return Err(at(
                    bi,
                    format!(
                        "birthday \"{bday}\" {why}; this customer is not greeted until it is fixed"
                    ),
                ));
            }
            Some(b)
        };
        let (si, since) = get(self.at.customer_since);
        let customer_since = if since.is_empty() {
            None
        } else {
            let d = dates::parse_date(&since, self.date_order, self.today)
                .map_err(|e| at(si, format!("customer_since {e}")))?;
            if let Some(why) = dates::implausible_since(d, self.today) {
                return Err(at(
                    si,
                    format!(
                        "customer_since \"{since}\" {why}; this customer is not greeted until it is fixed"
                    ),
                ));
            }
            Some(d)
        };
        let (oi, opt) = get(self.at.opt_out);
        let opt_out = match (if opt.is_empty() {
            String::new()
        } else {
            opt.to_lowercase()
        })
        .as_str()
        {
            "" | "no" | "n" | "false" | "0" | "όχι" | "οχι" | "לא" | "ոչ" => false,
            "yes" | "y" | "true" | "1" | "x" | "ναι" | "כן" | "այո" => true,
            other => {
                return Err(at(
                    oi,
                    format!(
                        "opt_out \"{other}\" is neither yes nor no; this customer is not greeted until it is fixed"
                    ),
                ));
            }
        };
        let (_, id) = get(self.at.id);
        let key = if id.is_empty() {
            Cow::Owned(email::fold(addr))
        } else {
            id
        };
        Ok(Some(then(Checked {
            key,
            line,
            email: addr,
            first_name,
            last_name,
            gender,
            language,
            birthday,
            customer_since,
            opt_out,
            tradition,
            cells: &cells,
            extra: &cols.extra,
        })))
    }

    /// The cells that decide whether a row may be due, borrowed from the raw
    /// row and cleaned exactly as [`RowParser::parse`] cleans them, without
    /// reading the rest of the row. Each is read when first asked for, once
    /// however many (occasion, date) pairs ask. What cannot be read cheaply
    /// (bytes that are not UTF-8, a line break inside the cell) is
    /// [`Hint::Unsure`]: the full parse decides.
    pub fn quick<'r>(&'r self, row: &'r RawRow) -> Quick<'r> {
        Quick {
            parser: self,
            row: row.row(),
            first_name: OnceCell::new(),
            birthday: OnceCell::new(),
            customer_since: OnceCell::new(),
            tradition: OnceCell::new(),
        }
    }

    /// The [`Quick`] of a row [`RowParser::check`] has read: its cells are
    /// known already, exactly as the customer holds them.
    fn quick_checked<'c>(&'c self, row: Row<'c>, c: &Checked<'c>) -> Quick<'c> {
        Quick {
            parser: self,
            row,
            first_name: OnceCell::from(Hint::Is(c.first_name.clone())),
            birthday: OnceCell::from(Hint::Is(c.birthday)),
            customer_since: OnceCell::from(Hint::Is(c.customer_since)),
            tradition: OnceCell::from(Hint::Is(c.tradition)),
        }
    }

    /// The 1-based column of the email cell.
    pub fn email_column(&self) -> Option<u64> {
        self.at.email.map(|i| i as u64 + 1)
    }
}

/// A code-like cell (id, gender, language, dates, opt_out) as it is read:
/// trimmed, without invisible characters, which never change what it means.
fn code_cell(text: &str) -> Cow<'_, str> {
    match invisible::strip(text.trim()) {
        // Nothing removed: the text as trimmed already.
        Cow::Borrowed(text) => Cow::Borrowed(text),
        Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
    }
}

/// What [`RowParser::quick`] makes of one cell: its value, or unsure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint<T> {
    Is(T),
    /// Only the full parse can tell (the row goes on to it).
    Unsure,
}

/// The few cells of a row that decide whether it is due, cleaned as
/// [`RowParser::parse`] cleans them: for a cheap test before the full parse
/// ([`crate::occasion::may_be_due`]). Made by [`RowParser::quick`].
#[derive(Debug)]
pub struct Quick<'r> {
    parser: &'r RowParser,
    row: Row<'r>,
    first_name: OnceCell<Hint<Cow<'r, str>>>,
    birthday: OnceCell<Hint<Option<dates::Birthday>>>,
    customer_since: OnceCell<Hint<Option<NaiveDate>>>,
    tradition: OnceCell<Hint<Option<Tradition>>>,
}

impl<'r> Quick<'r> {
    /// The text of a known column's cell, unless only the full parse can read it.
    fn raw(&self, at: Option<usize>) -> Option<&'r str> {
        let bytes = at.and_then(|i| self.row.get(i)).unwrap_or(b"");
        // parse collapses line breaks first; leave such cells to it.
        if has_line_break(bytes) {
            return None;
        }
        std::str::from_utf8(bytes).ok()
    }

    /// The first name as [`Customer::first_name`] would be.
    pub fn first_name(&self) -> &Hint<Cow<'r, str>> {
        self.first_name
            .get_or_init(|| match self.raw(self.parser.at.first_name) {
                Some(text) => Hint::Is(invisible::clean_name(text)),
                None => Hint::Unsure,
            })
    }

    /// The birthday as [`Customer::birthday`] would be: `Is(None)` for an
    /// empty cell; unsure when the cell does not read as a date (the full
    /// parse reports it).
    pub fn birthday(&self) -> Hint<Option<dates::Birthday>> {
        *self
            .birthday
            .get_or_init(|| self.date_cell(self.parser.at.birthday, dates::parse_birthday))
    }

    /// The first purchase as [`Customer::customer_since`] would be.
    pub fn customer_since(&self) -> Hint<Option<NaiveDate>> {
        *self
            .customer_since
            .get_or_init(|| self.date_cell(self.parser.at.customer_since, dates::parse_date))
    }

    /// The tradition as [`Customer::tradition`] would be: the `tradition`
    /// cell, else the language's (the default language's when blank);
    /// unsure when a cell cannot be read here or is not valid (the full
    /// parse reports it).
    pub fn tradition(&self) -> Hint<Option<Tradition>> {
        *self.tradition.get_or_init(|| {
            let parser = self.parser;
            let Some(cell) = self.raw(parser.at.tradition).map(code_cell) else {
                return Hint::Unsure;
            };
            if !cell.is_empty() {
                return match Tradition::parse(&cell) {
                    Some(t) => Hint::Is(Some(t)),
                    None => Hint::Unsure,
                };
            }
            let Some(lang) = self.raw(parser.at.language).map(code_cell) else {
                return Hint::Unsure;
            };
            if lang.is_empty() {
                return Hint::Is(parser.default_tradition);
            }
            let primary = lang
                .split(['-', '_'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if !is_language_tag(&primary) {
                return Hint::Unsure;
            }
            Hint::Is(parser.traditions.get(&primary).copied())
        })
    }

    /// A date cell read by `parse`: `Is(None)` when empty, unsure when it
    /// cannot be read here or does not parse.
    fn date_cell<T>(
        &self,
        at: Option<usize>,
        parse: fn(&str, DateOrder, NaiveDate) -> Result<T, String>,
    ) -> Hint<Option<T>> {
        let Some(text) = self.raw(at).map(code_cell) else {
            return Hint::Unsure;
        };
        if text.is_empty() {
            return Hint::Is(None);
        }
        match parse(&text, self.parser.date_order, self.parser.today) {
            Ok(v) => Hint::Is(Some(v)),
            Err(_) => Hint::Unsure,
        }
    }
}

impl Iterator for CustomerReader {
    type Item = Result<Customer, Problem>;

    /// Each row yields its warnings (as `Err` problems of severity warning)
    /// and then the customer, or one error problem.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            let row = match self.rows.next()? {
                Ok(row) => row,
                Err(p) => return Some(Err(p)),
            };
            let mut warnings = Vec::new();
            match self.parser.parse(&row, &mut warnings) {
                Ok(None) => continue,
                Ok(Some(c)) => {
                    self.queue.extend(warnings.into_iter().map(Err));
                    self.queue.push_back(Ok(c));
                }
                Err(p) => self.queue.push_back(Err(p)),
            }
        }
    }
}

/// A cell of nothing but spaces and invisible characters.
fn is_blank_cell(cell: &[u8]) -> bool {
    cell.iter().all(|b| b.is_ascii_whitespace())
        || std::str::from_utf8(cell).is_ok_and(|t| {
            t.chars()
                .all(|c| c.is_whitespace() || invisible::is_invisible(c))
        })
}

/// The text of the cell `raw`, at `span` in its row, if it is UTF-8: read
/// from the row's text when the whole row is UTF-8 (then the cell is, just
/// when it starts and ends on a character boundary), else on its own.
fn cell_text<'a>(
    row_text: Option<&'a str>,
    raw: &'a [u8],
    span: std::ops::Range<usize>,
) -> Option<&'a str> {
    match row_text {
        // An empty cell is empty text, even between the two halves of a
        // character cut by the cells around it (the row's bytes hold no
        // delimiters, so the row may be UTF-8 where its cells are not).
        Some(_) if span.is_empty() => Some(""),
        Some(text) => text.get(span),
        None => std::str::from_utf8(raw).ok(),
    }
}

/// Whether `bytes` may hold a control character or a line break (what
/// [`has_control`] and [`has_line_break`] look for): a byte below 0x20, DEL,
/// or 0xC2 (which C1 controls start with). Without one, neither can be true
/// of the bytes or of any part of them. One pass over a whole row, without
/// stopping early, which the compiler turns into wide instructions.
fn may_have_control(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &b| {
        found | (b < 0x20) | (b == 0x7f) | (b == 0xc2)
    })
}

/// Whether a cell holds a line break (LF or CR).
fn has_line_break(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b == b'\n' || b == b'\r')
}

/// Whether UTF-8 `bytes` hold a control character (other than line breaks
/// and tabs): C0 and DEL are single bytes, C1 (U+0080–U+009F) is 0xC2 then
/// 0x80–0x9F. Byte by byte, without decoding: most cells have none.
fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t'))
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// "Total", "Σύνολο", "סה״כ", "Ընդամենը": a spreadsheet's sum row, not a customer.
fn is_totals_label(cell: &str) -> bool {
    // No label has an @: an address is never one (and need not be lowercased to tell).
    if cell.contains('@') {
        return false;
    }
    let c = cell.trim().trim_end_matches(':').to_lowercase();
    matches!(
        c.as_str(),
        "total"
            | "totals"
            | "sum"
            | "grand total"
            | "σύνολο"
            | "συνολο"
            | "σύνολα"
            | "סה\"כ"
            | "סה״כ"
            | "סך הכל"
            | "סך הכול"
            | "ընդամենը"
    )
}

/// The message for bytes that are not UTF-8 in a file without a BOM.
fn not_utf8_message(config_file: &str) -> String {
    format!(
        "bytes that are not UTF-8, and the file has no BOM — save the list as \"CSV UTF-8\", \
         or, if Excel saved it in Greek or Hebrew, add encoding = \"windows-1253\" (Greek) or \
         \"windows-1255\" (Hebrew) under [customers] in {config_file}"
    )
}

/// A read error (bad bytes in a decoded file, an I/O fault) as a file-level problem.
fn io_problem(file: &str, e: &std::io::Error) -> Problem {
    let text = e.to_string();
    // Decoding errors start with "line N: ".
    let located = text
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(n, msg)| Some((n.parse::<u64>().ok()?, msg.to_string())));
    match located {
        Some((line, msg)) => Problem::fatal(
            file,
            format!(
                "{msg}; check the encoding named in greet.toml, or save the list as \"CSV UTF-8\""
            ),
        )
        .at(line, None),
        None => Problem::fatal(file, format!("cannot read the customer list: {text}")),
    }
}

fn csv_problem(file: &str, e: &csv::Error) -> Problem {
    match e.kind() {
        csv::ErrorKind::Io(io) => io_problem(file, io),
        _ => {
            let line = e.position().map_or(0, |p| p.line());
            Problem::fatal(file, format!("cannot read the row: {e}")).at(line, None)
        }
    }
}

/// A 128-bit digest of a customer key: the duplicate scan keeps these, not the keys.
pub fn key_digest(key: &str) -> u128 {
    let d = Sha256::digest(key.as_bytes());
    u128::from_le_bytes(d[..16].try_into().unwrap_or([0; 16]))
}

/// What a first pass over the list learned: every problem, and which keys
/// are not greeted until the owner decides (neither row of a pair is).
#[derive(Debug, Default)]
pub struct Roster {
    pub problems: Vec<Problem>,
    /// Digests ([`key_digest`]) of keys that occur more than once, or whose
    /// mailbox another key shares.
    pub duplicates: HashSet<u128>,
    pub rows: u64,
    pub valid: u64,
    /// The rows [`scan_keeping`] was asked to keep (the few that may be due
    /// on a day), with the parser that reads them: the passes that follow
    /// use them instead of reading the list again. `None` when nothing was
    /// asked, or when more than the cap matched (then the list is read again).
    pub kept: Option<Kept>,
}

/// Rows kept by the roster scan, in file order, and their parser.
#[derive(Debug, Clone)]
pub struct Kept {
    pub parser: RowParser,
    pub rows: Vec<RawRow>,
}

impl Roster {
    pub fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }
}

/// A 64-bit digest of a key or a mailbox, for the duplicate scan only: two
/// rows with equal digests are candidates, confirmed on their full text
/// before anything is reported, so a collision costs a re-read, never a
/// wrong verdict.
fn scan_digest(text: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(text)
}

/// [`scan_digest`] of the mailbox an address reaches
/// ([`email::mailbox_of_normalised`]), without making the mailbox's string
/// when it is the address in lower case: an ASCII address without `xn--`.
fn mailbox_digest(addr: &str) -> u64 {
    let mut buf = [0u8; 128];
    if addr.is_ascii() && addr.len() <= buf.len() {
        let lower = &mut buf[..addr.len()];
        lower.copy_from_slice(addr.as_bytes());
        lower.make_ascii_lowercase();
        if (!lower.contains(&b'-') || !lower.windows(4).any(|w| w == b"xn--"))
            && let Ok(lower) = std::str::from_utf8(lower)
        {
            return scan_digest(lower);
        }
    }
    scan_digest(&email::mailbox_of_normalised(addr))
}

/// What the scan keeps of one customer: the digests of its key and of its
/// mailbox — 16 bytes, whatever the row holds. The rows they stand for are
/// found again by their digests, in the rare case that two are equal.
#[derive(Debug, Clone, Copy)]
struct Seen {
    key: u64,
    mailbox: u64,
}

/// The digests that occur more than once in `digests` (which are sorted
/// for it, then dropped).
fn repeated(mut digests: Vec<u64>) -> HashSet<u64> {
    digests.sort_unstable();
    digests
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect()
}

/// A row the digests flagged, read again in full: its line, key, mailbox and address.
struct Flagged {
    line: u32,
    key: String,
    mailbox: String,
    email: String,
}

/// Groups of `rows` (in file order) sharing `by`, each in file order; only groups of two or more.
fn groups(rows: &[Flagged], by: impl Fn(&Flagged) -> &str) -> Vec<Vec<&Flagged>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Vec<&Flagged>> = Vec::new();
    for row in rows {
        let next = out.len();
        let i = *index.entry(by(row)).or_insert(next);
        if i == next {
            out.push(Vec::new());
        }
        out[i].push(row);
    }
    out.retain(|g| g.len() > 1);
    out
}

/// The number of rows to make room for at once: an estimate from the
/// file's size and the first rows' length, so the records are not copied
/// as they grow (the copy is what peaks).
fn expected_rows(file_len: u64, bytes_so_far: u64, rows_so_far: usize) -> usize {
    if rows_so_far == 0 || bytes_so_far == 0 {
        return 0;
    }
    let per_row = (bytes_so_far / rows_so_far as u64).max(1);
    // A tenth more for rows shorter than the first ones; capped, for files
    // whose first rows say little (decoded from UTF-16, say).
    usize::try_from(file_len / per_row + file_len / per_row / 10)
        .unwrap_or(0)
        .min(1 << 26)
}

/// Read the whole list once, keeping only problems and 16 bytes per
/// customer (key digest, mailbox digest), so memory grows with the number
/// of customers, not with their data. The digests are sorted to find
/// duplicates — the same key twice, or two keys sharing one mailbox — and
/// dropped before any greeting is rendered. Only when digests match is the
/// list read a third time, to confirm the duplicates on the full text and
/// name their keys and addresses.
pub fn scan(config: &Config) -> Result<Roster, Vec<Problem>> {
    scan_keeping(config, None, 0)
}

/// Which rows the roster scan keeps for the passes that follow: asked of
/// every valid row, with its cells already read.
pub type Keep<'a> = &'a (dyn Fn(&Quick<'_>) -> bool + Sync);

/// Rows per batch the roster scan reads and hands to a worker thread: the
/// results are small, and hand-overs cost.
const SCAN_BATCH: usize = 1024;

/// What a worker makes of one [`Batch`] for the roster scan.
struct Scanned {
    /// Each row's warnings, then its error if it has one, in file order.
    problems: Vec<Problem>,
    /// The rows that are not blank: customers and rows with an error.
    rows: u64,
    seen: Vec<Seen>,
    /// The valid rows `keep` accepted, in file order.
    kept: Vec<RawRow>,
    /// Where the batch's last row ends in the file (for the size estimate).
    end: u64,
}

/// Check every row of a batch as [`RowParser::parse`] would, keeping what
/// the scan needs.
fn scan_batch(parser: &RowParser, keep: Option<Keep<'_>>, batch: Batch) -> Scanned {
    let mut out = Scanned {
        problems: Vec::new(),
        rows: 0,
        seen: Vec::with_capacity(batch.rows.len()),
        kept: Vec::new(),
        end: 0,
    };
    for (row, end) in batch.rows() {
        out.end = end;
        let checked = parser.check(row, &mut out.problems, |c| {
            let kept = keep.is_some_and(|k| k(&parser.quick_checked(row, &c)));
            let seen = Seen {
                key: scan_digest(&c.key),
                mailbox: mailbox_digest(c.email),
            };
            (seen, kept)
        });
        match checked {
            Ok(None) => {}
            Ok(Some((seen, kept))) => {
                out.rows += 1;
                out.seen.push(seen);
                if kept {
                    out.kept.push(row.to_raw());
                }
            }
            Err(p) => {
                out.rows += 1;
                out.problems.push(p);
            }
        }
    }
    if let Some(p) = batch.error {
        out.rows += 1;
        out.problems.push(p);
    }
    out
}

/// [`scan`], keeping the valid rows `keep` accepts — at most `cap` of them
/// (beyond that none is kept and the list is read again: memory stays flat).
pub fn scan_keeping(
    config: &Config,
    keep: Option<Keep<'_>>,
    cap: usize,
) -> Result<Roster, Vec<Problem>> {
    let reader = CustomerReader::open(config)?;
    let file = reader.file().to_string();
    let file_len = std::fs::metadata(&config.customers).map_or(0, |m| m.len());
    let (parser, mut rows) = reader.into_raw();
    let email_column = parser.email_column();
    let mut roster = Roster::default();
    // The digests of every customer's key and mailbox, in two lists: each is
    // sorted on its own (and both at once) to find the ones seen twice.
    let (mut keys, mut mailboxes): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    let mut reserved = false;
    let mut kept: Option<Vec<RawRow>> = keep.map(|_| Vec::new());
    let collect = |out: Scanned| {
        roster.problems.extend(out.problems);
        roster.rows += out.rows;
        if let Some(rows) = kept.as_mut() {
            if rows.len() + out.kept.len() <= cap {
                rows.extend(out.kept);
            } else {
                kept = None;
            }
        }
        keys.extend(out.seen.iter().map(|s| s.key));
        mailboxes.extend(out.seen.iter().map(|s| s.mailbox));
        if !reserved && keys.len() >= 1024 {
            reserved = true;
            let more = expected_rows(file_len, out.end, keys.len()).saturating_sub(keys.len());
            keys.reserve(more);
            mailboxes.reserve(more);
        }
        Ok(true)
    };
    // Checking runs on every core, a batch of rows at a time; results come
    // back in file order.
    let batches = std::iter::from_fn(|| rows.next_batch(SCAN_BATCH));
    crate::parallel::ordered_map_in(
        1,
        batches,
        |batch| Ok(scan_batch(&parser, keep, batch)),
        collect,
    )
    .map_err(|e| vec![Problem::error(&file, format!("{e:#}"))])?;
    roster.kept = kept.map(|rows| Kept {
        parser: parser.clone(),
        rows,
    });
    // A file-level fault (wrong encoding, unclosed quote): refuse the whole file.
    if let Some(first) = roster.problems.iter().find(|p| p.fatal) {
        return Err(vec![first.clone()]);
    }
    let errors = roster.errors() as u64;
    if roster.rows >= 4 && errors * 2 > roster.rows {
        let mut refused = vec![Problem::fatal(
            &file,
            format!(
                "{errors} of {} rows have problems, so the list is probably being read wrongly — \
                 check the delimiter, the encoding and date_order in greet.toml; the first problems:",
                roster.rows
            ),
        )];
        refused.extend(
            roster
                .problems
                .iter()
                .filter(|p| p.is_error())
                .take(5)
                .cloned(),
        );
        return Err(refused);
    }
    roster.valid = keys.len() as u64;
    // The two sorts at once, one on another core.
    let (repeated_keys, repeated_mailboxes) = std::thread::scope(|s| {
        let keys = s.spawn(move || repeated(keys));
        let mailboxes = repeated(mailboxes);
        (keys.join(), mailboxes)
    });
    let repeated_keys = repeated_keys.map_err(|_| {
        vec![Problem::error(
            &file,
            "the duplicate scan failed (a thread panicked)",
        )]
    })?;
    if repeated_keys.is_empty() && repeated_mailboxes.is_empty() {
        roster.problems.sort_by_key(|p| p.line);
        return Ok(roster);
    }
    // Confirm on the full text and name the duplicates: one more read, only in this rare case.
    let mut flagged: Vec<Flagged> = Vec::new();
    for c in CustomerReader::open(config)?.flatten() {
        let line = c.line as u32;
        if repeated_keys.contains(&scan_digest(&c.key))
            || repeated_mailboxes.contains(&mailbox_digest(&c.email))
        {
            flagged.push(Flagged {
                line,
                mailbox: email::mailbox_of_normalised(&c.email),
                key: c.key,
                email: c.email,
            });
        }
    }
    let mut invalid: HashSet<u32> = HashSet::new();
    for group in groups(&flagged, |f| f.key.as_str()) {
        for s in &group {
            invalid.insert(s.line);
            let others: Vec<String> = group
                .iter()
                .filter(|o| o.line != s.line)
                .map(|o| o.line.to_string())
                .collect();
            roster.problems.push(
                Problem::error(
                    &file,
                    format!(
                        "customer \"{}\" appears again on line {}; neither row is greeted until one is removed",
                        s.key,
                        others.join(", ")
                    ),
                )
                .at(u64::from(s.line), None),
            );
        }
        roster.duplicates.insert(key_digest(&group[0].key));
    }
    // Two rows of one mailbox under different keys; rows that share the key
    // too are the duplicates above, reported once.
    for group in groups(&flagged, |f| f.mailbox.as_str()) {
        if group.iter().all(|s| s.key == group[0].key) {
            continue;
        }
        let address = group[0].email.as_str();
        for s in &group {
            let others: Vec<String> = group
                .iter()
                .filter(|o| o.key != s.key)
                .map(|o| format!("line {} (customer \"{}\")", o.line, o.key))
                .collect();
            invalid.insert(s.line);
            roster.problems.push(
                Problem::error(
                    &file,
                    format!(
                        "customer \"{}\" has the same mailbox \"{address}\" as {}; one mailbox is one person — neither row is greeted until one is removed",
                        s.key,
                        others.join(", ")
                    ),
                )
                .at(u64::from(s.line), email_column),
            );
            roster.duplicates.insert(key_digest(&s.key));
        }
    }
    roster.valid -= invalid.len() as u64;
    roster.problems.sort_by_key(|p| p.line);
    Ok(roster)
}

#[cfg(test)]
mod roundtrip {
    //! Names survive every supported encoding and delimiter exactly.
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    #[derive(Debug, Clone, Copy)]
    enum Enc {
        Utf8,
        Utf8Bom,
        Utf16Le,
        Utf16Be,
        Windows1253,
        Windows1255,
    }

    const GREEK: &str = "ΆάΈέΉήΊίΌόΎύΏώαβγδεζηθικλμνξοπρστυφχψωςΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩϊϋΐ";
    const HEBREW: &str = "אבגדהוזחטיכלמנסעפצקרשתךםןףץ";
    const ARMENIAN: &str =
        "ԱԲԳԴԵԶԷԸԹԺԻԼԽԾԿՀՁՂՃՄՅՆՇՈՉՊՋՌՍՎՏՐՑՒՓՔՕՖաբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆ";
    const ASCII: &str = "abcXYZ019'\",;-.&()";

    fn alphabet(enc: Enc) -> Vec<char> {
        let mut chars: String = ASCII.to_string();
        match enc {
            Enc::Windows1253 => chars.push_str(GREEK),
            Enc::Windows1255 => chars.push_str(HEBREW),
            _ => {
                chars.push_str(GREEK);
                chars.push_str(HEBREW);
                chars.push_str(ARMENIAN);
                chars.push_str("🎂🥐✨");
            }
        }
        chars.chars().collect()
    }

    /// A name: words joined by spaces, sometimes by a line break.
    fn name(enc: Enc) -> impl Strategy<Value = String> {
        let word = prop::collection::vec(prop::sample::select(alphabet(enc)), 1..7)
            .prop_map(|cs| cs.into_iter().collect::<String>());
        prop::collection::vec((word, prop::bool::weighted(0.15)), 1..4).prop_map(|parts| {
            let mut out = String::new();
            for (i, (w, newline)) in parts.into_iter().enumerate() {
                if i > 0 {
                    out.push(if newline { '\n' } else { ' ' });
                }
                out.push_str(&w);
            }
            out
        })
    }

    fn encode(text: &str, enc: Enc) -> Vec<u8> {
        match enc {
            Enc::Utf8 => text.as_bytes().to_vec(),
            Enc::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
            Enc::Utf16Le => [0xFF, 0xFE]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect(),
            Enc::Utf16Be => [0xFE, 0xFF]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
            Enc::Windows1253 | Enc::Windows1255 => {
                let label: &[u8] = if matches!(enc, Enc::Windows1253) {
                    b"windows-1253"
                } else {
                    b"windows-1255"
                };
                let (bytes, _, errors) = encoding_rs::Encoding::for_label(label)
                    .unwrap()
                    .encode(text);
                assert!(!errors, "{text:?}");
                bytes.into_owned()
            }
        }
    }

    fn config(enc: Enc) -> Config {
        let encoding = match enc {
            Enc::Windows1253 => "encoding = \"windows-1253\"\n",
            Enc::Windows1255 => "encoding = \"windows-1255\"\n",
            _ => "",
        };
        let text = format!(
            "[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n[customers]\npath = \"c.csv\"\n{encoding}[occasions.b]\nkind = \"birthday\"\n"
        );
        Config::parse(&text, Path::new("greet.toml")).unwrap()
    }

    fn any_enc() -> impl Strategy<Value = Enc> {
        prop::sample::select(vec![
            Enc::Utf8,
            Enc::Utf8Bom,
            Enc::Utf16Le,
            Enc::Utf16Be,
            Enc::Windows1253,
            Enc::Windows1255,
        ])
    }

    proptest! {
        #[test]
        fn names_come_back_exactly_in_every_encoding_and_delimiter(
            (enc, names) in any_enc().prop_flat_map(|e| (Just(e), prop::collection::vec(name(e), 1..12))),
            delimiter in prop::sample::select(vec![b',', b';', b'\t']),
            crlf in any::<bool>(),
        ) {
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            w.write_record(["email", "first_name"]).unwrap();
            for (i, n) in names.iter().enumerate() {
                w.write_record([format!("c{i}@example.com").as_str(), n]).unwrap();
            }
            // A plain last row: a line break in the very last row reads as an unclosed quote.
            w.write_record(["last@example.com", "Last"]).unwrap();
            let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
            let bytes = encode(&text, enc);
            let reader = CustomerReader::from_reader(Box::new(std::io::Cursor::new(bytes)), "c.csv".into(), &config(enc)).unwrap();
            let read: Vec<String> = reader
                .filter_map(|r| r.ok())
                .map(|c| c.first_name)
                .collect();
            let mut expected: Vec<String> = names
                .iter()
                .map(|n| if n.contains('\n') { n.split_whitespace().collect::<Vec<_>>().join(" ") } else { n.clone() })
                .collect();
            expected.push("Last".into());
            prop_assert_eq!(read, expected);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str) -> Vec<Result<Customer, Problem>> {
        let config = Config::parse(
            "[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n[customers]\npath = \"c.csv\"\n[occasions.b]\nkind = \"birthday\"\n",
            std::path::Path::new("greet.toml"),
        )
        .unwrap();
        CustomerReader::from_reader(
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            "c.csv".into(),
            &config,
        )
        .unwrap()
        .collect()
    }

    #[test]
    fn invisible_characters_change_no_cell_of_a_customer() {
        let clean = read(
            "id,email,first_name,last_name,gender,language,birthday,customer_since,opt_out\nC1,maria@example.gr,Μαρία,Κ,f,el,14/03/1991,2019-03-14,no\n",
        );
        let Ok(want) = &clean[0] else {
            panic!("{clean:?}")
        };
        for c in (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| invisible::is_invisible(*c))
        {
            let row = format!(
                "id,email,first_name,last_name,gender,language,birthday,customer_since,opt_out\n\
                 C{c}1,{c}mar{c}ia@example.gr{c},{c}Μαρία{c},Κ{c},f{c},{c}el,14/03/{c}1991,2019-03-14{c},{c}no\n"
            );
            let got: Vec<Customer> = read(&row).into_iter().filter_map(Result::ok).collect();
            assert_eq!(got.len(), 1, "U+{:04X}", c as u32);
            assert_eq!(&got[0], want, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn a_row_of_only_invisible_characters_is_a_blank_row() {
        let rows = read("email,first_name\n\u{200b},\u{2060} \u{feff}\nanna@example.gr,Άννα\n");
        let customers = rows.iter().filter(|r| r.is_ok()).count();
        let errors = rows
            .iter()
            .filter(|r| r.as_ref().is_err_and(Problem::is_error))
            .count();
        assert_eq!((customers, errors), (1, 0), "{rows:?}");
    }

    #[test]
    fn the_scan_keeps_sixteen_bytes_per_customer() {
        // Two 64-bit digests: memory stays flat however wide the rows are.
        assert_eq!(std::mem::size_of::<Seen>(), 16);
    }

    /// The row parser of a list with this header.
    fn parser(header: &str) -> RowParser {
        let config = Config::parse(
            "[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n[customers]\npath = \"c.csv\"\n[occasions.b]\nkind = \"birthday\"\n",
            std::path::Path::new("greet.toml"),
        )
        .unwrap();
        let csv = format!("{header}\n");
        CustomerReader::from_reader(
            Box::new(std::io::Cursor::new(csv.into_bytes())),
            "c.csv".into(),
            &config,
        )
        .unwrap()
        .into_raw()
        .0
    }

    /// A row of these cells, as the reader would hand it over.
    fn raw_row(cells: &[Vec<u8>]) -> RawRow {
        let mut end = 0;
        RawRow {
            line: 2,
            bytes: cells.concat(),
            ends: cells
                .iter()
                .map(|c| {
                    end += c.len();
                    end
                })
                .collect(),
            last: false,
        }
    }

    /// Cells of bytes that are often not UTF-8, and characters cut in two at their edges.
    fn byte_cells() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let byte = prop_oneof![
            3 => prop::sample::select(b"aZ09 ,@.\t\n\r\x7f\x00\x0b".to_vec()),
            1 => prop::sample::select(vec![0x80u8, 0x85, 0x9f, 0xa0, 0xad, 0xbf, 0xc2, 0xce, 0xd7, 0xe2, 0xef, 0xf0, 0xff]),
        ];
        let text = prop::sample::select(vec![
            "Σ", "ש", "Ա", "\u{200b}", "\u{a0}", "\u{85}", "\u{feff}", "🎂",
        ])
        .prop_map(|t| t.as_bytes().to_vec());
        let piece = prop_oneof![byte.prop_map(|b| vec![b]), text];
        prop::collection::vec(
            prop::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
            0..6,
        )
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn a_cell_read_through_its_row_is_the_cell_read_alone(cells in byte_cells()) {
            let row = raw_row(&cells);
            let row_text = std::str::from_utf8(&row.bytes).ok();
            for ((start, end), cell) in row.row().spans().zip(&cells) {
                prop_assert_eq!(
                    cell_text(row_text, &row.bytes[start..end], start..end),
                    std::str::from_utf8(cell).ok()
                );
            }
        }

        #[test]
        fn the_look_at_the_whole_row_misses_no_control_character_or_line_break(cells in byte_cells()) {
            let row = raw_row(&cells);
            if cells.iter().any(|c| has_control(c) || has_line_break(c)) {
                prop_assert!(may_have_control(&row.bytes));
            }
        }

        #[test]
        fn a_row_is_blank_exactly_when_every_cell_is(
            cells in prop::collection::vec(
                prop::collection::vec(
                    prop::sample::select(vec![" ", "\t", "\u{b}", "\u{c}", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\u{2060}", "a", "Σ", "-", "\u{ff}"]),
                    0..4,
                ).prop_map(|p| p.concat().into_bytes()),
                1..5,
            )
        ) {
            let parser = parser("email,first_name,a,b,c");
            let blank = cells.iter().all(|c| is_blank_cell(c));
            let parsed = parser.parse(&raw_row(&cells), &mut Vec::new());
            prop_assert_eq!(matches!(parsed, Ok(None)), blank, "{:?}", cells);
        }

        #[test]
        fn the_mailbox_digest_is_the_digest_of_the_mailbox(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "maria", "Maria", "MARIA", "@", ".", "-", "--", "xn", "XN", "xn--", "Xn--", "xn--hxajbheg2az3al",
                    "XN--HXAJBHEG2AZ3AL", "xn--qxam", "example", "GR", "παράδειγμα", "ΕΛ", "ｍａｒｉａ", "\u{200b}",
                    "é", "\u{130}", "\u{212a}", "ß", "\"", " ", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                ]),
                0..12,
            )
        ) {
            let addr = parts.concat();
            prop_assert_eq!(mailbox_digest(&addr), scan_digest(&email::mailbox_of_normalised(&addr)), "{:?}", addr);
        }

        #[test]
        fn batches_hold_the_rows_the_csv_reader_reads_on_the_lines_it_says(
            rows in prop::collection::vec(
                prop::collection::vec(
                    prop::sample::select(vec!["a", "Σ", "", " ", "\"q\"", "\"a,b\"", "\"x\ny\"", "\"\"\"\"", "b\"c", "\r"]),
                    0..4,
                ).prop_map(|cells| cells.join(",")),
                0..40,
            ),
            crlf in any::<bool>(),
            batch in 1usize..7,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let text = format!("email,first_name{eol}{}", rows.join(eol));
            let config = Config::parse(
                "[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n[customers]\npath = \"c.csv\"\n[occasions.b]\nkind = \"birthday\"\n",
                std::path::Path::new("greet.toml"),
            ).unwrap();
            let open = || CustomerReader::from_reader(
                Box::new(std::io::Cursor::new(text.clone().into_bytes())), "c.csv".into(), &config,
            ).unwrap().into_raw().1;
            // One row at a time, as the reader reads them.
            let one_by_one: Vec<(u64, Vec<Vec<u8>>, bool)> = open()
                .filter_map(Result::ok)
                .map(|r| (r.line, r.row().cells().map(<[u8]>::to_vec).collect(), r.last))
                .collect();
            // The same rows, batch by batch.
            let mut rows = open();
            let mut batched = Vec::new();
            while let Some(b) = rows.next_batch(batch) {
                prop_assert!(b.error.is_none());
                for (row, _) in b.rows() {
                    batched.push((row.line, row.cells().map(<[u8]>::to_vec).collect(), row.last));
                }
            }
            prop_assert_eq!(&one_by_one, &batched);
            // And the csv reader's own records, line for line.
            let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(
                crate::customer::decode::CrlfToLf::new(std::io::Cursor::new(text.clone().into_bytes())),
            );
            let records: Vec<(u64, Vec<Vec<u8>>)> = csv
                .byte_records()
                .map(|r| r.unwrap())
                .map(|r| (r.position().unwrap().line(), r.iter().map(<[u8]>::to_vec).collect()))
                .collect();
            let ours: Vec<(u64, Vec<Vec<u8>>)> = batched.iter().map(|(l, c, _)| (*l, c.clone())).collect();
            prop_assert_eq!(records, ours);
            if let Some(last) = batched.last() {
                prop_assert!(last.2);
                prop_assert!(batched.iter().filter(|r| r.2).count() == 1);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn the_scan_reports_what_reading_row_by_row_finds_and_every_duplicate(
            rows in prop::collection::vec(
                (
                    prop::sample::select(vec!["", "C1", "C2", "C3", "c1"]),
                    prop::sample::select(vec![
                        "maria@example.gr", "MARIA@example.gr", "maria\u{200b}@example.gr", "ｍａｒｉａ@example.gr",
                        "eleni@παράδειγμα.ελ", "eleni@xn--hxajbheg2az3al.xn--qxam", "anna@example.gr",
                        "Anna@Example.GR", "sofia@example.gr", "eleni@example.gr", "bad@",
                    ]),
                    prop::sample::select(vec!["Μαρία", "Anna", "Σοφία", "Ma?ia", "Ελένη", "????"]),
                    prop::sample::select(vec!["1985-03-14", "14/03/1985", "", "--03-14", "1990-01-01", "31/02/1990"]),
                ),
                0..(SCAN_BATCH + 50),
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut text = String::from("id,email,first_name,birthday\n");
            for (id, email, name, birthday) in &rows {
                text.push_str(&format!("{id},{email},{name},{birthday}\n"));
            }
            std::fs::write(dir.path().join("c.csv"), &text).unwrap();
            let config = Config::parse(
                "[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n[customers]\npath = \"c.csv\"\n[occasions.b]\nkind = \"birthday\"\n",
                &dir.path().join("greet.toml"),
            ).unwrap();
            // Row by row: each row's warnings and then its error, and the customers.
            let mut problems = Vec::new();
            let mut customers = Vec::new();
            let (parser, raw) = CustomerReader::open(&config).unwrap().into_raw();
            for row in raw {
                match parser.parse(&row.unwrap(), &mut problems) {
                    Ok(Some(c)) => customers.push(c),
                    Ok(None) => {}
                    Err(p) => problems.push(p),
                }
            }
            // (Most generated lists are read, not refused: valid rows outnumber bad ones.)
            let roster = match scan(&config) {
                Ok(roster) => roster,
                Err(refused) => {
                    // Refused when most rows are bad: as many errors as row by row.
                    let errors = problems.iter().filter(|p| p.is_error()).count();
                    prop_assert!(errors * 2 > customers.len() + errors, "{:?}", refused);
                    return Ok(());
                }
            };
            // Every duplicate: rows sharing a key, or a mailbox under different keys.
            let mut by_key: HashMap<&str, Vec<u64>> = HashMap::new();
            let mut keys_by_mailbox: HashMap<String, HashSet<&str>> = HashMap::new();
            for c in &customers {
                by_key.entry(&c.key).or_default().push(c.line);
                keys_by_mailbox.entry(email::mailbox(&c.email)).or_default().insert(&c.key);
            }
            let duplicated: std::collections::BTreeSet<Option<u64>> = customers
                .iter()
                .filter(|c| by_key[c.key.as_str()].len() > 1 || keys_by_mailbox[&email::mailbox(&c.email)].len() > 1)
                .map(|c| Some(c.line))
                .collect();
            let is_duplicate = |p: &Problem| {
                p.message.contains("appears again") || p.message.contains("has the same mailbox")
            };
            let reported: std::collections::BTreeSet<Option<u64>> =
                roster.problems.iter().filter(|p| is_duplicate(p)).map(|p| p.line).collect();
            prop_assert_eq!(&reported, &duplicated);
            let others: Vec<String> = roster.problems.iter().filter(|p| !is_duplicate(p)).map(|p| format!("{p:?}")).collect();
            problems.sort_by_key(|p| p.line);
            let row_by_row: Vec<String> = problems.iter().map(|p| format!("{p:?}")).collect();
            prop_assert_eq!(others, row_by_row);
            prop_assert_eq!(roster.valid, (customers.len() - duplicated.len()) as u64);
        }
    }

    #[test]
    fn header_names_are_matched_loosely() {
        assert_eq!(alias(&squash("First Name")), Some("first_name"));
        assert_eq!(alias(&squash("\u{feff}E-Mail")), Some("email"));
        assert_eq!(alias(&squash("\u{200b}E-Mail\u{2060}")), Some("email"));
        assert_eq!(
            extra_name("Favourite\u{200b} Product\u{feff}"),
            "favourite_product"
        );
        assert_eq!(alias(&squash("CUSTOMER_SINCE")), Some("customer_since"));
        assert_eq!(extra_name("Favourite Product"), "favourite_product");
    }
}
