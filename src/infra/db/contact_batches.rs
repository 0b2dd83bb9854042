//! Contacts written many at a time (imports): one statement per batch for
//! each kind of write, not one per row.

use std::collections::HashMap;

use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

/// A contact as a batch writes it; `None` leaves a field as it is on update.
#[derive(Debug, Clone)]
pub struct BatchContact {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub company_id: Option<Uuid>,
    pub opted_out: Option<bool>,
    pub blocked: Option<bool>,
    /// Merged into what is stored.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// Existing contacts holding any of these phones or (lowercased) emails:
/// `(id, phone, lowercased email)`. One index probe per value (a join
/// against the arrays), so a batch costs the same however many contacts
/// the workspace already has.
pub async fn holding(
    tx: &mut TenantTx,
    phones: &[String],
    emails: &[String],
) -> sqlx::Result<Vec<(Uuid, Option<String>, Option<String>)>> {
    let rows = sqlx::query!(
        r#"select c.id as "id!", c.phone as "phone?", lower(c.email) as "email?"
           from unnest($2::text[]) as p(phone)
           join contacts c on c.org_id = $1 and c.phone = p.phone
           union
           select c.id, c.phone, lower(c.email) from unnest($3::text[]) as e(email)
           join contacts c on c.org_id = $1 and lower(c.email) = e.email"#,
        tx.org_id(),
        phones,
        emails
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.phone, r.email)).collect())
}

struct Columns {
    ids: Vec<Uuid>,
    names: Vec<String>,
    phones: Vec<Option<String>>,
    emails: Vec<Option<String>>,
    companies: Vec<Option<Uuid>>,
    opted_out: Vec<Option<bool>>,
    blocked: Vec<Option<bool>>,
    attributes: Vec<String>,
}

fn columns(contacts: &[BatchContact]) -> Columns {
    Columns {
        ids: contacts.iter().map(|c| c.id).collect(),
        names: contacts.iter().map(|c| c.name.clone()).collect(),
        phones: contacts.iter().map(|c| c.phone.clone()).collect(),
        emails: contacts.iter().map(|c| c.email.clone()).collect(),
        companies: contacts.iter().map(|c| c.company_id).collect(),
        opted_out: contacts.iter().map(|c| c.opted_out).collect(),
        blocked: contacts.iter().map(|c| c.blocked).collect(),
        attributes: contacts
            .iter()
            .map(|c| serde_json::Value::Object(c.attributes.clone()).to_string())
            .collect(),
    }
}

// Both statements read the rows as `unnest($2..$9) as u(...)`, with `$1`
// the workspace and the rows bound column by column.

pub async fn insert_many(tx: &mut TenantTx, contacts: &[BatchContact]) -> sqlx::Result<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let c = columns(contacts);
    sqlx::query!(
        "insert into contacts (org_id, id, name, phone, email, company_id, opted_out, blocked, attributes) \
         select $1, u.id, u.name, u.phone, u.email, u.company_id, coalesce(u.opted_out, false), \
                coalesce(u.blocked, false), u.attributes::jsonb \
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], \
           $7::bool[], $8::bool[], $9::text[]) \
           as u(id, name, phone, email, company_id, opted_out, blocked, attributes)",
        tx.org_id(),
        &c.ids,
        &c.names,
        &c.phones as &[Option<String>],
        &c.emails as &[Option<String>],
        &c.companies as &[Option<Uuid>],
        &c.opted_out as &[Option<bool>],
        &c.blocked as &[Option<bool>],
        &c.attributes
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Updates what each row gives; an empty value never erases a stored one.
/// Each id at most once per call.
pub async fn update_many(tx: &mut TenantTx, contacts: &[BatchContact]) -> sqlx::Result<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let c = columns(contacts);
    sqlx::query!(
        "update contacts c set name = coalesce(nullif(u.name, ''), c.name), \
           phone = coalesce(u.phone, c.phone), email = coalesce(u.email, c.email), \
           company_id = coalesce(u.company_id, c.company_id), \
           opted_out = coalesce(u.opted_out, c.opted_out), \
           blocked = coalesce(u.blocked, c.blocked), \
           attributes = c.attributes || u.attributes::jsonb, updated_at = now() \
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], \
           $7::bool[], $8::bool[], $9::text[]) \
           as u(id, name, phone, email, company_id, opted_out, blocked, attributes) \
         where c.org_id = $1 and c.id = u.id",
        tx.org_id(),
        &c.ids,
        &c.names,
        &c.phones as &[Option<String>],
        &c.emails as &[Option<String>],
        &c.companies as &[Option<Uuid>],
        &c.opted_out as &[Option<bool>],
        &c.blocked as &[Option<bool>],
        &c.attributes
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Adds `(contact, label)` pairs (labels already there stay).
pub async fn add_labels(tx: &mut TenantTx, pairs: &[(Uuid, Uuid)]) -> sqlx::Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let contacts: Vec<Uuid> = pairs.iter().map(|p| p.0).collect();
    let labels: Vec<Uuid> = pairs.iter().map(|p| p.1).collect();
    sqlx::query!(
        "insert into contact_labels (org_id, contact_id, label_id) \
         select $1, c, l from unnest($2::uuid[], $3::uuid[]) as u(c, l) on conflict do nothing",
        tx.org_id(),
        &contacts,
        &labels
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The ids of labels by lowercased name, creating the missing ones (grey).
pub async fn labels_named(
    tx: &mut TenantTx,
    names: &[String],
) -> sqlx::Result<HashMap<String, Uuid>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = names.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query!(
        "insert into labels (org_id, id, name, color) \
         select $1, i, n, '#4b5563' from unnest($2::uuid[], $3::text[]) as u(i, n) \
         on conflict do nothing",
        tx.org_id(),
        &ids,
        names
    )
    .execute(tx.conn())
    .await?;
    let lowered: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let rows = sqlx::query!(
        r#"select lower(name) as "name!", id from labels
           where org_id = $1 and lower(name) = any($2)"#,
        tx.org_id(),
        &lowered
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.id)).collect())
}

/// The ids of companies by lowercased name (the oldest of a name), creating
/// the missing ones.
pub async fn companies_named(
    tx: &mut TenantTx,
    names: &[String],
) -> sqlx::Result<HashMap<String, Uuid>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let lowered: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let mut found: HashMap<String, Uuid> = sqlx::query!(
        r#"select distinct on (lower(name)) lower(name) as "name!", id from companies
           where org_id = $1 and lower(name) = any($2) order by lower(name), created_at, id"#,
        tx.org_id(),
        &lowered
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| (r.name, r.id))
    .collect();
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !found.contains_key(&n.to_lowercase()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let ids: Vec<Uuid> = missing.iter().map(|_| Uuid::now_v7()).collect();
        sqlx::query!(
            "insert into companies (org_id, id, name) \
             select $1, i, n from unnest($2::uuid[], $3::text[]) as u(i, n)",
            tx.org_id(),
            &ids,
            &missing as &[&str]
        )
        .execute(tx.conn())
        .await?;
        for (name, id) in missing.into_iter().zip(ids) {
            found.insert(name.to_lowercase(), id);
        }
    }
    Ok(found)
}
