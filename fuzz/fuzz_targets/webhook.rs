//! Any body Meta (or anyone) POSTs to the webhook, after its signature
//! checked out: the parser answers with a delivery or a refusal, never a
//! panic, and what it accepts holds what the ingest relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(delivery) = wacrm::whatsapp::webhook::parse(body) {
        for batch in &delivery.batches {
            for message in &batch.messages {
                assert!(!message.id.is_empty() && !message.wa_id.is_empty());
            }
        }
    }
});
