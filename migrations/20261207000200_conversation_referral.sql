-- Where a conversation came from, as the customer's WhatsApp message said:
-- the click-to-WhatsApp ad (Cloud API `referral`) and the catalogue product
-- they asked about (`context.referred_product`), as
-- {"ad": {headline, body, source_url, ...}, "product": {catalog_id,
-- product_retailer_id}}. Each part is the first one the conversation got;
-- later messages do not replace it. The values are the sender's: capped
-- when stored, escaped when shown, and a URL is a link only when http(s).
-- A column of the conversation, so its row-level security, export and
-- erasure are the conversation's.

alter table conversations add column referral jsonb
    check (jsonb_typeof(referral) = 'object');
