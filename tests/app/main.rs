//! Integration tests: the real router over HTTP against real Postgres.
//! One binary, so the whole run shares one private cluster.
// A failed expectation in a test is a test failure: that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod account;
mod ai;
mod api;
mod attributes;
mod audit;
mod auth;
mod automation;
mod bad_input;
mod billing;
mod bookings;
mod bot;
mod browser;
mod campaigns;
mod canned;
mod cloud_templates;
mod companies;
mod contacts;
mod csv_injection;
mod deals;
mod documents;
mod erasure;
mod exports;
mod fake_graph_selftest;
mod foundation;
mod hostile_files;
mod import;
mod inbox;
mod jobs;
mod labels;
mod live;
mod mentions;
mod merge;
mod notes;
mod orders;
mod path_ids;
mod process;
mod products;
mod redirects;
mod reports;
mod retention;
mod roles;
mod scheduled;
mod schema;
mod search;
mod secrets;
mod sessions;
mod settings;
mod slow_clients;
mod static_files;
mod tasks;
mod team;
mod tenancy;
mod tls;
mod two_factor;
mod waha;
mod whatsapp;
mod whatsapp_field;
mod whatsapp_web;
mod whatsapp_web_store;
