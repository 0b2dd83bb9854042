//! What kind of channel carries a conversation.

text_enum! {
    /// How a channel delivers and sends (`channels.kind`); everything else
    /// is shared.
    pub enum ChannelKind {
        /// Built in: a simulator page plays the customer.
        Sandbox = "sandbox",
        WhatsappCloud = "whatsapp_cloud",
        WhatsappWeb = "whatsapp_web",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(ChannelKind);
}
