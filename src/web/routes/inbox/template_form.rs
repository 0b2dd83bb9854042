//! Sending a template from a conversation whose 24-hour window closed: the
//! form asks for each value the template takes (header, body, buttons;
//! see [`Shape`]), "Preview" shows the header and body filled in without
//! sending (no script needed), and values that do not fit come back on the
//! same page with the reasons. An image, video or document header takes a
//! link, a media id, or a file sent with the form (multipart): the file is
//! checked by its content against WhatsApp's limits, uploaded to Graph,
//! and the template names the media id Graph gave.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::channels::cloud_api::templates::{Media, Param, Shape, Slot};
use crate::domain::MessageKind;
use crate::error::{AppError, Result};
use crate::features::inbox::{attachment, outbound};
use crate::infra::db;
use crate::infra::db::conversations::Conversation;
use crate::infra::tenancy::member::{Page, Tenant};
use crate::state::AppState;
use crate::web::form::HtmlForm;
use crate::web::path::PathId;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    name: String,
    language: String,
    /// One value per parameter of the template, in its order.
    values: Vec<String>,
}

/// One field of the form: the parameter and the value typed so far.
pub struct Field {
    pub param: Param,
    pub value: String,
}

impl Field {
    /// The file types a media header's file input offers (`None`: not a
    /// media header).
    pub fn file_types(&self) -> Option<&'static str> {
        db::templates::file_types(&self.param.slot)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/template_send.html")]
pub struct TemplateSendPage {
    page: Page,
    conversation: Conversation,
    template: db::templates::Template,
    fields: Vec<Field>,
    header: Option<String>,
    body: String,
    errors: Vec<String>,
}

impl TemplateSendPage {
    /// A media header can take a file: the form is sent as multipart.
    fn takes_file(&self) -> bool {
        self.fields.iter().any(|f| f.file_types().is_some())
    }
}

/// The form again, filled in, with the template's texts previewed.
fn page(
    page: Page,
    conversation: Conversation,
    template: db::templates::Template,
    shape: &Shape,
    values: &[String],
    errors: Vec<String>,
) -> TemplateSendPage {
    let (header, body) = shape.preview(values);
    let fields = shape
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| Field {
            param: param.clone(),
            value: values.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    TemplateSendPage {
        page,
        conversation,
        template,
        fields,
        header,
        body,
        errors,
    }
}

/// The conversation and its number's sendable template named by the form.
async fn chosen(
    tenant: &mut Tenant,
    id: uuid::Uuid,
    form: &TemplateForm,
) -> Result<(Conversation, db::templates::Template, Shape)> {
    let conversation = super::visible_conversation(tenant, id).await?;
    let unknown = || AppError::Unprocessable(outbound::TemplateRefused::Unknown.to_string());
    let template = db::templates::find(
        &mut tenant.tx,
        conversation.channel_id,
        &form.name,
        &form.language,
    )
    .await?
    .filter(db::templates::Template::can_send)
    .ok_or_else(unknown)?;
    let shape = template.shape().map_err(|_| unknown())?;
    Ok((conversation, template, shape))
}

/// Shows the template filled with the values typed, without sending.
pub async fn preview(
    mut tenant: Tenant,
    PathId(id): PathId,
    HtmlForm(form): HtmlForm<TemplateForm>,
) -> Result<Response> {
    let (conversation, template, shape) = chosen(&mut tenant, id, &form).await?;
    tenant.tx.commit().await?;
    Ok(page(
        tenant.page,
        conversation,
        template,
        &shape,
        &form.values,
        vec![],
    )
    .into_response())
}

/// A header file sent with the form (`header_file`).
struct HeaderFile {
    filename: String,
    declared: Option<String>,
    bytes: Vec<u8>,
}

/// The form, urlencoded or multipart (then with the header's file, if one
/// was chosen; its CSRF token comes in the query string).
async fn read_send_form(
    state: &AppState,
    request: Request,
) -> Result<(TemplateForm, Option<HeaderFile>)> {
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if !multipart {
        let HtmlForm(form) = HtmlForm::<TemplateForm>::from_request(request, state).await?;
        return Ok((form, None));
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::BadRequest("The upload could not be read; try again.".into()))?;
    let too_large = || {
        AppError::TooLarge(format!(
            "The file is larger than WhatsApp takes ({} MB at most).",
            attachment::MAX_BYTES / attachment::MB
        ))
    };
    let mut form = TemplateForm::default();
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| crate::web::upload::upload_error(e, &too_large))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "header_file" {
            let filename = field.file_name().unwrap_or("header").trim().to_owned();
            let declared = field.content_type().map(str::to_owned);
            let bytes =
                crate::web::upload::read_file(&mut field, attachment::MAX_BYTES, &too_large)
                    .await?;
            // A file input left empty still sends an empty part.
            if !bytes.is_empty() || !filename.is_empty() {
                file = Some(HeaderFile {
                    filename,
                    declared,
                    bytes,
                });
            }
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| crate::web::upload::upload_error(e, &too_large))?;
        match name.as_str() {
            "name" => form.name = value,
            "language" => form.language = value,
            "values" => form.values.push(value),
            _ => {}
        }
    }
    Ok((form, file))
}

/// The kind of file a media header takes.
fn header_kind(media: &Media) -> MessageKind {
    match media {
        Media::Image => MessageKind::Image,
        Media::Video => MessageKind::Video,
        Media::Document => MessageKind::Document,
    }
}

/// Checks the header file against the template's media header and
/// WhatsApp's limits: the index of the header's value and the file's type,
/// or the reason it cannot be sent.
fn check_header_file(
    shape: &Shape,
    file: &HeaderFile,
) -> std::result::Result<(usize, String), String> {
    let Some((index, param, media)) =
        shape
            .params
            .iter()
            .enumerate()
            .find_map(|(i, p)| match &p.slot {
                Slot::HeaderMedia(media) => Some((i, p, media)),
                _ => None,
            })
    else {
        return Err(
            "This template has no image, video or document header to send a file in.".into(),
        );
    };
    let size = file.bytes.len() as u64;
    let head = &file.bytes[..file.bytes.len().min(512)];
    let attached = attachment::classify(file.declared.as_deref(), head, size)
        .map_err(|reason| format!("{}: {reason}", param.label))?;
    if attached.kind != header_kind(media) {
        let wanted = match media {
            Media::Image => "a JPEG or PNG image",
            Media::Video => "an MP4 or 3GP video",
            Media::Document => "a document (PDF, text or Office)",
        };
        return Err(format!("{}: this header takes {wanted}.", param.label));
    }
    Ok((index, attached.mime_type))
}

/// Uploads the header file to Graph and puts the media id Graph gave in
/// the header's value; the reasons instead when the file does not fit the
/// header or WhatsApp's limits, when the other values would be refused
/// anyway (then nothing is uploaded), or when Graph refused the upload.
/// The upload runs outside the request's transaction (see
/// [`Tenant::outside_transaction`]): the tenant comes back with a new one.
async fn upload_header_file(
    state: &AppState,
    mut tenant: Tenant,
    conversation: &Conversation,
    template: &db::templates::Template,
    shape: &Shape,
    form: &mut TemplateForm,
    file: HeaderFile,
) -> Result<(Tenant, std::result::Result<(), Vec<String>>)> {
    let (index, mime_type) = match check_header_file(shape, &file) {
        Ok(found) => found,
        Err(reason) => return Ok((tenant, Err(vec![reason]))),
    };
    form.values
        .resize(form.values.len().max(index + 1), String::new());
    // The other values first, with a stand-in media id.
    let mut trial = form.values.clone();
    trial[index] = "0".to_owned();
    if let Err(reasons) = shape.build(&template.name, &template.language, &trial) {
        return Ok((tenant, Err(reasons)));
    }
    let channel = db::cloud_channels::find(&mut tenant.tx, conversation.channel_id)
        .await?
        .ok_or_else(|| {
            AppError::Unprocessable("Only a Cloud API number sends a header file.".into())
        })?;
    let token =
        crate::channels::cloud_api::access_token(&state.secrets, tenant.member.org_id, &channel)
            .map_err(AppError::Internal)?;
    let upload = state.graph.upload_media(
        &channel.phone_number_id,
        &token,
        (&mime_type, &file.filename),
        file.bytes,
    );
    let (tenant, uploaded) = tenant.outside_transaction(&state.pool, upload).await?;
    match uploaded {
        Ok(media_id) => {
            form.values[index] = media_id;
            Ok((tenant, Ok(())))
        }
        Err(e) => Ok((
            tenant,
            Err(vec![format!("WhatsApp did not take the header file: {e}")]),
        )),
    }
}

/// Sends an approved template with its values (the way to write to a
/// customer outside the 24-hour window); values that do not fit show the
/// form again with the reasons. A header file is uploaded to Graph only
/// once everything else fits.
pub async fn send(
    State(state): State<AppState>,
    mut tenant: Tenant,
    PathId(id): PathId,
    request: Request,
) -> Result<Response> {
    let (mut form, file) = read_send_form(&state, request).await?;
    let (conversation, template, shape) = chosen(&mut tenant, id, &form).await?;
    tenant.member.must_be_writable()?;
    let file_refused = match file {
        Some(file) => {
            let (back, uploaded) = upload_header_file(
                &state,
                tenant,
                &conversation,
                &template,
                &shape,
                &mut form,
                file,
            )
            .await?;
            tenant = back;
            uploaded.err()
        }
        None => None,
    };
    let reasons = match file_refused {
        Some(reasons) => reasons,
        None => {
            let author = Some(tenant.member.user_id);
            let queued = outbound::queue_approved_template(
                &mut tenant.tx,
                &state.secrets,
                (&conversation).into(),
                author,
                &template,
                &form.values,
            )
            .await;
            match queued {
                Ok(_) => {
                    tenant.tx.commit().await?;
                    let back = format!("/inbox/{}", conversation.id);
                    return Ok(Redirect::to(&back).into_response());
                }
                Err(outbound::TemplateRefused::Values { reasons, .. }) => reasons,
                Err(outbound::TemplateRefused::Failed(e)) => return Err(AppError::Internal(e)),
                Err(refused) => return Err(AppError::Unprocessable(refused.to_string())),
            }
        }
    };
    tenant.tx.commit().await?;
    let shown = page(
        tenant.page,
        conversation,
        template,
        &shape,
        &form.values,
        reasons,
    );
    Ok((StatusCode::UNPROCESSABLE_ENTITY, shown).into_response())
}
