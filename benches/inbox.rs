//! Inbox benchmark: how the cost of the inbox, contact search and message
//! search grows with data. For each size it prints
//!
//! - seeding: 100 workspaces (one large, 99 small) loaded with `COPY` into
//!   the app's own schema, indexes in place: rows and seconds per table,
//!   then `VACUUM (ANALYZE)`, and the size of each table and its indexes;
//! - HTTP latency at 8 concurrent keep-alive clients signed in as a member of
//!   the large workspace: requests, req/s, p50/p95/p99/max for the inbox list
//!   (first page, and the page reached by following 40 "older" links),
//!   opening a conversation with many messages (picked in the list, where
//!   htmx loads only the panes beside it, and by link, the whole page),
//!   contact search and message
//!   search (or "not built yet" while `/search` answers 404), beside their
//!   targets (list and view p99 < 15 ms, search p95 < 100 ms); also the
//!   median with a single client, and the processor time per request spent
//!   in wacrm, in PostgreSQL and in the load generator;
//!
//! and, when both sizes ran, a table comparing them.
//!
//! Sizes: `full` (large workspace 100,000 contacts, 200,000 conversations,
//! 2,000,000 messages; the others 200 / 300 / 3,000) and `tenth` (a tenth of
//! each). `WACRM_BENCH_SCALE=tenth|full|both` (default both);
//! `WACRM_BENCH_KEEP=1` keeps the data directories for inspection.
//!
//! `cargo bench --bench inbox` (release build of the real binary, its own
//! private PostgreSQL under a temporary data dir, loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use common::{
    KeepAlive, Rng, free_port, load_average, ms, percentile_ms, sign_up, spawn, stop, thousands,
    wait_ready,
};

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use time::OffsetDateTime;
use uuid::Uuid;

const CLIENTS: usize = 8;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(5);
/// The single-client measurement after each scenario.
const ALONE: Duration = Duration::from_secs(2);
const WORKSPACES: usize = 100;
/// The deep list page is reached by following this many "older" links.
const DEEP_PAGES: usize = 40;
/// Conversations opened at random in the "open a conversation" scenario.
const OPENED: usize = 200;
/// "Many messages": more than one page of the conversation pane.
const MANY_MESSAGES: u32 = 100;
const OWNER_EMAIL: &str = "owner@bench.example";
/// The database the app creates in its private cluster (`src/infra/db/mod.rs`).
const DATABASE: &str = "wacrm";
/// History the seeded conversations span.
const SPAN_DAYS: i64 = 730;
const DAY_US: i64 = 86_400_000_000;
const SECOND_US: i64 = 1_000_000;
/// Bytes handed to `COPY` at a time.
const CHUNK: usize = 1 << 20;

const CONTACT_SEARCHES: [&str; 6] = ["mart", "silva", "ana", "schröder", "+55 11 9", "4821"];
const MESSAGE_SEARCHES: [&str; 5] = ["pedido", "invoice", "lieferung", "garantia", "ongkir"];

#[derive(Debug, Clone, Copy)]
struct Scale {
    label: &'static str,
    contacts: usize,
    conversations: usize,
    messages: usize,
    small_contacts: usize,
    small_conversations: usize,
    small_messages: usize,
}

const FULL: Scale = Scale {
    label: "full",
    contacts: 100_000,
    conversations: 200_000,
    messages: 2_000_000,
    small_contacts: 200,
    small_conversations: 300,
    small_messages: 3_000,
};

const TENTH: Scale = Scale {
    label: "tenth",
    contacts: 10_000,
    conversations: 20_000,
    messages: 200_000,
    small_contacts: 20,
    small_conversations: 30,
    small_messages: 300,
};

// ---------------------------------------------------------------------------
// What this benchmark draws from `common::Rng`.

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A UUIDv7 for this moment, as the app makes them (`Uuid::now_v7`).
    fn uuid_v7(&mut self, at_us: i64) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis((at_us / 1000) as u64, &bytes).into_uuid()
    }

    fn uuid_v4(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

fn mix(a: u64, b: u64) -> u64 {
    Rng::new(a ^ b.wrapping_mul(0xff51_afd7_ed55_8ccd)).next()
}

// ---------------------------------------------------------------------------
// Vocabulary: names and message words of five languages, most frequent first.

struct Language {
    weight: f64,
    /// (prefix, weight): phones are the prefix and 7 unique digits.
    phones: &'static [(&'static str, f64)],
    /// Space-separated lists.
    first: &'static str,
    last: &'static str,
    words: &'static str,
}

const LANGUAGES: [Language; 5] = [
    Language {
        weight: 0.30,
        phones: &[
            ("+55119", 0.25),
            ("+55219", 0.15),
            ("+55319", 0.1),
            ("+55419", 0.1),
            ("+55519", 0.1),
            ("+55619", 0.1),
            ("+55719", 0.1),
            ("+35191", 0.1),
        ],
        first: "João Maria Ana Pedro Lucas Juliana Gabriel Mariana Rafael Camila Bruno Fernanda \
            Thiago Beatriz Felipe Larissa Gustavo Letícia Rodrigo Adriana",
        last: "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa \
            Ribeiro Martins Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa",
        words: "de que o a e do da em um para meu é pedido não com uma os no se na olá oi \
            obrigado obrigada bom dia boa tarde sim quero quando quanto custa preço frete \
            entrega endereço pagamento boleto pix nota fiscal amanhã hoje tamanho cor \
            disponível loja horário ajuda problema produto troca devolução desconto cupom \
            cartão dinheiro semana foto link conta confirmar cancelar agendamento reserva \
            mesa dúvida garantia preto branco modelo comprovante desculpa perfeito \
            aguardando rastreio código chegou ainda favor parcelas",
    },
    Language {
        weight: 0.25,
        phones: &[("+3461", 0.5), ("+52551", 0.3), ("+52331", 0.2)],
        first: "María José Juan Ana Luis Carmen Carlos Laura Javier Lucía Miguel Sofía Pablo \
            Elena Diego Marta Alejandro Paula Fernando Valentina Mariana Susana",
        last: "García Martínez López Sánchez Pérez González Rodríguez Fernández Gómez Martín \
            Jiménez Ruiz Hernández Díaz Moreno Álvarez Romero Navarro Torres Ramírez",
        words: "de que la el en y a los por mi es no pedido para con un una me se lo hola \
            gracias buenos días tardes si quiero cuando cuánto cuesta precio envío entrega \
            dirección pago factura mañana hoy talla color disponible tienda horario ayuda \
            problema producto devolución cambio descuento código tarjeta efectivo \
            transferencia semana foto enlace cuenta confirmar cancelar cita reserva mesa \
            pregunta garantía negro blanco modelo recibo perdón perfecto esperando paquete \
            seguimiento número recibí llegó todavía favor",
    },
    Language {
        weight: 0.20,
        phones: &[
            ("+1212", 0.2),
            ("+1415", 0.2),
            ("+1305", 0.2),
            ("+1713", 0.1),
            ("+44770", 0.3),
        ],
        first: "James Mary John Patricia Robert Jennifer Michael Linda David Sarah Emily Daniel \
            Jessica Chris Ashley Matthew Olivia Ryan Hannah Tyler",
        last: "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas \
            Martin Moore Clark Lewis Walker Hall Young King Wright",
        words: "the i to you a and is it my for of please can order this on have with we be \
            thanks hi what when will not your are do how delivery today yes no ok price \
            payment address invoice tomorrow refund size available stock shipping tracking \
            number received package store open hours help problem wrong item return exchange \
            discount code card cash transfer week morning afternoon send photo link account \
            confirm cancel appointment booking table menu question support warranty color \
            black white model receipt sorry great perfect waiting",
    },
    Language {
        weight: 0.15,
        phones: &[("+62812", 0.4), ("+62813", 0.3), ("+62857", 0.3)],
        first: "Budi Siti Agus Dewi Andi Rina Ahmad Putri Rizky Ayu Dimas Sri Fajar Nur Yusuf \
            Indah Hendra Wulan Bayu Fitri",
        last: "Santoso Wijaya Saputra Hidayat Pratama Kusuma Setiawan Nugroho Lestari Susanto \
            Gunawan Halim Siregar Harahap Nasution Sihombing Purnomo Rahman Hakim Utami",
        words: "saya yang di dan ini itu ada tidak untuk mau kak ya sudah belum bisa pesanan \
            dengan apa berapa harga terima kasih halo selamat pagi siang sore malam kapan \
            kirim pengiriman alamat pembayaran transfer bukti besok hari ukuran warna \
            invoice ready stok toko jam buka bantuan masalah produk retur tukar diskon kode \
            promo kartu tunai minggu foto link akun konfirmasi batal janji booking meja \
            tanya garansi hitam putih model struk maaf mantap ditunggu paket resi nomor \
            sampai masih tolong ongkir",
    },
    Language {
        weight: 0.10,
        phones: &[("+49151", 0.4), ("+49160", 0.3), ("+49176", 0.3)],
        first: "Lukas Anna Leon Lena Paul Laura Jonas Lea Felix Sophie Maximilian Julia Tim \
            Sarah Jan Katharina Niklas Lisa Moritz Hannah",
        last: "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann \
            Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann",
        words: "ich die der und das ist nicht zu ein sie es mit den bitte meine bestellung für \
            auf haben wir danke hallo guten morgen tag ja nein wann wie viel kostet preis \
            versand lieferung adresse zahlung rechnung heute größe farbe verfügbar laden \
            öffnungszeiten hilfe problem artikel rücksendung umtausch rabatt gutschein karte \
            überweisung woche foto konto bestätigen stornieren termin reservierung tisch \
            frage garantie schwarz weiß modell quittung entschuldigung perfekt warte paket \
            sendungsnummer angekommen noch immer schon gestern kunde erhalten",
    },
];

const EMAIL_DOMAINS: [&str; 6] = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "web.de",
    "uol.com.br",
];
const EMOJI: [&str; 5] = ["👍", "🙏", "😊", "🙂", "❤️"];

/// The languages' lists, split; words are chosen Zipf-like (the word of
/// rank r has weight 1/(r+1)).
struct Vocabulary {
    first: Vec<Vec<&'static str>>,
    last: Vec<Vec<&'static str>>,
    words: Vec<Vec<&'static str>>,
    cumulative: Vec<Vec<f64>>,
}

impl Vocabulary {
    fn new() -> Vocabulary {
        let split = |pick: fn(&Language) -> &'static str| -> Vec<Vec<&'static str>> {
            LANGUAGES
                .iter()
                .map(|l| pick(l).split_whitespace().collect())
                .collect()
        };
        let words = split(|l| l.words);
        let cumulative = words
            .iter()
            .map(|w| {
                let mut total = 0.0;
                let mut c: Vec<f64> = (0..w.len())
                    .map(|r| {
                        total += 1.0 / (r as f64 + 1.0);
                        total
                    })
                    .collect();
                for x in &mut c {
                    *x /= total;
                }
                c
            })
            .collect();
        Vocabulary {
            first: split(|l| l.first),
            last: split(|l| l.last),
            words,
            cumulative,
        }
    }

    fn word(&self, rng: &mut Rng, lang: usize) -> &'static str {
        let u = rng.unit();
        let c = &self.cumulative[lang];
        let i = c.partition_point(|&x| x < u).min(c.len() - 1);
        self.words[lang][i]
    }

    fn sentence(&self, rng: &mut Rng, lang: usize) -> String {
        let words = if rng.chance(0.15) {
            rng.range(10, 40)
        } else {
            rng.range(2, 8)
        };
        let mut text = String::new();
        for i in 0..words {
            let word = self.word(rng, lang);
            if i == 0 {
                let mut chars = word.chars();
                if let Some(c) = chars.next() {
                    text.extend(c.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        if rng.chance(0.08) {
            text.push_str(&format!(" #{}", rng.range(10_000, 99_999)));
        }
        let end = *rng.pick(&[".", "?", "", "!", "."]);
        text.push_str(end);
        if rng.chance(0.05) {
            text.push(' ');
            let emoji = *rng.pick(&EMOJI);
            text.push_str(emoji);
        }
        text
    }
}

fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut u = rng.unit() * total;
    for (item, w) in items {
        if u < *w {
            return *item;
        }
        u -= w;
    }
    items[items.len() - 1].0
}

// ---------------------------------------------------------------------------
// The data plan: every row's content, decided before any row is written.

struct Org {
    id: Uuid,
    channel: Uuid,
    owner: Uuid,
    /// The owner first, then agents.
    members: Vec<Uuid>,
}

struct Contact {
    org: u32,
    id: Uuid,
    name: String,
    phone: String,
    email: Option<String>,
    created_us: i64,
}

struct Conversation {
    org: u32,
    id: Uuid,
    contact: Uuid,
    lang: u8,
    status: &'static str,
    snoozed_until_us: Option<i64>,
    assignee: Option<Uuid>,
    priority: &'static str,
    created_us: i64,
    last_us: i64,
    last_inbound_us: Option<i64>,
    preview: String,
    inbound: u32,
    messages: u32,
    /// The owner's `conversation_reads.read_count`, if they opened it.
    owner_read: Option<u32>,
    /// Its messages' content derives from this (the order it was planned
    /// in), so the same run makes the same text.
    key: u64,
}

#[derive(Clone, Copy)]
struct MessageRef {
    at_us: i64,
    conversation: u32,
    seq: u32,
}

struct Plan {
    orgs: Vec<Org>,
    /// Insertion order: by creation time, all workspaces interleaved.
    contacts: Vec<Contact>,
    conversations: Vec<Conversation>,
    messages: Vec<MessageRef>,
    vocabulary: Vocabulary,
}

/// One message's content, derived from its conversation and position only,
/// so the plan (preview, counts) and the `COPY` agree.
struct Message {
    id: Uuid,
    inbound: bool,
    kind: &'static str,
    body: String,
    media: Option<String>,
    sender_kind: &'static str,
    sender: Option<Uuid>,
    private: bool,
    provider_id: Option<String>,
    status: &'static str,
    error: Option<&'static str>,
}

fn message_rng(key: u64, seq: u32) -> Rng {
    Rng::new(mix(key, u64::from(seq)))
}

fn is_inbound(key: u64, seq: u32) -> bool {
    let mut rng = message_rng(key, seq);
    let draw = rng.chance(0.5);
    seq == 0 || draw
}

fn message(
    vocabulary: &Vocabulary,
    conversation: &Conversation,
    members: &[Uuid],
    seq: u32,
    at_us: i64,
) -> Message {
    let inbound = is_inbound(conversation.key, seq);
    let mut rng = message_rng(conversation.key, seq);
    rng.next();
    let id = rng.uuid_v7(at_us);
    let lang = usize::from(conversation.lang);
    if inbound {
        let r = rng.unit();
        let (kind, body, media) = if r < 0.92 {
            ("text", vocabulary.sentence(&mut rng, lang), None)
        } else if r < 0.97 {
            let caption = if rng.chance(0.4) {
                vocabulary.sentence(&mut rng, lang)
            } else {
                String::new()
            };
            let media =
                format!(r#"{{"url":"https://media.example/{id}.jpg","mime_type":"image/jpeg"}}"#);
            ("image", caption, Some(media))
        } else if r < 0.99 {
            let media =
                format!(r#"{{"url":"https://media.example/{id}.ogg","mime_type":"audio/ogg"}}"#);
            ("audio", String::new(), Some(media))
        } else {
            let media = format!(
                r#"{{"url":"https://media.example/{id}.pdf","mime_type":"application/pdf","filename":"scan.pdf"}}"#
            );
            ("document", String::new(), Some(media))
        };
        return Message {
            id,
            inbound,
            kind,
            body,
            media,
            sender_kind: "contact",
            sender: None,
            private: false,
            provider_id: Some(format!("sandbox-in.{id}")),
            status: "received",
            error: None,
        };
    }
    let member = *rng.pick(members);
    let body = vocabulary.sentence(&mut rng, lang);
    if rng.chance(0.05) {
        return Message {
            id,
            inbound,
            kind: "note",
            body,
            media: None,
            sender_kind: "member",
            sender: Some(member),
            private: true,
            provider_id: None,
            status: "received",
            error: None,
        };
    }
    let bot = rng.chance(0.15);
    let status = weighted(
        &mut rng,
        &[
            ("read", 0.60),
            ("delivered", 0.28),
            ("sent", 0.09),
            ("failed", 0.03),
        ],
    );
    Message {
        id,
        inbound,
        kind: "text",
        body,
        media: None,
        sender_kind: if bot { "bot" } else { "member" },
        sender: (!bot).then_some(member),
        private: false,
        provider_id: (status != "failed").then(|| format!("sandbox.{id}")),
        status,
        error: (status == "failed").then_some("Recipient is not reachable on WhatsApp."),
    }
}

/// The list's one-line summary, as `wacrm::features::inbox::ingest::preview` makes it.
fn preview(message: &Message) -> String {
    let body = message.body.trim();
    let text = match message.kind {
        "text" | "note" | "template" => body.to_owned(),
        kind if !body.is_empty() => format!("[{kind}] {body}"),
        kind => format!("[{kind}]"),
    };
    text.chars().take(140).collect()
}

struct OrgSize {
    contacts: usize,
    conversations: usize,
    messages: usize,
}

/// How many messages each conversation has: most a handful, 2% a few
/// hundred; exactly `total` in all.
fn message_counts(rng: &mut Rng, conversations: usize, total: usize) -> Vec<u32> {
    let mut counts: Vec<u32> = (0..conversations)
        .map(|_| {
            if rng.chance(0.02) {
                rng.range(150, 450) as u32
            } else {
                rng.range(1, 7) as u32
            }
        })
        .collect();
    let mut sum: usize = counts.iter().map(|&c| c as usize).sum();
    while sum < total {
        let i = rng.below(conversations);
        counts[i] += 1;
        sum += 1;
    }
    while sum > total {
        let i = rng.below(conversations);
        if counts[i] > 1 {
            counts[i] -= 1;
            sum -= 1;
        }
    }
    counts
}

#[allow(clippy::too_many_arguments)]
fn plan_org(
    rng: &mut Rng,
    vocabulary: &Vocabulary,
    org_index: u32,
    org: &Org,
    size: &OrgSize,
    phone_serial: &mut u64,
    now_us: i64,
    contacts: &mut Vec<Contact>,
    conversations: &mut Vec<Conversation>,
    messages: &mut Vec<MessageRef>,
) {
    let mut per_contact = vec![1usize; size.contacts];
    for _ in size.contacts..size.conversations {
        per_contact[rng.below(size.contacts)] += 1;
    }
    let counts = message_counts(rng, size.conversations, size.messages);
    let mut next_count = counts.into_iter();
    let language_weights: Vec<(usize, f64)> = LANGUAGES
        .iter()
        .enumerate()
        .map(|(i, l)| (i, l.weight))
        .collect();
    for conversations_of_contact in per_contact {
        let lang = weighted(rng, &language_weights);
        let language = &LANGUAGES[lang];
        let first = *rng.pick(&vocabulary.first[lang]);
        let last = *rng.pick(&vocabulary.last[lang]);
        let name = match rng.unit() {
            r if r < 0.08 => String::new(),
            r if r < 0.28 => first.to_owned(),
            _ => format!("{first} {last}"),
        };
        // 7 digits unique across the whole run (a bijection of the serial).
        let tail = (*phone_serial * 7_368_787 + 1_234_567) % 10_000_000;
        *phone_serial += 1;
        let prefix = weighted(rng, language.phones);
        let phone = format!("{prefix}{tail:07}");
        let email = rng.chance(0.3).then(|| {
            let ascii = |s: &str| -> String {
                s.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_lowercase()
            };
            format!(
                "{}.{}{}@{}",
                ascii(first),
                ascii(last),
                tail,
                rng.pick(&EMAIL_DOMAINS)
            )
        });
        let mut starts: Vec<i64> = (0..conversations_of_contact)
            .map(|_| now_us - (SPAN_DAYS as f64 * DAY_US as f64 * rng.unit().powf(1.7)) as i64)
            .collect();
        starts.sort_unstable();
        let contact_id_at = starts[0] - rng.range(0, DAY_US);
        let contact_id = rng.uuid_v7(contact_id_at);
        contacts.push(Contact {
            org: org_index,
            id: contact_id,
            name,
            phone,
            email,
            created_us: contact_id_at,
        });
        for (j, &start) in starts.iter().enumerate() {
            let latest = j + 1 == starts.len();
            let limit = if latest {
                now_us - 60 * SECOND_US
            } else {
                starts[j + 1] - SECOND_US
            };
            let n = next_count.next().unwrap();
            // Message times: gaps of seconds to minutes, sometimes hours or days.
            let mut offsets = Vec::with_capacity(n as usize);
            let mut t = 0i64;
            for _ in 0..n {
                offsets.push(t);
                t += if rng.chance(0.1) {
                    rng.range(3_600, 2 * 86_400)
                } else {
                    rng.range(5, 1_800)
                } * SECOND_US;
            }
            let room = (limit - start).max(i64::from(n));
            let longest = *offsets.last().unwrap();
            if longest > room {
                for o in &mut offsets {
                    *o = (*o as f64 * room as f64 / longest as f64) as i64;
                }
            }
            let id = rng.uuid_v7(start);
            let index = conversations.len() as u32;
            let key = u64::from(index) | (u64::from(org_index) << 32);
            let mut inbound = 0;
            let mut last_inbound_us = None;
            let mut last_us = start;
            for (seq, offset) in offsets.iter().enumerate() {
                // Strictly increasing, even where scaling squeezed them together.
                let at_us = start + offset + seq as i64;
                messages.push(MessageRef {
                    at_us,
                    conversation: index,
                    seq: seq as u32,
                });
                if is_inbound(key, seq as u32) {
                    inbound += 1;
                    last_inbound_us = Some(at_us);
                }
                last_us = at_us;
            }
            let mut status = if latest {
                weighted(
                    rng,
                    &[
                        ("open", 0.30),
                        ("pending", 0.10),
                        ("snoozed", 0.05),
                        ("resolved", 0.55),
                    ],
                )
            } else {
                "resolved"
            };
            if status != "resolved" && last_us < now_us - 30 * DAY_US && rng.chance(0.9) {
                status = "resolved";
            }
            let owner_read = if status == "resolved" {
                rng.chance(0.9).then_some(inbound)
            } else {
                rng.chance(0.6)
                    .then(|| inbound - rng.range(0, i64::from(inbound.min(3))) as u32)
            };
            let mut conversation = Conversation {
                org: org_index,
                id,
                contact: contact_id,
                lang: lang as u8,
                status,
                snoozed_until_us: (status == "snoozed").then(|| now_us + rng.range(1, 14) * DAY_US),
                assignee: rng.chance(0.65).then(|| *rng.pick(&org.members)),
                priority: weighted(
                    rng,
                    &[
                        ("none", 0.80),
                        ("low", 0.05),
                        ("medium", 0.08),
                        ("high", 0.05),
                        ("urgent", 0.02),
                    ],
                ),
                created_us: start,
                last_us,
                last_inbound_us,
                preview: String::new(),
                inbound,
                messages: n,
                owner_read,
                key,
            };
            let last = message(vocabulary, &conversation, &org.members, n - 1, last_us);
            conversation.preview = preview(&last);
            conversations.push(conversation);
        }
    }
}

fn plan(scale: &Scale, orgs: Vec<Org>, now_us: i64) -> Plan {
    let vocabulary = Vocabulary::new();
    let mut rng = Rng::new(0x5eed_1b0c);
    let (mut contacts, mut conversations, mut messages) = (vec![], vec![], vec![]);
    let mut phone_serial = 0;
    for (i, org) in orgs.iter().enumerate() {
        let size = if i == 0 {
            OrgSize {
                contacts: scale.contacts,
                conversations: scale.conversations,
                messages: scale.messages,
            }
        } else {
            OrgSize {
                contacts: scale.small_contacts,
                conversations: scale.small_conversations,
                messages: scale.small_messages,
            }
        };
        plan_org(
            &mut rng,
            &vocabulary,
            i as u32,
            org,
            &size,
            &mut phone_serial,
            now_us,
            &mut contacts,
            &mut conversations,
            &mut messages,
        );
    }
    // Rows go in as a live system would have written them: oldest first,
    // every workspace interleaved.
    contacts.sort_by_key(|c| c.created_us);
    let mut order: Vec<u32> = (0..conversations.len() as u32).collect();
    order.sort_by_key(|&i| conversations[i as usize].created_us);
    let mut new_index = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old as usize] = new as u32;
    }
    let mut slots: Vec<Option<Conversation>> = conversations.into_iter().map(Some).collect();
    let conversations: Vec<Conversation> = order
        .iter()
        .map(|&old| slots[old as usize].take().unwrap())
        .collect();
    for m in &mut messages {
        m.conversation = new_index[m.conversation as usize];
    }
    messages.sort_unstable_by_key(|m| (m.at_us, m.conversation));
    Plan {
        orgs,
        contacts,
        conversations,
        messages,
        vocabulary,
    }
}

// ---------------------------------------------------------------------------
// COPY text format.

fn text(buf: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

fn opt_text(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => text(buf, s),
        None => buf.extend_from_slice(b"\\N"),
    }
}

fn uuid(buf: &mut Vec<u8>, id: Uuid) {
    let mut tmp = Uuid::encode_buffer();
    buf.extend_from_slice(id.hyphenated().encode_lower(&mut tmp).as_bytes());
}

fn opt_uuid(buf: &mut Vec<u8>, id: Option<Uuid>) {
    match id {
        Some(id) => uuid(buf, id),
        None => buf.extend_from_slice(b"\\N"),
    }
}

fn timestamp(buf: &mut Vec<u8>, us: i64) {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).unwrap();
    write!(
        buf,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
    .unwrap();
}

fn opt_timestamp(buf: &mut Vec<u8>, us: Option<i64>) {
    match us {
        Some(us) => timestamp(buf, us),
        None => buf.extend_from_slice(b"\\N"),
    }
}

fn tab(buf: &mut Vec<u8>) {
    buf.push(b'\t');
}

fn contact_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    for c in &plan.contacts {
        uuid(&mut buf, plan.orgs[c.org as usize].id);
        tab(&mut buf);
        uuid(&mut buf, c.id);
        tab(&mut buf);
        text(&mut buf, &c.name);
        tab(&mut buf);
        text(&mut buf, &c.phone);
        tab(&mut buf);
        opt_text(&mut buf, c.email.as_deref());
        tab(&mut buf);
        timestamp(&mut buf, c.created_us);
        tab(&mut buf);
        timestamp(&mut buf, c.created_us);
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            out(&mut buf);
        }
    }
    out(&mut buf);
}

fn conversation_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    for c in &plan.conversations {
        let org = &plan.orgs[c.org as usize];
        uuid(&mut buf, org.id);
        tab(&mut buf);
        uuid(&mut buf, c.id);
        tab(&mut buf);
        uuid(&mut buf, org.channel);
        tab(&mut buf);
        uuid(&mut buf, c.contact);
        tab(&mut buf);
        text(&mut buf, c.status);
        tab(&mut buf);
        opt_timestamp(&mut buf, c.snoozed_until_us);
        tab(&mut buf);
        opt_uuid(&mut buf, c.assignee);
        tab(&mut buf);
        text(&mut buf, c.priority);
        tab(&mut buf);
        timestamp(&mut buf, c.last_us);
        tab(&mut buf);
        opt_timestamp(&mut buf, c.last_inbound_us);
        tab(&mut buf);
        text(&mut buf, &c.preview);
        tab(&mut buf);
        write!(buf, "{}", c.inbound).unwrap();
        tab(&mut buf);
        timestamp(&mut buf, c.created_us);
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            out(&mut buf);
        }
    }
    out(&mut buf);
}

fn read_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    for c in &plan.conversations {
        let Some(read) = c.owner_read else { continue };
        let org = &plan.orgs[c.org as usize];
        uuid(&mut buf, org.id);
        tab(&mut buf);
        uuid(&mut buf, c.id);
        tab(&mut buf);
        uuid(&mut buf, org.owner);
        tab(&mut buf);
        write!(buf, "{read}").unwrap();
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            out(&mut buf);
        }
    }
    out(&mut buf);
}

fn message_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    for r in &plan.messages {
        let c = &plan.conversations[r.conversation as usize];
        let org = &plan.orgs[c.org as usize];
        let m = message(&plan.vocabulary, c, &org.members, r.seq, r.at_us);
        uuid(&mut buf, org.id);
        tab(&mut buf);
        uuid(&mut buf, m.id);
        tab(&mut buf);
        uuid(&mut buf, c.id);
        tab(&mut buf);
        uuid(&mut buf, org.channel);
        tab(&mut buf);
        text(&mut buf, if m.inbound { "in" } else { "out" });
        tab(&mut buf);
        text(&mut buf, m.kind);
        tab(&mut buf);
        text(&mut buf, &m.body);
        tab(&mut buf);
        opt_text(&mut buf, m.media.as_deref());
        tab(&mut buf);
        text(&mut buf, m.sender_kind);
        tab(&mut buf);
        opt_uuid(&mut buf, m.sender);
        tab(&mut buf);
        text(&mut buf, if m.private { "t" } else { "f" });
        tab(&mut buf);
        opt_text(&mut buf, m.provider_id.as_deref());
        tab(&mut buf);
        text(&mut buf, m.status);
        tab(&mut buf);
        opt_text(&mut buf, m.error);
        tab(&mut buf);
        timestamp(&mut buf, r.at_us);
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            out(&mut buf);
        }
    }
    out(&mut buf);
}

type RowWriter = fn(&Plan, &mut dyn FnMut(&mut Vec<u8>));

/// `COPY` one table, the rows made on a blocking thread while PostgreSQL
/// takes the previous chunk; rows and seconds.
async fn copy(
    conn: &mut PgConnection,
    plan: &Arc<Plan>,
    statement: &str,
    rows: RowWriter,
) -> (u64, Duration) {
    let started = Instant::now();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let producer = {
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || {
            rows(&plan, &mut |buf: &mut Vec<u8>| {
                if !buf.is_empty() {
                    let full = std::mem::replace(buf, Vec::with_capacity(CHUNK + 4096));
                    sender.blocking_send(full).unwrap();
                }
            });
        })
    };
    let mut copy = conn.copy_in_raw(statement).await.unwrap();
    while let Some(chunk) = receiver.recv().await {
        copy.send(chunk).await.unwrap();
    }
    producer.await.unwrap();
    let count = copy.finish().await.unwrap();
    (count, started.elapsed())
}

// ---------------------------------------------------------------------------
// The app: start, sign up, seed.

/// The `before=` value of the list page's `rel="next"` link.
fn next_cursor(html: &str) -> Option<String> {
    let link = html.find("rel=\"next\"")?;
    let head = &html[..link];
    let start = head.rfind("before=")? + "before=".len();
    let end = head[start..].find('"')?;
    Some(head[start..start + end].to_owned())
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Seeded {
    plan: Arc<Plan>,
    seconds: f64,
}

/// Workspaces 2..100, their members and every workspace's sandbox channel,
/// as sign-up and first use of the sandbox would have made them.
async fn create_orgs(conn: &mut PgConnection, owner_org: Uuid, owner: Uuid) -> Vec<Org> {
    let mut rng = Rng::new(0x00a1_10c5);
    let mut orgs = Vec::new();
    let (mut user_ids, mut user_names, mut user_emails) = (vec![], vec![], vec![]);
    let (mut m_orgs, mut m_users, mut m_roles) = (vec![], vec![], vec![]);
    let (mut org_ids, mut org_names) = (vec![], vec![]);
    for i in 0..WORKSPACES {
        let (id, owner) = if i == 0 {
            (owner_org, owner)
        } else {
            let id = rng.uuid_v4();
            let owner = rng.uuid_v4();
            org_ids.push(id);
            org_names.push(format!("Shop {i}"));
            user_ids.push(owner);
            user_names.push(format!("Owner {i}"));
            user_emails.push(format!("owner{i}@bench.example"));
            m_orgs.push(id);
            m_users.push(owner);
            m_roles.push("owner".to_owned());
            (id, owner)
        };
        let agents = if i == 0 { 9 } else { 2 };
        let mut members = vec![owner];
        for a in 0..agents {
            let user = rng.uuid_v4();
            user_ids.push(user);
            user_names.push(format!("Agent {a} of shop {i}"));
            user_emails.push(format!("agent{a}.shop{i}@bench.example"));
            m_orgs.push(id);
            m_users.push(user);
            m_roles.push("agent".to_owned());
            members.push(user);
        }
        orgs.push(Org {
            id,
            channel: rng.uuid_v7(OffsetDateTime::now_utc().unix_timestamp() * SECOND_US),
            owner,
            members,
        });
    }
    let mut tx = conn.begin().await.unwrap();
    sqlx::query(
        "insert into organizations (id, name) select * from unnest($1::uuid[], $2::text[])",
    )
    .bind(&org_ids)
    .bind(&org_names)
    .execute(&mut *tx)
    .await
    .unwrap();
    // No password logs these users in: "!" is no hash.
    sqlx::query(
        "insert into users (id, name, email, password_hash, email_verified_at) \
         select id, name, email, '!', now() from unnest($1::uuid[], $2::text[], $3::text[]) \
         as u(id, name, email)",
    )
    .bind(&user_ids)
    .bind(&user_names)
    .bind(&user_emails)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "insert into memberships (org_id, user_id, role) \
         select * from unnest($1::uuid[], $2::uuid[], $3::text[])",
    )
    .bind(&m_orgs)
    .bind(&m_users)
    .bind(&m_roles)
    .execute(&mut *tx)
    .await
    .unwrap();
    let channel_orgs: Vec<Uuid> = orgs.iter().map(|o| o.id).collect();
    let channel_ids: Vec<Uuid> = orgs.iter().map(|o| o.channel).collect();
    sqlx::query(
        "insert into channels (org_id, id, kind, name) \
         select o, c, 'sandbox', 'Sandbox' from unnest($1::uuid[], $2::uuid[]) as t(o, c)",
    )
    .bind(&channel_orgs)
    .bind(&channel_ids)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    orgs
}

async fn seed(conn: &mut PgConnection, scale: &Scale, owner_org: Uuid, owner: Uuid) -> Seeded {
    let started = Instant::now();
    conn.execute(
        "set synchronous_commit = off; set work_mem = '64MB'; \
         set maintenance_work_mem = '512MB'",
    )
    .await
    .unwrap();
    let orgs = create_orgs(conn, owner_org, owner).await;
    let planning = Instant::now();
    let now_us = OffsetDateTime::now_utc().unix_timestamp() * SECOND_US;
    let scale_copy = *scale;
    let plan = Arc::new(
        tokio::task::spawn_blocking(move || plan(&scale_copy, orgs, now_us))
            .await
            .unwrap(),
    );
    println!(
        "  workspaces, members, channels by SQL; rows planned in {:.1} s",
        planning.elapsed().as_secs_f64()
    );
    println!(
        "  {:<20} {:>11} {:>9} {:>10}",
        "COPY into", "rows", "seconds", "rows/s"
    );
    let tables: [(&str, &str, RowWriter); 4] = [
        (
            "contacts",
            "copy contacts (org_id, id, name, phone, email, created_at, updated_at) from stdin",
            contact_rows,
        ),
        (
            "conversations",
            "copy conversations (org_id, id, channel_id, contact_id, status, snoozed_until, \
             assignee_id, priority, last_message_at, last_inbound_at, last_message_preview, \
             inbound_count, created_at) from stdin",
            conversation_rows,
        ),
        (
            "conversation_reads",
            "copy conversation_reads (org_id, conversation_id, user_id, read_count) from stdin",
            read_rows,
        ),
        (
            "messages",
            "copy messages (org_id, id, conversation_id, channel_id, direction, kind, body, media, \
             sender_kind, sender_user_id, private, provider_message_id, status, error, created_at) \
             from stdin",
            message_rows,
        ),
    ];
    for (table, statement, rows) in tables {
        let (count, took) = copy(conn, &plan, statement, rows).await;
        println!(
            "  {:<20} {:>11} {:>9.1} {:>10}",
            table,
            thousands(count),
            took.as_secs_f64(),
            thousands((count as f64 / took.as_secs_f64()) as u64)
        );
    }
    let vacuum = Instant::now();
    conn.execute(
        "vacuum (analyze) organizations, users, memberships, channels, contacts, \
         conversations, conversation_reads, messages",
    )
    .await
    .unwrap();
    println!(
        "  {:<20} {:>11} {:>9.1}",
        "vacuum (analyze)",
        "",
        vacuum.elapsed().as_secs_f64()
    );
    let seconds = started.elapsed().as_secs_f64();
    println!("  {:<20} {:>11} {:>9.1}", "seeding total", "", seconds);
    let sizes: Vec<(String, i64, i64)> = sqlx::query_as(
        "select relname::text, pg_table_size(oid), pg_indexes_size(oid) from pg_class \
         where relname in ('contacts', 'conversations', 'conversation_reads', 'messages') \
         order by relname",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    for (table, heap, indexes) in sizes {
        println!(
            "  size of {table}: table {:.0} MiB, indexes {:.0} MiB",
            mib(heap),
            mib(indexes)
        );
    }
    Seeded { plan, seconds }
}

// ---------------------------------------------------------------------------
// Load: keep-alive HTTP/1.1 clients, as light as possible (they share the
// machine's cores with wacrm and PostgreSQL).

/// `clients` clients, each sending requests for paths picked at random,
/// for `duration`; every latency with the index of its path.
async fn load(
    port: u16,
    cookie: &str,
    (paths, headers): (&[String], &str),
    clients: usize,
    duration: Duration,
) -> Vec<(usize, Duration)> {
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        paths
            .iter()
            .map(|p| get_request(port, cookie, p, headers))
            .collect(),
    );
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0x00c1_1e47 + client as u64);
            let mut connection = KeepAlive::connect(port).await;
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let i = rng.below(requests.len());
                let started = Instant::now();
                let status = connection.request(&requests[i]).await;
                let took = started.elapsed();
                assert_eq!(
                    status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&requests[i])
                        .lines()
                        .next()
                        .unwrap_or("")
                );
                samples.push((i, took));
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    requests: usize,
    per_second: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn stats(latencies: &mut [Duration], elapsed: Duration) -> Stats {
    latencies.sort();
    let at = |p: f64| percentile_ms(latencies, p);
    Stats {
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: ms(*latencies.last().unwrap()),
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    P99(f64),
    P95(f64),
}

impl Target {
    fn describe(self) -> String {
        match self {
            Target::P99(ms) => format!("p99 < {ms} ms"),
            Target::P95(ms) => format!("p95 < {ms} ms"),
        }
    }

    fn met(self, s: &Stats) -> bool {
        match self {
            Target::P99(ms) => s.p99 < ms,
            Target::P95(ms) => s.p95 < ms,
        }
    }
}

struct Scenario {
    name: &'static str,
    target: Option<Target>,
    /// (label, path); labels are printed when there are several kinds.
    paths: Vec<(String, String)>,
    /// Extra request header lines, each ending in `\r\n`.
    headers: &'static str,
    breakdown: bool,
}

/// The headers htmx sends when a conversation is picked in the list: only
/// the panes beside it are loaded.
const PICKED_IN_LIST: &str = "HX-Request: true\r\nHX-Target: panes\r\n";

fn get_request(port: u16, cookie: &str, path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n{headers}\r\n")
        .into_bytes()
}

/// The running app as the scenarios reach it.
struct Server<'a> {
    port: u16,
    cookie: &'a str,
    pid: u32,
    postmaster: u32,
}

struct Outcome {
    name: &'static str,
    target: Option<Target>,
    /// At `CLIENTS` clients, and the median with one; `None`: not built yet.
    stats: Option<(Stats, f64)>,
}

const HEADER: &str = "  scenario                                    requests   req/s   p50 ms   p95 ms   p99 ms   max ms  1 client p50  target";

/// One line of the table; `alone` is the median with a single client.
fn row(name: &str, s: &Stats, alone: Option<f64>, target: Option<Target>) -> String {
    let verdict = target
        .map(|t| {
            format!(
                "{} {}",
                t.describe(),
                if t.met(s) { "ok" } else { "MISSED" }
            )
        })
        .unwrap_or_default();
    let alone = alone.map(|ms| format!("{ms:.2}")).unwrap_or_default();
    format!(
        "  {:<42} {:>9} {:>7.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>13}  {}",
        name,
        thousands(s.requests as u64),
        s.per_second,
        s.p50,
        s.p95,
        s.p99,
        s.max,
        alone,
        verdict
    )
}

/// One client asking for every path in turn, at least once each and for
/// at least `duration`: latency without queueing behind other clients.
async fn sequential(
    port: u16,
    cookie: &str,
    (paths, headers): (&[String], &str),
    duration: Duration,
) -> Vec<(usize, Duration)> {
    let mut connection = KeepAlive::connect(port).await;
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < paths.len() || started.elapsed() < duration {
        let i = samples.len() % paths.len();
        let request = get_request(port, cookie, &paths[i], headers);
        let sent = Instant::now();
        let status = connection.request(&request).await;
        assert_eq!(status, 200, "{}", paths[i]);
        samples.push((i, sent.elapsed()));
    }
    samples
}

/// Where the processor time goes, in seconds so far: wacrm, its
/// PostgreSQL cluster (every server process), and this load generator.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    app: f64,
    db: f64,
    load: f64,
}

fn cpu(app_pid: u32, postmaster_pid: u32) -> Cpu {
    let (app, db, load) = common::process_seconds(app_pid, postmaster_pid);
    Cpu { app, db, load }
}

/// Warm up, measure at `CLIENTS` clients (with the processor time it took),
/// then once more with one client; prints the rows.
async fn run_scenario(server: &Server<'_>, scenario: &Scenario) -> (Stats, f64) {
    let (port, cookie) = (server.port, server.cookie);
    let paths: Vec<String> = scenario.paths.iter().map(|(_, p)| p.clone()).collect();
    let requests = (paths.as_slice(), scenario.headers);
    load(port, cookie, requests, CLIENTS, WARMUP).await;
    let before = cpu(server.pid, server.postmaster);
    let started = Instant::now();
    let samples = load(port, cookie, requests, CLIENTS, MEASURE).await;
    let elapsed = started.elapsed();
    let after = cpu(server.pid, server.postmaster);
    let single_started = Instant::now();
    let single = sequential(port, cookie, requests, ALONE).await;
    let single_elapsed = single_started.elapsed();
    let of = |samples: &[(usize, Duration)], path: Option<usize>| -> Vec<Duration> {
        samples
            .iter()
            .filter(|(j, _)| path.is_none_or(|p| p == *j))
            .map(|(_, d)| *d)
            .collect()
    };
    let total = stats(&mut of(&samples, None), elapsed);
    let alone = stats(&mut of(&single, None), single_elapsed).p50;
    println!(
        "{}",
        row(scenario.name, &total, Some(alone), scenario.target)
    );
    let per_request = |a: f64, b: f64| (b - a) * 1e3 / total.requests as f64;
    println!(
        "    processor time per request at {CLIENTS} clients: wacrm {:.2} ms, PostgreSQL {:.2} ms, \
         load generator {:.2} ms",
        per_request(before.app, after.app),
        per_request(before.db, after.db),
        per_request(before.load, after.load)
    );
    if scenario.breakdown {
        for (i, (label, _)) in scenario.paths.iter().enumerate() {
            let mut mine = of(&samples, Some(i));
            if mine.is_empty() {
                continue;
            }
            let mut mine_alone = of(&single, Some(i));
            let alone =
                (!mine_alone.is_empty()).then(|| stats(&mut mine_alone, single_elapsed).p50);
            println!(
                "{}",
                row(
                    &format!("  {label}"),
                    &stats(&mut mine, elapsed),
                    alone,
                    None
                )
            );
        }
    }
    (total, alone)
}

// ---------------------------------------------------------------------------

struct SizeResult {
    label: &'static str,
    outcomes: Vec<Outcome>,
}

async fn run_size(scale: Scale, keep: bool) -> SizeResult {
    let run_started = Instant::now();
    println!();
    println!(
        "=== {}: large workspace {} contacts / {} conversations / {} messages; \
         {} others {} / {} / {} each ===",
        scale.label,
        thousands(scale.contacts as u64),
        thousands(scale.conversations as u64),
        thousands(scale.messages as u64),
        WORKSPACES - 1,
        thousands(scale.small_contacts as u64),
        thousands(scale.small_conversations as u64),
        thousands(scale.small_messages as u64),
    );
    let dir = std::env::temp_dir().join(format!(
        "wacrm-inbox-{}-{}",
        scale.label,
        std::process::id()
    ));
    let data = dir.join("data");
    let port = free_port();
    let server = spawn(&data, port);
    wait_ready(port).await;

    let base = format!("http://127.0.0.1:{port}");
    let (client, jar) = common::browser_client(reqwest::Client::builder());
    sign_up(&client, &base, OWNER_EMAIL, "Big Shop").await;

    let socket_dir = std::fs::canonicalize(data.join("postgres").join("run")).unwrap();
    let options = PgConnectOptions::new()
        .socket(&socket_dir)
        .port(5432)
        .username(wacrm::infra::embedded_pg::SUPERUSER)
        .database(DATABASE);
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    let (owner_org, owner): (Uuid, Uuid) = sqlx::query_as(
        "select m.org_id, u.id from users u join memberships m on m.user_id = u.id \
         where lower(u.email) = $1",
    )
    .bind(OWNER_EMAIL)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    println!("seeding:");
    let seeded = seed(&mut conn, &scale, owner_org, owner).await;
    let plan = &seeded.plan;

    let cookie = common::session_cookie(&jar, &base);

    // The deep page: follow "older conversations" links as a person would.
    let following = Instant::now();
    let mut cursor = String::new();
    for _ in 0..DEEP_PAGES {
        let path = if cursor.is_empty() {
            "/inbox?status=all".to_owned()
        } else {
            format!("/inbox?status=all&before={cursor}")
        };
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        cursor = next_cursor(&response.text().await.unwrap()).expect("a next link");
    }
    println!(
        "deep list page: followed {DEEP_PAGES} \"older\" links ({} conversations down) in {:.2} s",
        thousands(DEEP_PAGES as u64 * 50),
        following.elapsed().as_secs_f64()
    );

    let mut rng = Rng::new(0x0be4);
    let mut long: Vec<&Conversation> = plan
        .conversations
        .iter()
        .filter(|c| c.org == 0 && c.messages >= MANY_MESSAGES)
        .collect();
    let mut opened = Vec::new();
    while opened.len() < OPENED && !long.is_empty() {
        let c = long.swap_remove(rng.below(long.len()));
        opened.push((
            format!("{} messages", c.messages),
            format!("/inbox/{}", c.id),
        ));
    }
    let median_messages = {
        let mut n: Vec<u32> = opened
            .iter()
            .map(|(l, _)| l.split(' ').next().unwrap().parse().unwrap())
            .collect();
        n.sort_unstable();
        n.get(n.len() / 2).copied().unwrap_or(0)
    };
    println!(
        "open a conversation: {} conversations with >= {MANY_MESSAGES} messages (median {median_messages}), at random",
        opened.len()
    );

    let mut contact_paths = Vec::new();
    for q in CONTACT_SEARCHES {
        let lower = q.to_lowercase();
        let mut patterns = vec![format!("%{lower}%")];
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        if q.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            && digits.len() >= 3
        {
            patterns.push(format!("%{digits}%"));
        }
        let matches: i64 = sqlx::query_scalar(
            "select count(*) from contacts where org_id = $1 and search_text like any($2)",
        )
        .bind(owner_org)
        .bind(&patterns)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        contact_paths.push((
            format!("q={q} ({} contacts match)", thousands(matches as u64)),
            format!("/contacts?q={}", percent_encode(q)),
        ));
    }

    let probe = client
        .get(format!("{base}/search?q=pedido"))
        .send()
        .await
        .unwrap()
        .status();
    let mut message_paths = Vec::new();
    if probe == 200 {
        for q in MESSAGE_SEARCHES {
            let matches: i64 = sqlx::query_scalar(
                "select count(*) from messages where org_id = $1 \
                 and (search_tsv @@ plainto_tsquery('simple', $2) or lower(body) like $3)",
            )
            .bind(owner_org)
            .bind(q)
            .bind(format!("%{}%", q.to_lowercase()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
            message_paths.push((
                format!("q={q} ({} messages match)", thousands(matches as u64)),
                format!("/search?q={}", percent_encode(q)),
            ));
        }
    }

    let scenarios = vec![
        Scenario {
            name: "inbox list, first page",
            target: Some(Target::P99(15.0)),
            paths: vec![(String::new(), "/inbox?status=all".to_owned())],
            headers: "",
            breakdown: false,
        },
        Scenario {
            name: "inbox list, page 41",
            target: Some(Target::P99(15.0)),
            paths: vec![(String::new(), format!("/inbox?status=all&before={cursor}"))],
            headers: "",
            breakdown: false,
        },
        Scenario {
            name: "open a conversation (picked in the list)",
            target: Some(Target::P99(15.0)),
            paths: opened.clone(),
            headers: PICKED_IN_LIST,
            breakdown: false,
        },
        Scenario {
            name: "open a conversation by link (whole page)",
            target: None,
            paths: opened,
            headers: "",
            breakdown: false,
        },
        Scenario {
            name: "contact search",
            target: Some(Target::P95(100.0)),
            paths: contact_paths,
            headers: "",
            breakdown: true,
        },
        Scenario {
            name: "message search",
            target: Some(Target::P95(100.0)),
            paths: message_paths,
            headers: "",
            breakdown: true,
        },
    ];
    println!(
        "HTTP: {CLIENTS} keep-alive clients signed in as the large workspace's owner, \
         {} s warm-up then {} s per scenario:",
        WARMUP.as_secs(),
        MEASURE.as_secs()
    );
    println!("{HEADER}");
    let load_before = load_average();
    let postmaster = common::postmaster_pid(&data);
    let target = Server {
        port,
        cookie: &cookie,
        pid: server.id(),
        postmaster,
    };
    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        let stats = if scenario.paths.is_empty() {
            println!("  message search: not built yet (GET /search answered {probe})");
            None
        } else {
            Some(run_scenario(&target, scenario).await)
        };
        outcomes.push(Outcome {
            name: scenario.name,
            target: scenario.target,
            stats,
        });
    }
    drop(conn);
    stop(server);
    if keep {
        println!("kept data directory: {}", data.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "machine load average (1 min) before the HTTP scenarios {load_before}, after {} \
         (other work on the machine skews the figures)",
        load_average()
    );
    println!(
        "{} run: {:.0} s (seeding {:.0} s)",
        scale.label,
        run_started.elapsed().as_secs_f64(),
        seeded.seconds
    );
    SizeResult {
        label: scale.label,
        outcomes,
    }
}

fn compare(small: &SizeResult, large: &SizeResult) {
    println!();
    println!(
        "=== growth: {} vs {} (10x the data), ms ===",
        large.label, small.label
    );
    println!(
        "  {:<24} {:>20} {:>9} {:>20} {:>9} {:>6}  target at {}",
        "scenario",
        format!("{} p50/p95/p99", small.label),
        "1 client",
        format!("{} p50/p95/p99", large.label),
        "1 client",
        "p95 x",
        large.label
    );
    for (a, b) in small.outcomes.iter().zip(&large.outcomes) {
        let cells = |s: &Option<(Stats, f64)>| match s {
            Some((s, alone)) => (
                format!("{:.1}/{:.1}/{:.1}", s.p50, s.p95, s.p99),
                format!("{alone:.1}"),
            ),
            None => ("not built yet".to_owned(), "-".to_owned()),
        };
        let growth = match (&a.stats, &b.stats) {
            (Some((x, _)), Some((y, _))) => format!("{:.1}", y.p95 / x.p95),
            _ => "-".to_owned(),
        };
        let verdict = match (&b.stats, b.target) {
            (Some((s, _)), Some(target)) if target.met(s) => "ok",
            (Some(_), Some(_)) => "MISSED",
            _ => "",
        };
        let (small_cell, small_alone) = cells(&a.stats);
        let (large_cell, large_alone) = cells(&b.stats);
        println!(
            "  {:<24} {:>20} {:>9} {:>20} {:>9} {:>6}  {} {}",
            a.name,
            small_cell,
            small_alone,
            large_cell,
            large_alone,
            growth,
            b.target.map(Target::describe).unwrap_or_default(),
            verdict
        );
    }
}

#[tokio::main]
async fn main() {
    wacrm::infra::tls::install_crypto_provider();
    let started = Instant::now();
    let scales = match std::env::var("WACRM_BENCH_SCALE").as_deref() {
        Ok("tenth") => vec![TENTH],
        Ok("full") => vec![FULL],
        Ok("both") | Err(_) => vec![TENTH, FULL],
        Ok(other) => panic!("WACRM_BENCH_SCALE must be tenth, full or both, not {other}"),
    };
    let keep = std::env::var("WACRM_BENCH_KEEP").is_ok_and(|v| v == "1");
    println!(
        "inbox benchmark: {} CPU(s), sizes {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        scales
            .iter()
            .map(|s| s.label)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut results = Vec::new();
    for scale in scales {
        results.push(run_size(scale, keep).await);
    }
    if let [small, large] = results.as_slice() {
        compare(small, large);
    }
    println!();
    println!("whole run: {:.0} s", started.elapsed().as_secs_f64());
}
