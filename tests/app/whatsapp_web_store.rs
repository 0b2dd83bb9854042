//! The Postgres storage of linked-device sessions, driven directly through
//! the protocol library's storage interface: what is written reads back
//! (also from a new process's pool), one workspace's session is invisible
//! to another, and the table holds no key material in the clear.

use std::sync::Arc;

use wacrm::channels::whatsapp_web::store::SessionStore;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::InMemoryBackend;
use whatsapp_rust::wacore::store::traits::*;

use crate::support::*;

/// A linked-device channel of the workspace `org` (as the connect flow
/// would create it).
async fn web_channel(app: &TestApp, org: uuid::Uuid) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    sqlx::query("insert into channels (org_id, id, kind, name) values ($1, $2, 'whatsapp_web', 'Shop phone')")
        .bind(org)
        .bind(id)
        .execute(&mut app.admin_conn().await)
        .await
        .expect("channel");
    id
}

fn store(app: &TestApp, org: uuid::Uuid, channel: uuid::Uuid) -> SessionStore {
    SessionStore::new(
        app.state.pool.clone(),
        app.state.secrets.clone(),
        org,
        channel,
    )
}

async fn two_workspaces() -> (TestApp, SessionStore, SessionStore, uuid::Uuid) {
    let app = spawn_app().await;
    app.sign_up("Olga", "owner@acme.test", "Acme").await;
    app.sign_up("Bob", "owner@globex.test", "Globex").await;
    let (acme, globex) = (app.org_id("Acme").await, app.org_id("Globex").await);
    let acme_channel = web_channel(&app, acme).await;
    let globex_channel = web_channel(&app, globex).await;
    let ours = store(&app, acme, acme_channel);
    let theirs = store(&app, globex, globex_channel);
    (app, ours, theirs, acme_channel)
}

const PEER: &str = "15551234567@s.whatsapp.net";
const PEER_DEVICE: &str = "15551234567:3@s.whatsapp.net";

#[tokio::test]
async fn signal_state_reads_back_in_batches_and_deletes() {
    let (_app, ours, _, _) = two_workspaces().await;
    assert!(!ours.has_session(PEER).await.unwrap());
    assert!(!ours.has_signal_state_for_user("15551234567").await.unwrap());

    ours.put_identity(PEER, [9u8; 32]).await.unwrap();
    ours.put_sessions_batch(&[
        (Arc::from(PEER), Bytes::from_static(b"session one")),
        (Arc::from(PEER_DEVICE), Bytes::from_static(b"session three")),
        // The last of a repeated address wins.
        (Arc::from(PEER), Bytes::from_static(b"session one, later")),
    ])
    .await
    .unwrap();
    assert_eq!(ours.load_identity(PEER).await.unwrap(), Some([9u8; 32]));
    assert_eq!(
        ours.get_session(PEER).await.unwrap().as_deref(),
        Some(&b"session one, later"[..])
    );
    assert!(ours.has_session(PEER_DEVICE).await.unwrap());
    assert!(ours.has_signal_state_for_user("15551234567").await.unwrap());
    assert!(
        !ours.has_signal_state_for_user("1555123456").await.unwrap(),
        "a prefix is not the user"
    );
    ours.delete_session(PEER).await.unwrap();
    assert_eq!(ours.get_session(PEER).await.unwrap(), None);

    // Prekeys: the highest id, uploaded marks that never resurrect one.
    ours.store_prekeys_batch(
        &[
            (7, Bytes::from_static(b"k7")),
            (12, Bytes::from_static(b"k12")),
        ],
        false,
    )
    .await
    .unwrap();
    ours.store_prekey(3, b"k3", true).await.unwrap();
    assert_eq!(ours.get_max_prekey_id().await.unwrap(), 12);
    ours.remove_prekey(12).await.unwrap();
    ours.mark_prekeys_uploaded(&[7, 12]).await.unwrap();
    assert_eq!(ours.load_prekey(12).await.unwrap(), None, "not resurrected");
    assert_eq!(ours.get_max_prekey_id().await.unwrap(), 7);
    assert_eq!(
        ours.load_prekeys_batch(&[3, 7, 99]).await.unwrap(),
        vec![
            (3, Bytes::from_static(b"k3")),
            (7, Bytes::from_static(b"k7"))
        ]
    );

    ours.store_signed_prekey(1, b"signed one").await.unwrap();
    ours.store_signed_prekey(2, b"signed two").await.unwrap();
    let mut all = ours.load_all_signed_prekeys().await.unwrap();
    all.sort();
    assert_eq!(
        all,
        vec![(1, b"signed one".to_vec()), (2, b"signed two".to_vec())]
    );
    ours.remove_signed_prekey(1).await.unwrap();
    assert_eq!(ours.load_signed_prekey(1).await.unwrap(), None);

    ours.put_sender_key("group@g.us::me", b"sender key")
        .await
        .unwrap();
    assert_eq!(
        ours.get_sender_key("group@g.us::me").await.unwrap(),
        Some(b"sender key".to_vec())
    );
    ours.delete_sender_key("group@g.us::me").await.unwrap();
    assert_eq!(ours.get_sender_key("group@g.us::me").await.unwrap(), None);
}

#[tokio::test]
async fn app_state_and_protocol_state_follow_the_librarys_rules() {
    let (_app, ours, _, _) = two_workspaces().await;
    // App state: keys, the latest key id, versions from zero, MACs.
    let key = |ts| AppStateSyncKey {
        key_data: vec![1, 2, 3],
        fingerprint: vec![4],
        timestamp: ts,
    };
    ours.set_sync_key(&[0, 1], key(10)).await.unwrap();
    ours.set_sync_key(&[0, 9], key(5)).await.unwrap();
    assert_eq!(
        ours.get_sync_key(&[0, 1]).await.unwrap().unwrap().timestamp,
        10
    );
    assert_eq!(
        ours.get_latest_sync_key_id().await.unwrap(),
        Some(vec![0, 9])
    );
    assert_eq!(ours.get_version("regular").await.unwrap().version, 0);
    let mut state = ours.get_version("regular").await.unwrap();
    state.version = 42;
    ours.set_version("regular", state).await.unwrap();
    assert_eq!(ours.get_version("regular").await.unwrap().version, 42);
    let mac = |i: u8| AppStateMutationMAC {
        index_mac: vec![i; 32],
        value_mac: vec![i + 100; 32],
    };
    ours.put_mutation_macs("regular", 42, &[mac(1), mac(2), mac(3)])
        .await
        .unwrap();
    ours.put_mutation_macs("critical", 1, &[mac(1)])
        .await
        .unwrap();
    let found = ours
        .get_mutation_macs("regular", &[[1; 32], [3; 32], [7; 32]])
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[&[3u8; 32]], vec![103; 32]);
    ours.delete_mutation_macs("regular", &[vec![1; 32]])
        .await
        .unwrap();
    assert_eq!(
        ours.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        None
    );
    ours.clear_mutation_macs("regular").await.unwrap();
    assert_eq!(
        ours.get_mutation_mac("regular", &[3; 32]).await.unwrap(),
        None
    );
    assert!(
        ours.get_mutation_mac("critical", &[1; 32])
            .await
            .unwrap()
            .is_some(),
        "another collection is kept"
    );

    // LID mappings: a phone answers with its latest.
    let mapping = |lid: &str, at| LidPnMappingEntry {
        lid: lid.into(),
        phone_number: "15551234567".into(),
        created_at: at,
        updated_at: at,
        learning_source: "usync".into(),
    };
    ours.put_lid_mappings(&[
        mapping("100000000000002", 20),
        mapping("100000000000001", 10),
    ])
    .await
    .unwrap();
    ours.put_lid_mapping(&mapping("100000000000003", 5))
        .await
        .unwrap();
    assert_eq!(
        ours.get_pn_mapping("15551234567")
            .await
            .unwrap()
            .unwrap()
            .lid,
        "100000000000002"
    );
    assert_eq!(ours.get_all_lid_mappings().await.unwrap().len(), 3);
    assert_eq!(
        ours.get_lid_mapping("100000000000001")
            .await
            .unwrap()
            .unwrap()
            .updated_at,
        10
    );

    // Device lists, sender-key devices, base keys, group metadata.
    ours.update_device_lists(vec![DeviceListRecord {
        user: "15551234567".into(),
        devices: vec![DeviceInfo::new(0, None), DeviceInfo::new(3, Some(1))],
        timestamp: 77,
        phash: Some("2:abc".into()),
        raw_id: None,
    }])
    .await
    .unwrap();
    let devices = ours.get_devices("15551234567").await.unwrap().unwrap();
    assert_eq!((devices.devices.len(), devices.timestamp), (2, 77));
    ours.set_sender_key_status("g1@g.us", &[(PEER, true), (PEER_DEVICE, false)])
        .await
        .unwrap();
    ours.set_sender_key_status("g2@g.us", &[(PEER, true)])
        .await
        .unwrap();
    let mut g1 = ours.get_sender_key_devices("g1@g.us").await.unwrap();
    g1.sort();
    assert_eq!(
        g1,
        vec![(PEER_DEVICE.to_owned(), false), (PEER.to_owned(), true)]
    );
    ours.delete_sender_key_device_rows(&[PEER]).await.unwrap();
    assert_eq!(
        ours.get_sender_key_devices("g1@g.us").await.unwrap().len(),
        1
    );
    assert!(
        ours.get_sender_key_devices("g2@g.us")
            .await
            .unwrap()
            .is_empty()
    );
    ours.clear_all_sender_key_devices().await.unwrap();
    assert!(
        ours.get_sender_key_devices("g1@g.us")
            .await
            .unwrap()
            .is_empty()
    );
    ours.save_base_key(PEER, "3EB0A", b"base").await.unwrap();
    assert!(
        ours.has_same_base_key(PEER, "3EB0A", b"base")
            .await
            .unwrap()
    );
    assert!(
        !ours
            .has_same_base_key(PEER, "3EB0A", b"other")
            .await
            .unwrap()
    );
    ours.put_group_metadata("g1@g.us", b"meta").await.unwrap();
    assert_eq!(
        ours.get_group_metadata("g1@g.us").await.unwrap(),
        Some(b"meta".to_vec())
    );

    // Trusted-contact tokens: newer wins; expiry needs both sides stale.
    ours.store_received_tc_token(PEER, b"token", 100)
        .await
        .unwrap();
    ours.store_received_tc_token(PEER, b"older", 50)
        .await
        .unwrap();
    assert_eq!(
        ours.get_tc_token(PEER).await.unwrap().unwrap().token,
        b"token"
    );
    ours.touch_tc_token_sender_timestamp(PEER, 300)
        .await
        .unwrap();
    ours.touch_tc_token_sender_timestamp("other@s.whatsapp.net", 10)
        .await
        .unwrap();
    assert_eq!(
        ours.delete_expired_tc_tokens(200, 200).await.unwrap(),
        1,
        "only the stale one"
    );
    assert_eq!(
        ours.get_all_tc_token_jids().await.unwrap(),
        vec![PEER.to_owned()]
    );

    // Sent messages are taken once; expired ones go.
    ours.store_sent_message(PEER, "3EB0B", b"payload")
        .await
        .unwrap();
    assert_eq!(
        ours.take_sent_message(PEER, "3EB0B").await.unwrap(),
        Some(b"payload".to_vec())
    );
    assert_eq!(ours.take_sent_message(PEER, "3EB0B").await.unwrap(), None);
    ours.store_sent_message(PEER, "3EB0C", b"old")
        .await
        .unwrap();
    let tomorrow = time::OffsetDateTime::now_utc().unix_timestamp() + 86_400;
    assert_eq!(
        ours.delete_expired_sent_messages(tomorrow).await.unwrap(),
        1
    );

    // Message secrets merge their expiry (0 = never) and message time.
    let secret = |expires_at, message_ts| MsgSecretEntry {
        chat: Arc::from(PEER),
        sender: Arc::from(PEER),
        msg_id: Arc::from("3EB0D"),
        secret: [5; 32],
        expires_at,
        message_ts,
    };
    assert_eq!(
        ours.put_msg_secrets(vec![secret(500, 40)]).await.unwrap(),
        1
    );
    ours.put_msg_secrets(vec![secret(300, 20)]).await.unwrap();
    assert_eq!(
        ours.get_msg_secret_with_ts(PEER, PEER, "3EB0D")
            .await
            .unwrap(),
        Some((vec![5; 32], 40))
    );
    assert_eq!(
        ours.delete_expired_msg_secrets(400).await.unwrap(),
        0,
        "kept until 500"
    );
    assert_eq!(ours.delete_expired_msg_secrets(600).await.unwrap(), 1);

    // Pending inbound messages.
    ours.store_pending_inbound(PEER, PEER, "3EB0E", b"ciphertext")
        .await
        .unwrap();
    assert_eq!(
        ours.get_pending_inbound(PEER, PEER, "3EB0E").await.unwrap(),
        Some(b"ciphertext".to_vec())
    );
    ours.delete_pending_inbound_batch(&[PendingInboundKey {
        chat: PEER,
        sender: PEER,
        id: "3EB0E",
    }])
    .await
    .unwrap();
    assert_eq!(
        ours.get_pending_inbound(PEER, PEER, "3EB0E").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_device_is_created_saved_and_loaded_by_a_new_process_as_the_library_keeps_it() {
    let (app, ours, _, channel) = two_workspaces().await;
    assert!(!DeviceStore::exists(&ours).await.unwrap());
    assert_eq!(ours.load().await.unwrap().map(|_| ()), None);
    assert_eq!(ours.create().await.unwrap(), 1);
    let mut device = ours.load().await.unwrap().expect("created");
    device.push_name = "Acme shop".into();
    device.registration_id = 4242;
    ours.save(&device).await.unwrap();

    // What the library's own in-memory store keeps of the same device.
    let memory = InMemoryBackend::new();
    memory.create().await.unwrap();
    memory.save(&device).await.unwrap();
    let expected = serde_json::to_value(memory.load().await.unwrap().expect("kept")).unwrap();

    // A new process: its own pool, the same key.
    let org = app.org_id("Acme").await;
    let pool = wacrm::infra::db::app_pool(&app.admin, 2)
        .await
        .expect("pool");
    let secrets =
        Arc::new(wacrm::infra::secrets::SecretBox::from_config(&test_secret_key()).expect("key"));
    let restarted = SessionStore::new(pool, secrets, org, channel);
    assert!(DeviceStore::exists(&restarted).await.unwrap());
    let loaded = restarted.load().await.unwrap().expect("kept");
    assert_eq!(serde_json::to_value(&loaded).unwrap(), expected);
    assert_eq!(
        loaded.identity_key.public_key,
        device.identity_key.public_key
    );

    // Forgetting the session (unlink) leaves nothing.
    ours.put_session(PEER, b"session").await.unwrap();
    assert!(restarted.clear().await.unwrap() >= 2);
    assert!(!DeviceStore::exists(&ours).await.unwrap());
    assert_eq!(ours.get_session(PEER).await.unwrap(), None);
}

#[tokio::test]
async fn another_workspace_neither_reads_nor_writes_a_session_and_nothing_is_in_the_clear() {
    let (app, ours, theirs, channel) = two_workspaces().await;
    ours.create().await.unwrap();
    let device = ours.load().await.unwrap().expect("device");
    ours.put_identity(PEER, [0x5a; 32]).await.unwrap();
    ours.put_session(PEER, b"SECRET-SESSION-RECORD")
        .await
        .unwrap();

    // Their own session is empty.
    assert!(!DeviceStore::exists(&theirs).await.unwrap());
    assert_eq!(theirs.get_session(PEER).await.unwrap(), None);
    // Pointed at our channel from their workspace: row-level security
    // hides our rows, and a write is refused (the channel is not theirs).
    let globex = app.org_id("Globex").await;
    let intruder = store(&app, globex, channel);
    assert!(!DeviceStore::exists(&intruder).await.unwrap());
    assert_eq!(intruder.get_session(PEER).await.unwrap(), None);
    assert_eq!(intruder.load_identity(PEER).await.unwrap(), None);
    assert!(intruder.put_session(PEER, b"forged").await.is_err());
    assert_eq!(intruder.clear().await.unwrap(), 0);
    assert_eq!(
        ours.get_session(PEER).await.unwrap().as_deref(),
        Some(&b"SECRET-SESSION-RECORD"[..])
    );

    // The raw table: no session record, identity or private key in it.
    let values: Vec<Vec<u8>> = sqlx::query_scalar("select value from whatsapp_web_state")
        .fetch_all(&mut app.admin_conn().await)
        .await
        .unwrap();
    assert!(values.len() >= 3);
    let contains = |needle: &[u8]| {
        values
            .iter()
            .any(|v| v.windows(needle.len()).any(|w| w == needle))
    };
    assert!(!contains(b"SECRET-SESSION-RECORD"));
    assert!(!contains(&[0x5a; 32]));
    assert!(!contains(
        &device.identity_key.private_key.serialize()[..16]
    ));
    assert!(!contains(&device.noise_key.private_key.serialize()[..16]));
    assert!(
        !contains(b"registration_id"),
        "not even the device's field names"
    );
}

#[tokio::test]
async fn the_protocol_library_keeps_its_new_device_in_the_postgres_store() {
    use wacrm::channels::whatsapp_web::link::{Connector, Start};
    let (app, ours, _, channel) = two_workspaces().await;
    let (events, _received) = tokio::sync::mpsc::unbounded_channel();
    let org = app.org_id("Acme").await;
    // The real client: it creates its device through our store, then tries
    // WhatsApp's servers (unreachable here) until stopped.
    let session = wacrm::channels::whatsapp_web::client::WhatsappRust
        .start(Start {
            org_id: org,
            channel_id: channel,
            store: ours.clone(),
            events,
            inbox: std::sync::Arc::new(wacrm::channels::whatsapp_web::events::WorkspaceInbox {
                env: app.state.env(),
                org_id: org,
                channel_id: channel,
            }),
            pair_phone: None,
            history_days: 0,
        })
        .await
        .expect("the client starts over our store");
    assert!(
        DeviceStore::exists(&ours).await.unwrap(),
        "its device is stored"
    );
    let device = ours.load().await.unwrap().expect("loads");
    assert!(device.pn.is_none(), "not linked to a phone yet");
    assert_ne!(device.registration_id, 0);
    tokio::time::timeout(std::time::Duration::from_secs(20), session.stop())
        .await
        .expect("stops");
    // Started again over the same store: the same device, not a new one.
    let (events, _received) = tokio::sync::mpsc::unbounded_channel();
    let again = wacrm::channels::whatsapp_web::client::WhatsappRust
        .start(Start {
            org_id: org,
            channel_id: channel,
            store: ours.clone(),
            events,
            inbox: std::sync::Arc::new(wacrm::channels::whatsapp_web::events::WorkspaceInbox {
                env: app.state.env(),
                org_id: org,
                channel_id: channel,
            }),
            pair_phone: None,
            history_days: 0,
        })
        .await
        .expect("starts again");
    assert_eq!(
        ours.load()
            .await
            .unwrap()
            .expect("kept")
            .identity_key
            .public_key,
        device.identity_key.public_key
    );
    tokio::time::timeout(std::time::Duration::from_secs(20), again.stop())
        .await
        .expect("stops");
}

#[tokio::test]
async fn a_lost_secret_key_fails_the_sessions_identity_instead_of_making_a_new_device() {
    let (app, ours, _, channel) = two_workspaces().await;
    let org = app.org_id("Acme").await;
    ours.save(&wacrm_device()).await.unwrap();
    ours.put_identity(PEER, [9u8; 32]).await.unwrap();
    ours.put_session(PEER_DEVICE, b"SESSION").await.unwrap();
    // The same rows read with another WACRM_SECRET_KEY (the operator lost
    // or changed it).
    use base64::Engine;
    let other_key = base64::engine::general_purpose::STANDARD.encode([0x42u8; 32]);
    let wrong = SessionStore::new(
        app.state.pool.clone(),
        Arc::new(wacrm::infra::secrets::SecretBox::from_config(&other_key).unwrap()),
        org,
        channel,
    );
    assert!(
        DeviceStore::load(&wrong).await.is_err(),
        "the device is an error, not absent (absent would link a new device)"
    );
    assert!(
        wrong.load_identity(PEER).await.is_err(),
        "a trusted identity is an error"
    );
    assert_eq!(
        wrong.get_session(PEER_DEVICE).await.unwrap(),
        None,
        "a Signal session is renegotiated: absent"
    );
    // With the right key everything reads.
    assert!(DeviceStore::load(&ours).await.unwrap().is_some());
    assert_eq!(ours.load_identity(PEER).await.unwrap(), Some([9u8; 32]));
}

fn wacrm_device() -> whatsapp_rust::wacore::store::Device {
    whatsapp_rust::wacore::store::Device::new()
}

#[tokio::test]
async fn a_process_that_lost_the_lease_cannot_overwrite_the_new_owners_state() {
    let (app, ours, _, channel) = two_workspaces().await;
    let org = app.org_id("Acme").await;
    let (old, new) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let lease = |owner: uuid::Uuid| {
        let pool = app.admin.clone();
        async move {
            sqlx::query(
                "insert into whatsapp_web_leases (channel_id, org_id, owner, lease_until) \
                 values ($1, $2, $3, now() + interval '1 minute') \
                 on conflict (channel_id) do update set owner = excluded.owner, \
                 lease_until = excluded.lease_until",
            )
            .bind(channel)
            .bind(org)
            .bind(owner)
            .execute(&mut sqlx::PgConnection::connect_with(&pool).await.unwrap())
            .await
            .unwrap();
        }
    };
    use sqlx::Connection;
    lease(old).await;
    let stale = ours.clone().fenced_by(old);
    stale.put_session(PEER, b"OLD").await.unwrap();
    // Another process claimed the session meanwhile.
    lease(new).await;
    let current = ours.clone().fenced_by(new);
    current.put_session(PEER, b"NEW").await.unwrap();
    assert!(
        stale.put_session(PEER, b"STALE").await.is_err(),
        "the stale holder's write fails"
    );
    assert!(
        stale.get_session(PEER).await.is_err(),
        "and so do its reads"
    );
    assert_eq!(
        current.get_session(PEER).await.unwrap().as_deref(),
        Some(&b"NEW"[..]),
        "the new owner's state stands"
    );
    // A lapsed lease fences its holder too.
    sqlx::query("update whatsapp_web_leases set lease_until = now() - interval '1 second'")
        .execute(&mut app.admin_conn().await)
        .await
        .unwrap();
    assert!(current.put_session(PEER, b"LATE").await.is_err());
}
