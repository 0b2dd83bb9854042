//! The import job: applies a mapped CSV in batches. Each batch commits its
//! contacts together with the position reached, so a restart resumes after
//! the last committed batch and no row is applied twice. A run stops after
//! a time budget and queues its continuation, so other jobs (replies) are
//! not held up by a large file.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::mapping::Field;
use crate::domain::contact::ContactForm;
use crate::domain::csv_file::rows_from;
use crate::domain::{AttributeDef, Country, OnDuplicate};
use crate::features::billing::limits::{self, Counted, OverLimit};
use crate::features::environment::Environment;
use crate::infra::db;
use crate::infra::db::attributes::Entity;
use crate::infra::db::contact_batches::BatchContact;
use crate::infra::db::imports::{BatchOutcome, Failure};
use crate::infra::jobs;
use crate::infra::tenancy::TenantTx;
use crate::infra::tenancy::bootstrap::for_job;

const BATCH_ROWS: usize = 1000;
const RUN_BUDGET: Duration = Duration::from_secs(5);
const MAX_LABEL_CHARS: usize = 50;

/// Import settings that hold for every batch of a run.
struct Plan {
    fields: Vec<Option<Field>>,
    /// Only the attributes a column fills: the others are left alone.
    defs: Vec<AttributeDef>,
    country: Option<Country>,
    update_duplicates: bool,
}

/// One run of the job for `import_id`.
pub async fn run(env: &Environment, org_id: Uuid, import_id: Uuid) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tx = for_job(&env.pool, org_id).await?;
    let Some(work) = db::imports::work(&mut tx, import_id).await? else {
        // Deleted with its workspace, or never started: nothing to do.
        return Ok(());
    };
    let all_defs = db::attributes::list(&mut tx, Entity::Contact).await?;
    let country = db::orgs::default_country(&mut tx).await?;
    tx.commit().await?;
    let fields: Vec<Option<Field>> = work
        .mapping
        .iter()
        .map(|v| Field::parse(v, &all_defs))
        .collect();
    let defs = all_defs
        .into_iter()
        .filter(|d| fields.contains(&Some(Field::Attribute(d.key.clone()))))
        .collect();
    let plan = Plan {
        fields,
        defs,
        country,
        update_duplicates: work.on_duplicate == OnDuplicate::Update,
    };
    loop {
        let mut tx = for_job(&env.pool, org_id).await?;
        let Some(position) = db::imports::lock_position(&mut tx, import_id).await? else {
            return Ok(());
        };
        if !position.status.is_running() {
            return Ok(());
        }
        let next_byte = u64::try_from(position.next_byte).unwrap_or(0);
        let rows = rows_from(&work.csv, next_byte, BATCH_ROWS).map_err(anyhow::Error::msg)?;
        let end = rows.last().map_or(next_byte, |(_, end)| *end);
        let finished = rows.len() < BATCH_ROWS || end >= work.csv.len() as u64;
        // Row 1 is the header.
        let first_number = position.done_rows + 2;
        let batch_started = Instant::now();
        // New contacts only up to the plan's limit; the rest are reported.
        let room = match limits::room(&env.config, &mut tx, Counted::Contacts).await? {
            Ok(room) => room.map(|n| (n, None)),
            Err(over) => Some((0, Some(over))),
        };
        let outcome = apply(&mut tx, &plan, first_number, rows, room).await?;
        db::imports::record_batch(&mut tx, import_id, end, &outcome, finished).await?;
        tracing::debug!(
            %import_id,
            rows = outcome.rows,
            ms = batch_started.elapsed().as_millis() as u64,
            "import batch applied"
        );
        let out_of_time = started.elapsed() > RUN_BUDGET;
        if !finished && out_of_time {
            let next = ImportContacts { org_id, import_id };
            jobs::enqueue(tx.conn(), &env.secrets, &next).await?;
        }
        tx.commit().await?;
        if finished || out_of_time {
            return Ok(());
        }
    }
}

/// A row read and checked, waiting to be written.
struct Checked {
    number: i32,
    raw: Vec<String>,
    contact: BatchContact,
    company: Option<String>,
    labels: Vec<String>,
}

async fn apply(
    tx: &mut TenantTx,
    plan: &Plan,
    first_number: i32,
    rows: Vec<(Vec<String>, u64)>,
    mut room: Option<(i64, Option<OverLimit>)>,
) -> anyhow::Result<BatchOutcome> {
    let mut outcome = BatchOutcome {
        rows: i32::try_from(rows.len()).unwrap_or(i32::MAX),
        ..BatchOutcome::default()
    };
    let mut checked = vec![];
    for (i, (raw, _)) in rows.into_iter().enumerate() {
        let number = first_number + i32::try_from(i).unwrap_or(i32::MAX);
        if raw.iter().all(|cell| cell.trim().is_empty()) {
            outcome.skipped += 1;
            continue;
        }
        match check_row(plan, &raw) {
            Ok((contact, company, labels)) => checked.push(Checked {
                number,
                raw,
                contact,
                company,
                labels,
            }),
            Err(reason) => outcome.failures.push(Failure {
                row_number: number,
                reason,
                raw,
            }),
        }
    }

    let checked_at = Instant::now();
    // Who already exists, by phone or email (this batch's new rows join in
    // as they are read, so a repeated row is a duplicate too).
    let phones: Vec<String> = checked
        .iter()
        .filter_map(|c| c.contact.phone.clone())
        .collect();
    let emails: Vec<String> = checked
        .iter()
        .filter_map(|c| c.contact.email.clone())
        .collect();
    let mut by_phone: HashMap<String, Uuid> = HashMap::new();
    let mut by_email: HashMap<String, Uuid> = HashMap::new();
    for (id, phone, email) in db::contact_batches::holding(tx, &phones, &emails).await? {
        if let Some(p) = phone {
            by_phone.insert(p, id);
        }
        if let Some(e) = email {
            by_email.insert(e, id);
        }
    }

    let company_names = distinct(checked.iter().filter_map(|c| c.company.clone()));
    let companies = db::contact_batches::companies_named(tx, &company_names).await?;
    let label_names = distinct(checked.iter().flat_map(|c| c.labels.clone()));
    let labels = db::contact_batches::labels_named(tx, &label_names).await?;

    let mut inserts = vec![];
    let mut updates: HashMap<Uuid, BatchContact> = HashMap::new();
    let mut label_pairs = vec![];
    for mut row in checked {
        let holder_by_phone = row
            .contact
            .phone
            .as_ref()
            .and_then(|p| by_phone.get(p))
            .copied();
        let holder_by_email = row
            .contact
            .email
            .as_ref()
            .and_then(|e| by_email.get(e))
            .copied();
        let holder = match (holder_by_phone, holder_by_email) {
            (Some(a), Some(b)) if a != b => {
                outcome.failures.push(Failure {
                    row_number: row.number,
                    reason: "The phone belongs to one contact and the email to another; merge them first or fix the row.".into(),
                    raw: row.raw,
                });
                continue;
            }
            (a, b) => a.or(b),
        };
        row.contact.company_id = row
            .company
            .as_ref()
            .and_then(|c| companies.get(&c.to_lowercase()).copied());
        let id = match holder {
            Some(_) if !plan.update_duplicates => {
                outcome.skipped += 1;
                continue;
            }
            Some(id) => {
                row.contact.id = id;
                outcome.updated += 1;
                // A later row for the same contact wins.
                updates.insert(id, row.contact.clone());
                id
            }
            None if room.as_ref().is_some_and(|(left, _)| *left <= 0) => {
                let reason = match room.as_ref().and_then(|(_, over)| over.as_ref()) {
                    Some(over) => format!("Not imported: {over}"),
                    None => "Not imported: the plan's contact limit was reached by this import. Upgrade in Settings → Billing to add more.".to_owned(),
                };
                outcome.failures.push(Failure {
                    row_number: row.number,
                    reason,
                    raw: row.raw,
                });
                continue;
            }
            None => {
                if let Some((left, _)) = room.as_mut() {
                    *left -= 1;
                }
                let id = row.contact.id;
                outcome.created += 1;
                inserts.push(row.contact.clone());
                id
            }
        };
        if let Some(p) = &row.contact.phone {
            by_phone.insert(p.clone(), id);
        }
        if let Some(e) = &row.contact.email {
            by_email.insert(e.clone(), id);
        }
        for name in &row.labels {
            if let Some(label) = labels.get(&name.to_lowercase()) {
                label_pairs.push((id, *label));
            }
        }
    }
    let resolved_at = Instant::now();
    db::contact_batches::insert_many(tx, &inserts).await?;
    // Rows that were new in this batch and then repeated update their own
    // insert: apply updates after inserts.
    let updates: Vec<BatchContact> = updates.into_values().collect();
    db::contact_batches::update_many(tx, &updates).await?;
    db::contact_batches::add_labels(tx, &label_pairs).await?;
    tracing::debug!(
        lookups_ms = (resolved_at - checked_at).as_millis() as u64,
        writes_ms = resolved_at.elapsed().as_millis() as u64,
        "import batch phases"
    );
    Ok(outcome)
}

fn distinct(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names.filter(|n| seen.insert(n.to_lowercase())).collect()
}

/// A CSV yes/no cell as a checkbox value.
fn truthy(cell: &str) -> Result<bool, String> {
    match cell.trim().to_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" | "off" => Ok(false),
        "1" | "true" | "yes" | "y" | "on" | "x" => Ok(true),
        other => Err(format!("“{other}” is not yes or no")),
    }
}

/// A row checked with the contact form's own rules; the error names the
/// fields that are wrong.
fn check_row(
    plan: &Plan,
    raw: &[String],
) -> Result<(BatchContact, Option<String>, Vec<String>), String> {
    if raw.len() != plan.fields.len() {
        return Err(format!(
            "The row has {} cells; the header has {} columns.",
            raw.len(),
            plan.fields.len()
        ));
    }
    let mut form = ContactForm::default();
    let mut errors: Vec<String> = vec![];
    let mut labels = vec![];
    let (mut opted_out, mut blocked) = (None, None);
    for (field, cell) in plan.fields.iter().zip(raw) {
        let cell = cell.trim();
        match field {
            None => {}
            Some(Field::Name) => form.name = cell.to_owned(),
            Some(Field::Phone) => form.phone = cell.to_owned(),
            Some(Field::Email) => form.email = cell.to_owned(),
            Some(Field::Company) => form.company = cell.to_owned(),
            Some(Field::Labels) => {
                for name in cell
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                {
                    if name.chars().count() > MAX_LABEL_CHARS {
                        errors.push(format!(
                            "Labels: “{name}” is longer than {MAX_LABEL_CHARS} characters."
                        ));
                    } else {
                        labels.push(name.to_owned());
                    }
                }
            }
            Some(Field::OptedOut) => match truthy(cell) {
                Ok(v) => opted_out = Some(v),
                Err(e) => errors.push(format!("Opted out: {e}.")),
            },
            Some(Field::Blocked) => match truthy(cell) {
                Ok(v) => blocked = Some(v),
                Err(e) => errors.push(format!("Blocked: {e}.")),
            },
            Some(Field::Attribute(key)) => {
                form.attributes
                    .insert(format!("attr.{key}"), cell.to_owned());
            }
        }
    }
    let fields = form.parse(plan.country, &plan.defs);
    match fields {
        Err(mut form_errors) => {
            form_errors.append(&mut errors);
            Err(form_errors.join(" "))
        }
        Ok(_) if !errors.is_empty() => Err(errors.join(" ")),
        Ok(fields) => Ok((
            BatchContact {
                id: Uuid::now_v7(),
                name: fields.name,
                phone: fields.phone.map(|p| p.as_str().to_owned()),
                email: fields.email.map(|e| e.as_str().to_lowercase()),
                company_id: None,
                opted_out,
                blocked,
                attributes: fields.attributes,
            },
            fields.company_name,
            labels,
        )),
    }
}

/// The next batches of a contact import (`kind: import_contacts`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ImportContacts {
    pub org_id: Uuid,
    pub import_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for ImportContacts {
    const KIND: &'static str = "import_contacts";
    const QUEUE: &'static str = "imports";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        run(env, self.org_id, self.import_id).await
    }
}
