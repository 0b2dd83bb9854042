//! A Cloud API number's message templates, as last synced (and as status
//! webhooks and wacrm's own creations changed them since).

use serde_json::Value;
use uuid::Uuid;

use crate::domain::TemplateStatus;
use crate::domain::template_shape::{Media, Param, Shape, Slot};
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: TemplateStatus,
    pub body: String,
    /// The values it takes when they are all in the body (else 0).
    pub variables: i32,
    /// It takes values outside the body (header, buttons) or some wacrm
    /// cannot fill.
    pub other_parameters: bool,
    /// Graph's components, as listed.
    pub components: Value,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    /// Graph's template id (`hsm_id`), when known.
    pub graph_id: Option<String>,
    /// Why Meta last changed its status (rejection reason, pause title).
    pub status_reason: Option<String>,
}

/// A row as stored; [`Template`] adds what its components say.
struct Row {
    name: String,
    language: String,
    category: String,
    status: TemplateStatus,
    body: String,
    components: Value,
    parameter_format: String,
    graph_id: Option<String>,
    status_reason: Option<String>,
}

impl From<Row> for Template {
    fn from(row: Row) -> Template {
        let (variables, other_parameters) =
            match Shape::parse(&row.components, &row.parameter_format) {
                Ok(shape) if shape.body_only() => {
                    (i32::try_from(shape.params.len()).unwrap_or(0), false)
                }
                _ => (0, true),
            };
        Template {
            name: row.name,
            language: row.language,
            category: row.category,
            status: row.status,
            body: row.body,
            variables,
            other_parameters,
            components: row.components,
            parameter_format: row.parameter_format,
            graph_id: row.graph_id,
            status_reason: row.status_reason,
        }
    }
}

impl Template {
    /// Approved, or flagged for low quality (still sendable until Meta
    /// pauses it).
    pub fn approved(&self) -> bool {
        self.status == TemplateStatus::Approved || self.status.as_str() == "FLAGGED"
    }

    /// Meta has not decided on it yet (submitted, or appealed): its status
    /// will change by itself.
    pub fn in_review(&self) -> bool {
        self.status == TemplateStatus::Pending || self.status.as_str() == "IN_APPEAL"
    }

    /// Whether it can be sent with a value for each of its
    /// [`Template::shape`]'s parameters (the inbox, the API, campaigns,
    /// scheduled messages): approved, and
    /// every part of it one wacrm knows how to fill.
    pub fn can_send(&self) -> bool {
        self.approved() && self.shape().is_ok()
    }

    /// Its texts and the values it takes, or what wacrm cannot fill.
    pub fn shape(&self) -> Result<Shape, String> {
        Shape::parse(&self.components, &self.parameter_format)
    }

    /// The values the inbox's form asks for, in order (none when wacrm
    /// cannot fill it).
    pub fn fields(&self) -> Vec<Param> {
        self.shape().map(|s| s.params).unwrap_or_default()
    }

    /// The file types its image, video or document header takes as an
    /// upload (`None`: no such header), for the forms' file input.
    pub fn header_file_types(&self) -> Option<&'static str> {
        self.fields().iter().find_map(|p| file_types(&p.slot))
    }

    /// 1-based numbers of its variables, for the form.
    pub fn variable_numbers(&self) -> Vec<i32> {
        (1..=self.variables).collect()
    }
}

/// The file types a value in `slot` takes as an upload: a media header's,
/// as WhatsApp takes them (`None` for other values).
pub fn file_types(slot: &Slot) -> Option<&'static str> {
    match slot {
        Slot::HeaderMedia(Media::Image) => Some("image/jpeg,image/png"),
        Slot::HeaderMedia(Media::Video) => Some("video/mp4,video/3gpp"),
        Slot::HeaderMedia(Media::Document) => {
            Some("application/pdf,text/plain,.doc,.docx,.xls,.xlsx,.ppt,.pptx")
        }
        _ => None,
    }
}

/// A template as the provider lists it, reduced to what is stored.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub graph_id: Option<String>,
    pub name: String,
    pub language: String,
    pub category: String,
    /// As the provider spells it.
    pub status: String,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    pub body: String,
    pub variables: i32,
    pub other_parameters: bool,
    /// The provider's components, kept as given.
    pub components: serde_json::Value,
}

/// Makes the channel's templates what the provider listed: listed ones are
/// written over (a status reason from a webhook stays while the status is
/// the same), the others removed. Campaigns and scheduled messages name a
/// template by name and language, so they keep finding it.
pub async fn replace(
    tx: &mut TenantTx,
    channel_id: Uuid,
    templates: &[NewTemplate],
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    let names: Vec<String> = templates.iter().map(|t| t.name.clone()).collect();
    let languages: Vec<String> = templates.iter().map(|t| t.language.clone()).collect();
    sqlx::query!(
        "delete from whatsapp_templates where org_id = $1 and channel_id = $2
           and (name, language) not in (select * from unnest($3::text[], $4::text[]))",
        org_id,
        channel_id,
        &names,
        &languages
    )
    .execute(tx.conn())
    .await?;
    for template in templates {
        upsert(tx, channel_id, template).await?;
    }
    Ok(())
}

/// Stores one template, over any of the same name and language.
pub async fn upsert(
    tx: &mut TenantTx,
    channel_id: Uuid,
    template: &NewTemplate,
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "insert into whatsapp_templates (org_id, channel_id, name, language, category, status, \
         body, variables, other_parameters, components, parameter_format, graph_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         on conflict (org_id, channel_id, name, language) do update set \
           category = excluded.category, body = excluded.body, \
           variables = excluded.variables, other_parameters = excluded.other_parameters, \
           components = excluded.components, parameter_format = excluded.parameter_format, \
           graph_id = coalesce(excluded.graph_id, whatsapp_templates.graph_id), \
           status_reason = case when whatsapp_templates.status = excluded.status \
             then whatsapp_templates.status_reason end, \
           status = excluded.status, synced_at = now()",
        org_id,
        channel_id,
        &template.name,
        &template.language,
        &template.category,
        &template.status,
        &template.body,
        template.variables,
        template.other_parameters,
        &template.components,
        &template.parameter_format,
        template.graph_id.as_deref()
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn list(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<Vec<Template>> {
    let org_id = tx.org_id();
    let rows = sqlx::query_as!(
        Row,
        r#"select name, language, category, status as "status: TemplateStatus", body,
             components, parameter_format, graph_id, status_reason
           from whatsapp_templates where org_id = $1 and channel_id = $2
           order by name, language"#,
        org_id,
        channel_id
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(Template::from).collect())
}

pub async fn find(
    tx: &mut TenantTx,
    channel_id: Uuid,
    name: &str,
    language: &str,
) -> sqlx::Result<Option<Template>> {
    let org_id = tx.org_id();
    let row = sqlx::query_as!(
        Row,
        r#"select name, language, category, status as "status: TemplateStatus", body,
             components, parameter_format, graph_id, status_reason
           from whatsapp_templates where org_id = $1 and channel_id = $2
           and name = $3 and language = $4"#,
        org_id,
        channel_id,
        name,
        language
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(Template::from))
}

/// Meta changed a template's review status (protocols-field 1.2), as the
/// Cloud API webhook reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateStatusUpdate {
    /// `event`: APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, ...
    pub event: String,
    /// `message_template_id` (an integer on the wire), as text.
    pub template_id: Option<String>,
    pub name: Option<String>,
    pub language: Option<String>,
    /// Why, for display: the rejection reason (other than `NONE`), else the
    /// pause or disable title (`other_info.title`), with the details Meta
    /// gave.
    pub reason: Option<String>,
}

/// Applies Meta's status change to the template it names, on every number
/// of the workspace on business account `waba_id` (each keeps its own copy):
/// matched by Graph's id when stored, else by name and language. A deleted
/// template is removed. How many rows changed (0: not a template wacrm
/// has).
pub async fn apply_status_update(
    tx: &mut TenantTx,
    waba_id: &str,
    update: &TemplateStatusUpdate,
) -> sqlx::Result<u64> {
    let org_id = tx.org_id();
    let id = update.template_id.as_deref();
    let name = update.name.as_deref();
    let language = update.language.as_deref();
    let changed = if matches!(update.event.as_str(), "DELETED" | "PENDING_DELETION") {
        sqlx::query!(
            "delete from whatsapp_templates t where t.org_id = $1 and t.channel_id in \
               (select c.id from channels c where c.org_id = $1 and c.waba_id = $2) \
             and (t.graph_id = $3 or (($3::text is null or t.graph_id is null) \
                  and t.name = $4 and t.language = $5))",
            org_id,
            waba_id,
            id,
            name,
            language
        )
        .execute(tx.conn())
        .await?
    } else {
        // Reinstated after a pause: sendable again.
        let status = match update.event.as_str() {
            "REINSTATED" => "APPROVED",
            other => other,
        };
        sqlx::query!(
            "update whatsapp_templates t set status = $6, status_reason = $7, \
               graph_id = coalesce(t.graph_id, $3) \
             where t.org_id = $1 and t.channel_id in \
               (select c.id from channels c where c.org_id = $1 and c.waba_id = $2) \
             and (t.graph_id = $3 or (($3::text is null or t.graph_id is null) \
                  and t.name = $4 and t.language = $5))",
            org_id,
            waba_id,
            id,
            name,
            language,
            status,
            update.reason.as_deref()
        )
        .execute(tx.conn())
        .await?
    };
    Ok(changed.rows_affected())
}

/// Removes one template (one language) of the channel.
pub async fn delete(
    tx: &mut TenantTx,
    channel_id: Uuid,
    name: &str,
    language: &str,
) -> sqlx::Result<bool> {
    let org_id = tx.org_id();
    let done = sqlx::query!(
        "delete from whatsapp_templates where org_id = $1 and channel_id = $2 \
         and name = $3 and language = $4",
        org_id,
        channel_id,
        name,
        language
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}
