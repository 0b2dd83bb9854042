//! Pipelines and their stages: the steps a workspace's deals move through,
//! in order, some meaning won or lost. Settings manage them; the board and
//! the deal forms read them.

use uuid::Uuid;

use crate::domain::StageOutcome;
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stage {
    pub id: Uuid,
    pub pipeline_id: Uuid,
    pub name: String,
    pub position: i32,
    pub outcome: StageOutcome,
}

/// The stages a new pipeline starts with: name and outcome.
const DEFAULT_STAGES: [(&str, StageOutcome); 5] = [
    ("Lead", StageOutcome::Open),
    ("Qualified", StageOutcome::Open),
    ("Proposal", StageOutcome::Open),
    ("Won", StageOutcome::Won),
    ("Lost", StageOutcome::Lost),
];

/// The workspace's pipelines, creating the default one ("Sales") the first
/// time (two first visits at once make one: the name is unique).
pub async fn pipelines(tx: &mut TenantTx) -> sqlx::Result<Vec<Pipeline>> {
    let list = all(tx).await?;
    if !list.is_empty() {
        return Ok(list);
    }
    insert(tx, "Sales").await?;
    all(tx).await
}

async fn all(tx: &mut TenantTx) -> sqlx::Result<Vec<Pipeline>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Pipeline,
        "select id, name from pipelines where org_id = $1 order by position, lower(name), id",
        org_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Pipeline>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Pipeline,
        "select id, name from pipelines where org_id = $1 and id = $2",
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// A new pipeline, last, with the default stages; `None` if one of that
/// name exists already.
pub async fn insert(tx: &mut TenantTx, name: &str) -> sqlx::Result<Option<Uuid>> {
    let org_id = tx.org_id();
    let id = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into pipelines (org_id, id, name, position) \
         select $1, $2, $3, coalesce(max(position) + 1, 0) from pipelines where org_id = $1 \
         on conflict do nothing",
        org_id,
        id,
        name
    )
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    let names: Vec<&str> = DEFAULT_STAGES.iter().map(|(n, _)| *n).collect();
    let outcomes: Vec<&str> = DEFAULT_STAGES.iter().map(|(_, o)| o.as_str()).collect();
    sqlx::query!(
        "insert into pipeline_stages (org_id, id, pipeline_id, name, position, outcome) \
         select $1, gen_random_uuid(), $2, s.name, s.n, s.outcome \
         from unnest($3::text[], $4::text[]) with ordinality as s(name, outcome, n)",
        org_id,
        id,
        &names[..] as &[&str],
        &outcomes[..] as &[&str]
    )
    .execute(tx.conn())
    .await?;
    Ok(Some(id))
}

/// `false` if another pipeline has that name.
pub async fn rename(tx: &mut TenantTx, id: Uuid, name: &str) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let taken = sqlx::query_scalar!(
        r#"select exists (select 1 from pipelines where org_id = $1 and id <> $2
           and lower(name) = lower($3)) as "taken!""#,
        org_id,
        id,
        name
    )
    .fetch_one(tx.conn())
    .await?;
    if taken {
        return Ok(false);
    }
    sqlx::query!(
        "update pipelines set name = $3 where org_id = $1 and id = $2",
        org_id,
        id,
        name
    )
    .execute(tx.conn())
    .await?;
    Ok(true)
}

pub async fn delete(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from pipelines where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn stages(tx: &mut TenantTx, pipeline_id: Uuid) -> sqlx::Result<Vec<Stage>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Stage,
        r#"select id, pipeline_id, name, position, outcome as "outcome: StageOutcome"
           from pipeline_stages where org_id = $1 and pipeline_id = $2 order by position, id"#,
        org_id,
        pipeline_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn stage(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Stage>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Stage,
        r#"select id, pipeline_id, name, position, outcome as "outcome: StageOutcome"
           from pipeline_stages where org_id = $1 and id = $2"#,
        org_id,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// How many deals a pipeline (or one of its stages) holds.
pub async fn deal_count(
    tx: &mut TenantTx,
    pipeline_id: Uuid,
    stage_id: Option<Uuid>,
) -> sqlx::Result<i64> {
    let org_id = tx.org_id();
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from deals where org_id = $1 and pipeline_id = $2
           and ($3::uuid is null or stage_id = $3)"#,
        org_id,
        pipeline_id,
        stage_id
    )
    .fetch_one(tx.conn())
    .await
}

/// Serialises changes to one pipeline's stages (positions, names), so two
/// admins editing at once cannot interleave.
pub async fn lock(tx: &mut TenantTx, pipeline_id: Uuid) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let found = sqlx::query_scalar!(
        "select id from pipelines where org_id = $1 and id = $2 for update",
        org_id,
        pipeline_id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.is_some())
}

/// A new stage, last in its pipeline; `false` if the name is taken there.
pub async fn add_stage(
    tx: &mut TenantTx,
    pipeline_id: Uuid,
    name: &str,
    outcome: StageOutcome,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let inserted = sqlx::query!(
        "insert into pipeline_stages (org_id, id, pipeline_id, name, position, outcome) \
         select $1, gen_random_uuid(), $2, $3, coalesce(max(position) + 1, 1), $4 \
         from pipeline_stages where org_id = $1 and pipeline_id = $2 \
         on conflict do nothing",
        org_id,
        pipeline_id,
        name,
        outcome.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// `false` if another stage of the pipeline has that name.
pub async fn update_stage(
    tx: &mut TenantTx,
    stage: &Stage,
    name: &str,
    outcome: StageOutcome,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let taken = sqlx::query_scalar!(
        r#"select exists (select 1 from pipeline_stages where org_id = $1 and pipeline_id = $2
           and id <> $3 and lower(name) = lower($4)) as "taken!""#,
        org_id,
        stage.pipeline_id,
        stage.id,
        name
    )
    .fetch_one(tx.conn())
    .await?;
    if taken {
        return Ok(false);
    }
    sqlx::query!(
        "update pipeline_stages set name = $3, outcome = $4 where org_id = $1 and id = $2",
        org_id,
        stage.id,
        name,
        outcome.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(true)
}

/// Swaps the stage with its neighbour before (`earlier`) or after it;
/// nothing at either end.
pub async fn move_stage(tx: &mut TenantTx, stage: &Stage, earlier: bool) -> sqlx::Result<()> {
    let mut stages = stages(tx, stage.pipeline_id).await?;
    let Some(at) = stages.iter().position(|s| s.id == stage.id) else {
        return Ok(());
    };
    let other = if earlier {
        at.checked_sub(1)
    } else {
        Some(at + 1)
    };
    let Some(other) = other.filter(|o| *o < stages.len()) else {
        return Ok(());
    };
    stages.swap(at, other);
    let ids: Vec<Uuid> = stages.iter().map(|s| s.id).collect();
    let org_id = tx.org_id();
    sqlx::query!(
        "update pipeline_stages s set position = o.n from unnest($2::uuid[]) \
         with ordinality as o(id, n) where s.org_id = $1 and s.id = o.id",
        org_id,
        &ids
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn delete_stage(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from pipeline_stages where org_id = $1 and id = $2",
        org_id,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
