//! Fixed-window counters in Postgres, so limits hold across instances.

use sqlx::PgConnection;

/// Count one hit in `bucket`'s current window; returns the hits so far in it
/// and the seconds until the window ends.
pub async fn hit(
    conn: &mut PgConnection,
    bucket: &str,
    window_secs: i64,
) -> sqlx::Result<(i32, i64)> {
    // `$2::float8`: the window length as a float, as it was bound before
    // the query was checked at compile time (else Postgres would infer
    // numeric from the division).
    let row = sqlx::query!(
        r#"with w as (select to_timestamp(floor(extract(epoch from now()) / $2::float8) * $2::float8)
             as start)
           insert into rate_limit_hits (bucket, window_start, hits)
           select $1, w.start, 1 from w
           on conflict (bucket, window_start) do update set hits = rate_limit_hits.hits + 1
           returning hits,
             extract(epoch from (window_start + make_interval(secs => $2::float8) - now()))::float8
             as "remaining!""#,
        bucket,
        window_secs as f64
    )
    .fetch_one(conn)
    .await?;
    Ok((row.hits, row.remaining.ceil().max(1.0) as i64))
}

/// Drop windows that ended more than a day ago.
pub async fn delete_old(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let done =
        sqlx::query!("delete from rate_limit_hits where window_start < now() - interval '1 day'")
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}
