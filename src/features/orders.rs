//! Orders: made of a customer's catalogue cart when one arrives (a job per
//! cart message; one order per message however often the job runs), with
//! each item matched to the catalogue by SKU; and status changes, which
//! tell the customer in their conversation: a text while WhatsApp's
//! 24-hour window is open, the workspace's order template when it is
//! closed, and a private note for the members when neither can go.

use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use crate::domain::{OrderSource, OrderStatus, cart};
use crate::features::environment::Environment;
use crate::features::inbox::outbound;
use crate::infra::db;
use crate::infra::db::conversations::Visibility;
use crate::infra::db::orders::{NewOrder, Order, OrderLine};
use crate::infra::secrets::SecretBox;
use crate::infra::tenancy::{TenantTx, bootstrap};

/// The job: the order of a cart message (nothing when it exists already,
/// or the cart cannot be read: the message says why in the conversation).
pub async fn take(env: &Environment, org_id: Uuid, message_id: Uuid) -> anyhow::Result<()> {
    let mut tx = bootstrap::for_job(&env.pool, org_id).await?;
    if db::orders::id_of_message(&mut tx, message_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let raw: Option<Option<serde_json::Value>> = sqlx::query_scalar!(
        "select raw from messages where org_id = $1 and id = $2",
        org_id,
        message_id
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(message) = db::messages::find(&mut tx, message_id).await? else {
        return Ok(());
    };
    let Some(conversation) = db::conversations::find(
        &mut tx,
        message.conversation_id,
        Uuid::nil(),
        Visibility::All,
    )
    .await?
    else {
        return Ok(());
    };
    let cart = match raw.flatten().as_ref().map(cart::parse) {
        Some(Ok(cart)) => cart,
        Some(Err(why)) => {
            outbound::add_integration_note(
                &mut tx,
                &conversation,
                &format!("The customer's order could not be read ({why}): no order was made."),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        None => return Ok(()),
    };
    let mut lines = Vec::with_capacity(cart.items.len());
    for item in &cart.items {
        let product = db::products::find_by_sku(&mut tx, &item.retailer_id).await?;
        let description = match &product {
            Some(p) => p.name.clone(),
            None => format!("{} (not in the catalogue)", item.retailer_id),
        };
        lines.push(OrderLine {
            product_id: product.map(|p| p.id),
            sku: Some(item.retailer_id.clone()),
            description,
            quantity: item.quantity,
            unit_price: item
                .item_price
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
            line_total: (item.quantity * item.item_price)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        });
    }
    let order = NewOrder {
        source: OrderSource::Whatsapp,
        contact_id: Some(conversation.contact_id),
        conversation_id: Some(conversation.id),
        message_id: Some(message_id),
        currency: cart.items[0].currency.clone(),
        note: Some(cart.note.chars().take(2000).collect::<String>()).filter(|n| !n.is_empty()),
        lines,
    };
    if let Some((_, number)) = db::orders::insert(&mut tx, &order).await? {
        let total: Decimal = order.lines.iter().map(|l| l.line_total).sum();
        outbound::add_integration_note(
            &mut tx,
            &conversation,
            &format!(
                "Order #{number} made of the customer's cart: {}.",
                crate::domain::money::shown(total, &order.currency)
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What the customer reads when their order moves to `status`.
fn status_text(number: i64, status: &str) -> String {
    match status {
        "confirmed" => format!("Your order #{number} is confirmed. Thank you!"),
        "fulfilled" => format!("Your order #{number} is on its way (fulfilled)."),
        "cancelled" => {
            format!("Your order #{number} was cancelled. Reply here if you have questions.")
        }
        _ => format!("Your order #{number} is {status}."),
    }
}

/// How the customer was told of a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    Text,
    Template,
    /// Not told: why (also left as a note in the conversation).
    Not(String),
}

/// Moves the order to `status` and tells the customer; `None` when the
/// order had that status already (nothing is sent twice).
pub async fn change_status(
    tx: &mut TenantTx,
    secrets: &SecretBox,
    order: &Order,
    status: OrderStatus,
    member: Uuid,
) -> anyhow::Result<Option<Told>> {
    let Some(before) = db::orders::set_status(tx, order.id, status).await? else {
        return Ok(None);
    };
    if before == status {
        return Ok(None);
    }
    let Some(conversation_id) = order.conversation_id else {
        return Ok(Some(Told::Not("the order has no conversation".to_owned())));
    };
    let Some(conversation) =
        db::conversations::find(tx, conversation_id, Uuid::nil(), Visibility::All).await?
    else {
        return Ok(Some(Told::Not("its conversation is gone".to_owned())));
    };
    if !outbound::window_closed(tx, &conversation).await? {
        outbound::queue_reply(
            tx,
            secrets,
            &conversation,
            member,
            &status_text(order.number, status.as_str()),
        )
        .await?;
        return Ok(Some(Told::Text));
    }
    let why = match db::orders::template(tx).await? {
        None => "the 24-hour window is closed and no order template is set (Settings → Orders)"
            .to_owned(),
        Some((name, language)) => {
            let values = [format!("#{}", order.number), status.to_string()];
            match outbound::queue_template(
                tx,
                secrets,
                &conversation,
                Some(member),
                (&name, &language),
                &values,
            )
            .await
            {
                Ok(_) => return Ok(Some(Told::Template)),
                Err(outbound::TemplateRefused::Failed(e)) => return Err(e),
                Err(refused) => format!("the order template cannot be sent: {refused}"),
            }
        }
    };
    outbound::add_note(
        tx,
        &conversation,
        member,
        &format!(
            "Order #{} is now {status}; the customer was not told: {why}.",
            order.number
        ),
    )
    .await?;
    Ok(Some(Told::Not(why)))
}

/// A customer's catalogue cart: the order made of it (once) (`kind: take_order`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TakeOrder {
    pub org_id: Uuid,
    pub message_id: Uuid,
}

impl crate::infra::jobs::BackgroundJob for TakeOrder {
    const KIND: &'static str = "take_order";
    const QUEUE: &'static str = "orders";
    type Context = Environment;

    async fn run(&self, env: &Environment, _attempt: i32) -> anyhow::Result<()> {
        take(env, self.org_id, self.message_id).await
    }
}
