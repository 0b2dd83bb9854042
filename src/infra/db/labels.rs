//! Labels: a workspace's coloured tags for contacts.

use std::collections::HashMap;

use uuid::Uuid;

use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Label {
    pub id: Uuid,
    pub name: String,
    /// One of [`PALETTE`].
    pub color: String,
}

/// A label with how many contacts carry it (the labels page).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LabelUsage {
    pub id: Uuid,
    pub name: String,
    pub color: String,
    pub contact_count: i64,
}

/// The colours a label may have: CSS gives each a class, so pages need no
/// inline styles (the CSP forbids them).
pub const PALETTE: [(&str, &str); 10] = [
    ("#dc2626", "Red"),
    ("#ea580c", "Orange"),
    ("#ca8a04", "Yellow"),
    ("#16a34a", "Green"),
    ("#0d9488", "Teal"),
    ("#2563eb", "Blue"),
    ("#4f46e5", "Indigo"),
    ("#9333ea", "Purple"),
    ("#db2777", "Pink"),
    ("#4b5563", "Grey"),
];

/// The unique index a second label of the same name hits.
pub const NAME_KEY: &str = "labels_org_id_name_key";

pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<Label>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Label,
        "select l.id, l.name, l.color from labels l where l.org_id = $1 \
         order by lower(l.name), l.id",
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Counting costs a scan per label: only for the page that shows it.
pub async fn list_with_counts(tx: &mut TenantTx) -> sqlx::Result<Vec<LabelUsage>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        LabelUsage,
        r#"select l.id, l.name, l.color,
           (select count(*) from contact_labels cl where cl.org_id = l.org_id and cl.label_id = l.id)
           as "contact_count!"
           from labels l where l.org_id = $1 order by lower(l.name), l.id"#,
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

/// Whether another label (not `except`) has this name, in any case.
pub async fn name_in_use(
    tx: &mut TenantTx,
    name: &str,
    except: Option<Uuid>,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select exists (select 1 from labels where org_id = $1 and lower(name) = lower($2)
           and id is distinct from $3) as "in_use!""#,
        org_id,
        name,
        except
    )
    .fetch_one(tx.conn())
    .await
}

pub async fn insert(tx: &mut TenantTx, name: &str, color: &str) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into labels (org_id, id, name, color) values ($1, $2, $3, $4)",
        org_id,
        id,
        name,
        color
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

pub async fn update(tx: &mut TenantTx, id: Uuid, name: &str, color: &str) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "update labels set name = $3, color = $4 where org_id = $1 and id = $2",
        org_id,
        id,
        name,
        color
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the label and takes it off every contact.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from labels where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What carries labels: each has its own join table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagged {
    Contact,
    Conversation,
}

/// Gives the contact or conversation exactly these labels; ids not in this
/// workspace are ignored. One static statement pair per join table, so the
/// SQL is checked at compile time.
pub async fn set_for(
    tx: &mut TenantTx,
    tagged: Tagged,
    id: Uuid,
    label_ids: &[Uuid],
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    // The join table's two statements, `$owner` naming the tagged row's
    // column: a macro so that each stays one literal the compiler checks.
    #[rustfmt::skip]
    macro_rules! set {
        ($table:literal, $owner:literal) => {{
            sqlx::query!(
                "delete from " + $table + " where org_id = $1 and " + $owner + " = $2 \
                 and label_id <> all($3)",
                org_id,
                id,
                label_ids
            )
            .execute(tx.conn())
            .await?;
            sqlx::query!(
                "insert into " + $table + " (org_id, " + $owner + ", label_id) \
                 select $1, $2, id from labels where org_id = $1 and id = any($3) \
                 on conflict do nothing",
                org_id,
                id,
                label_ids
            )
            .execute(tx.conn())
            .await?;
        }};
    }
    match tagged {
        Tagged::Contact => set!("contact_labels", "contact_id"),
        Tagged::Conversation => set!("conversation_labels", "conversation_id"),
    }
    Ok(())
}

/// A label and the contact or conversation carrying it.
struct Carried {
    owner: Uuid,
    id: Uuid,
    name: String,
    color: String,
}

/// The labels of each of these contacts or conversations, by name (one
/// index probe per id, whatever the table's size).
pub async fn of(
    tx: &mut TenantTx,
    tagged: Tagged,
    ids: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<Label>>> {
    let org_id = tx.org_id();
    // One literal per join table, as in `set_for`.
    #[rustfmt::skip]
    macro_rules! carried {
        ($table:literal, $owner:literal) => {
            sqlx::query_as!(
                Carried,
                "select t." + $owner + " as owner, l.id, l.name, l.color \
                 from unnest($2::uuid[]) as k(id) \
                 join " + $table + " t on t.org_id = $1 and t." + $owner + " = k.id \
                 join labels l on l.org_id = t.org_id and l.id = t.label_id \
                 order by lower(l.name), l.id",
                org_id,
                ids
            )
            .fetch_all(tx.conn())
            .await?
        };
    }
    let rows = match tagged {
        Tagged::Contact => carried!("contact_labels", "contact_id"),
        Tagged::Conversation => carried!("conversation_labels", "conversation_id"),
    };
    let mut by_owner: HashMap<Uuid, Vec<Label>> = HashMap::new();
    for Carried {
        owner,
        id,
        name,
        color,
    } in rows
    {
        by_owner
            .entry(owner)
            .or_default()
            .push(Label { id, name, color });
    }
    Ok(by_owner)
}
