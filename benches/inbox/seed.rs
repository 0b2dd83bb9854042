//! Loading the data: rows in `COPY` text format straight into the app's
//! own tables, with their indexes in place.

use super::*;

// COPY text format.

/// One row of `COPY` text: each field after the first is preceded by a tab.
pub(crate) struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl Row<'_> {
    fn field(&mut self) -> &mut Vec<u8> {
        if !std::mem::take(&mut self.first) {
            self.buf.push(b'\t');
        }
        self.buf
    }

    fn null(&mut self) -> &mut Self {
        self.field().extend_from_slice(b"\\N");
        self
    }

    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        let buf = self.field();
        for &b in s.as_bytes() {
            match b {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                _ => buf.push(b),
            }
        }
        self
    }

    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A value whose `Display` needs no escaping (numbers).
    pub(crate) fn plain(&mut self, v: impl std::fmt::Display) -> &mut Self {
        write!(self.field(), "{v}").unwrap();
        self
    }

    pub(crate) fn uuid(&mut self, id: Uuid) -> &mut Self {
        let mut tmp = Uuid::encode_buffer();
        self.field()
            .extend_from_slice(id.hyphenated().encode_lower(&mut tmp).as_bytes());
        self
    }

    pub(crate) fn opt_uuid(&mut self, id: Option<Uuid>) -> &mut Self {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    pub(crate) fn timestamp(&mut self, us: i64) -> &mut Self {
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).unwrap();
        write!(
            self.field(),
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
        self
    }

    pub(crate) fn opt_timestamp(&mut self, us: Option<i64>) -> &mut Self {
        match us {
            Some(us) => self.timestamp(us),
            None => self.null(),
        }
    }
}

/// One `COPY` row per item, written by `row`, handed to `out` in chunks of
/// about `CHUNK` bytes (and once more at the end).
pub(crate) fn copy_rows<T>(
    items: impl IntoIterator<Item = T>,
    out: &mut dyn FnMut(&mut Vec<u8>),
    mut row: impl FnMut(&mut Row<'_>, T),
) {
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    for item in items {
        row(
            &mut Row {
                buf: &mut buf,
                first: true,
            },
            item,
        );
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            out(&mut buf);
        }
    }
    out(&mut buf);
}

pub(crate) fn contact_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    copy_rows(&plan.contacts, out, |row, c| {
        row.uuid(plan.orgs[c.org as usize].id)
            .uuid(c.id)
            .text(&c.name)
            .text(&c.phone)
            .opt_text(c.email.as_deref())
            .timestamp(c.created_us)
            .timestamp(c.created_us);
    });
}

pub(crate) fn conversation_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    copy_rows(&plan.conversations, out, |row, c| {
        let org = &plan.orgs[c.org as usize];
        row.uuid(org.id)
            .uuid(c.id)
            .uuid(org.channel)
            .uuid(c.contact)
            .text(c.status)
            .opt_timestamp(c.snoozed_until_us)
            .opt_uuid(c.assignee)
            .text(c.priority)
            .timestamp(c.last_us)
            .opt_timestamp(c.last_inbound_us)
            .text(&c.preview)
            .plain(c.inbound)
            .timestamp(c.created_us);
    });
}

pub(crate) fn read_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    let read = plan
        .conversations
        .iter()
        .filter_map(|c| Some((c, c.owner_read?)));
    copy_rows(read, out, |row, (c, read)| {
        let org = &plan.orgs[c.org as usize];
        row.uuid(org.id).uuid(c.id).uuid(org.owner).plain(read);
    });
}

pub(crate) fn message_rows(plan: &Plan, out: &mut dyn FnMut(&mut Vec<u8>)) {
    copy_rows(&plan.messages, out, |row, r| {
        let c = &plan.conversations[r.conversation as usize];
        let org = &plan.orgs[c.org as usize];
        let m = message(&plan.vocabulary, c, &org.members, r.seq, r.at_us);
        row.uuid(org.id)
            .uuid(m.id)
            .uuid(c.id)
            .uuid(org.channel)
            .text(if m.inbound { "in" } else { "out" })
            .text(m.kind)
            .text(&m.body)
            .opt_text(m.media.as_deref())
            .text(m.sender_kind)
            .opt_uuid(m.sender)
            .text(if m.private { "t" } else { "f" })
            .opt_text(m.provider_id.as_deref())
            .text(m.status)
            .opt_text(m.error)
            .timestamp(r.at_us);
    });
}

pub(crate) type RowWriter = fn(&Plan, &mut dyn FnMut(&mut Vec<u8>));

/// `COPY` one table, the rows made on a blocking thread while PostgreSQL
/// takes the previous chunk; rows and seconds.
pub(crate) async fn copy(
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
pub(crate) fn next_cursor(html: &str) -> Option<String> {
    let link = html.find("rel=\"next\"")?;
    let head = &html[..link];
    let start = head.rfind("before=")? + "before=".len();
    let end = head[start..].find('"')?;
    Some(head[start..start + end].to_owned())
}

pub(crate) fn percent_encode(s: &str) -> String {
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

pub(crate) struct Seeded {
    pub(crate) plan: Arc<Plan>,
    pub(crate) seconds: f64,
}

/// Workspaces 2..100, their members and every workspace's sandbox channel,
/// as sign-up and first use of the sandbox would have made them.
pub(crate) async fn create_orgs(conn: &mut PgConnection, owner_org: Uuid, owner: Uuid) -> Vec<Org> {
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

pub(crate) async fn seed(
    conn: &mut PgConnection,
    scale: &Scale,
    owner_org: Uuid,
    owner: Uuid,
) -> Seeded {
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
