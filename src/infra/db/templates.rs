//! A Cloud API number's message templates, as last synced.

use uuid::Uuid;

use crate::domain::TemplateStatus;
use crate::infra::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: TemplateStatus,
    pub body: String,
    pub variables: i32,
    pub other_parameters: bool,
}

impl Template {
    /// Whether the inbox can send it: approved, variables in the body only.
    pub fn sendable(&self) -> bool {
        self.status == TemplateStatus::Approved && !self.other_parameters
    }

    /// 1-based numbers of its variables, for the form.
    pub fn variable_numbers(&self) -> Vec<i32> {
        (1..=self.variables).collect()
    }
}

/// A template as the provider lists it, reduced to what is stored.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    /// As the provider spells it.
    pub status: String,
    pub body: String,
    pub variables: i32,
    pub other_parameters: bool,
    /// The provider's components, kept as given.
    pub components: serde_json::Value,
}

/// Replaces the channel's templates with what the provider listed.
pub async fn replace(
    tx: &mut TenantTx,
    channel_id: Uuid,
    templates: &[NewTemplate],
) -> sqlx::Result<()> {
    let org_id = tx.org_id();
    sqlx::query!(
        "delete from whatsapp_templates where org_id = $1 and channel_id = $2",
        org_id,
        channel_id
    )
    .execute(tx.conn())
    .await?;
    for template in templates {
        sqlx::query!(
            "insert into whatsapp_templates (org_id, channel_id, name, language, category, status, \
             body, variables, other_parameters, components) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             on conflict (org_id, channel_id, name, language) do nothing",
            org_id,
            channel_id,
            &template.name,
            &template.language,
            &template.category,
            &template.status,
            &template.body,
            template.variables,
            template.other_parameters,
            &template.components
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub async fn list(tx: &mut TenantTx, channel_id: Uuid) -> sqlx::Result<Vec<Template>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Template,
        r#"select name, language, category, status as "status: TemplateStatus", body, variables,
             other_parameters
           from whatsapp_templates where org_id = $1 and channel_id = $2
           order by name, language"#,
        org_id,
        channel_id
    )
    .fetch_all(tx.conn())
    .await
}

pub async fn find(
    tx: &mut TenantTx,
    channel_id: Uuid,
    name: &str,
    language: &str,
) -> sqlx::Result<Option<Template>> {
    let org_id = tx.org_id();
    sqlx::query_as!(
        Template,
        r#"select name, language, category, status as "status: TemplateStatus", body, variables,
             other_parameters
           from whatsapp_templates where org_id = $1 and channel_id = $2
           and name = $3 and language = $4"#,
        org_id,
        channel_id,
        name,
        language
    )
    .fetch_optional(tx.conn())
    .await
}
