//! The synthetic data: workspaces, contacts, conversations and messages
//! in several languages, drawn from a seeded generator so runs compare.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub(crate) label: &'static str,
    pub(crate) contacts: usize,
    pub(crate) conversations: usize,
    pub(crate) messages: usize,
    pub(crate) small_contacts: usize,
    pub(crate) small_conversations: usize,
    pub(crate) small_messages: usize,
}

pub(crate) const FULL: Scale = Scale {
    label: "full",
    contacts: 100_000,
    conversations: 200_000,
    messages: 2_000_000,
    small_contacts: 200,
    small_conversations: 300,
    small_messages: 3_000,
};

pub(crate) const TENTH: Scale = Scale {
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
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A UUIDv7 for this moment, as the app makes them (`Uuid::now_v7`).
    pub(crate) fn uuid_v7(&mut self, at_us: i64) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis((at_us / 1000) as u64, &bytes).into_uuid()
    }

    pub(crate) fn uuid_v4(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

pub(crate) fn mix(a: u64, b: u64) -> u64 {
    Rng::new(a ^ b.wrapping_mul(0xff51_afd7_ed55_8ccd)).next()
}

// ---------------------------------------------------------------------------
// Vocabulary: names and message words of five languages, most frequent first.

pub(crate) struct Language {
    pub(crate) weight: f64,
    /// (prefix, weight): phones are the prefix and 7 unique digits.
    pub(crate) phones: &'static [(&'static str, f64)],
    /// Space-separated lists.
    pub(crate) first: &'static str,
    pub(crate) last: &'static str,
    pub(crate) words: &'static str,
}

pub(crate) const LANGUAGES: [Language; 5] = [
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

pub(crate) const EMAIL_DOMAINS: [&str; 6] = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "web.de",
    "uol.com.br",
];
pub(crate) const EMOJI: [&str; 5] = ["👍", "🙏", "😊", "🙂", "❤️"];

/// The languages' lists, split; words are chosen Zipf-like (the word of
/// rank r has weight 1/(r+1)).
pub(crate) struct Vocabulary {
    pub(crate) first: Vec<Vec<&'static str>>,
    pub(crate) last: Vec<Vec<&'static str>>,
    pub(crate) words: Vec<Vec<&'static str>>,
    pub(crate) cumulative: Vec<Vec<f64>>,
}

impl Vocabulary {
    pub(crate) fn new() -> Vocabulary {
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

    pub(crate) fn word(&self, rng: &mut Rng, lang: usize) -> &'static str {
        let u = rng.unit();
        let c = &self.cumulative[lang];
        let i = c.partition_point(|&x| x < u).min(c.len() - 1);
        self.words[lang][i]
    }

    pub(crate) fn sentence(&self, rng: &mut Rng, lang: usize) -> String {
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

pub(crate) fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, f64)]) -> T {
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

pub(crate) struct Org {
    pub(crate) id: Uuid,
    pub(crate) channel: Uuid,
    pub(crate) owner: Uuid,
    /// The owner first, then agents.
    pub(crate) members: Vec<Uuid>,
}

pub(crate) struct Contact {
    pub(crate) org: u32,
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) phone: String,
    pub(crate) email: Option<String>,
    pub(crate) created_us: i64,
}

pub(crate) struct Conversation {
    pub(crate) org: u32,
    pub(crate) id: Uuid,
    pub(crate) contact: Uuid,
    pub(crate) lang: u8,
    pub(crate) status: &'static str,
    pub(crate) snoozed_until_us: Option<i64>,
    pub(crate) assignee: Option<Uuid>,
    pub(crate) priority: &'static str,
    pub(crate) created_us: i64,
    pub(crate) last_us: i64,
    pub(crate) last_inbound_us: Option<i64>,
    pub(crate) preview: String,
    pub(crate) inbound: u32,
    pub(crate) messages: u32,
    /// The owner's `conversation_reads.read_count`, if they opened it.
    pub(crate) owner_read: Option<u32>,
    /// Its messages' content derives from this (the order it was planned
    /// in), so the same run makes the same text.
    pub(crate) key: u64,
}

#[derive(Clone, Copy)]
pub(crate) struct MessageRef {
    pub(crate) at_us: i64,
    pub(crate) conversation: u32,
    pub(crate) seq: u32,
}

pub(crate) struct Plan {
    pub(crate) orgs: Vec<Org>,
    /// Insertion order: by creation time, all workspaces interleaved.
    pub(crate) contacts: Vec<Contact>,
    pub(crate) conversations: Vec<Conversation>,
    pub(crate) messages: Vec<MessageRef>,
    pub(crate) vocabulary: Vocabulary,
}

/// One message's content, derived from its conversation and position only,
/// so the plan (preview, counts) and the `COPY` agree.
pub(crate) struct Message {
    pub(crate) id: Uuid,
    pub(crate) inbound: bool,
    pub(crate) kind: &'static str,
    pub(crate) body: String,
    pub(crate) media: Option<String>,
    pub(crate) sender_kind: &'static str,
    pub(crate) sender: Option<Uuid>,
    pub(crate) private: bool,
    pub(crate) provider_id: Option<String>,
    pub(crate) status: &'static str,
    pub(crate) error: Option<&'static str>,
}

pub(crate) fn message_rng(key: u64, seq: u32) -> Rng {
    Rng::new(mix(key, u64::from(seq)))
}

pub(crate) fn is_inbound(key: u64, seq: u32) -> bool {
    let mut rng = message_rng(key, seq);
    let draw = rng.chance(0.5);
    seq == 0 || draw
}

pub(crate) fn message(
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
pub(crate) fn preview(message: &Message) -> String {
    let body = message.body.trim();
    let text = match message.kind {
        "text" | "note" | "template" => body.to_owned(),
        kind if !body.is_empty() => format!("[{kind}] {body}"),
        kind => format!("[{kind}]"),
    };
    text.chars().take(140).collect()
}

pub(crate) struct OrgSize {
    pub(crate) contacts: usize,
    pub(crate) conversations: usize,
    pub(crate) messages: usize,
}

/// How many messages each conversation has: most a handful, 2% a few
/// hundred; exactly `total` in all.
pub(crate) fn message_counts(rng: &mut Rng, conversations: usize, total: usize) -> Vec<u32> {
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
pub(crate) fn plan_org(
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

pub(crate) fn plan(scale: &Scale, orgs: Vec<Org>, now_us: i64) -> Plan {
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
