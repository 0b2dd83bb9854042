//! What a sales document or an order is, and where it stands.

text_enum! {
    /// A sales document's kind (`sales_documents.kind`).
    pub enum DocumentKind {
        Quote = "quote",
        Invoice = "invoice",
    }
}

impl DocumentKind {
    /// `invoice` as typed; a quote when anything else (the pages' default).
    pub fn or_quote(typed: &str) -> DocumentKind {
        match typed.trim() {
            "invoice" => DocumentKind::Invoice,
            _ => DocumentKind::Quote,
        }
    }

    pub fn is_quote(self) -> bool {
        self == DocumentKind::Quote
    }

    pub fn is_invoice(self) -> bool {
        self == DocumentKind::Invoice
    }
}

text_enum! {
    /// Where a sales document stands (`sales_documents.state`): a draft
    /// until issued (numbered and sent); a sent quote may be accepted, a
    /// sent invoice paid; anything issued may be voided.
    pub enum DocumentState {
        Draft = "draft",
        Sent = "sent",
        /// Quotes only.
        Accepted = "accepted",
        /// Invoices only.
        Paid = "paid",
        Void = "void",
    }
}

impl DocumentState {
    pub fn is_draft(self) -> bool {
        self == DocumentState::Draft
    }

    pub fn is_sent(self) -> bool {
        self == DocumentState::Sent
    }

    pub fn is_void(self) -> bool {
        self == DocumentState::Void
    }
}

text_enum! {
    /// Where an order stands (`orders.status`); each change is told to the
    /// customer.
    pub enum OrderStatus {
        New = "new",
        Confirmed = "confirmed",
        Fulfilled = "fulfilled",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// What an order was made of (`orders.source`).
    pub enum OrderSource {
        /// A customer's catalogue cart.
        Whatsapp = "whatsapp",
        /// An accepted quote.
        Quote = "quote",
        Manual = "manual",
    }
}

impl OrderSource {
    pub fn is_whatsapp(self) -> bool {
        self == OrderSource::Whatsapp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(DocumentKind, DocumentState, OrderStatus, OrderSource);

    #[test]
    fn anything_but_invoice_is_a_quote() {
        assert_eq!(DocumentKind::or_quote(" invoice "), DocumentKind::Invoice);
        assert_eq!(DocumentKind::or_quote("order"), DocumentKind::Quote);
    }
}
