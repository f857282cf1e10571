using Npgsql;

namespace Aetherra.Infrastructure.Database;

/// <summary>
/// The tables that are not Marten's: keys, idempotency records, jobs and the cluster's members. Idempotent DDL, applied at start-up
/// beside Marten's own schema migration.
/// </summary>
public static class DatabaseBootstrap
{
    private const string S = AetherraSettings.Schema;

    /// <summary>
    /// What every database that holds tenants needs beside Marten's schema: the subject keys, which live beside
    /// the events they protect (a tenant group's database gets only these; docs/scaling.md).
    /// </summary>
    public const string TenantDdl = $"""
        create schema if not exists {S};
        create table if not exists {S}.subject_keys (
            tenant_id   text        not null,
            subject     text        not null,
            key_id      uuid        not null unique,
            wrapped_key bytea       not null,
            created_at  timestamptz not null default now(),
            primary key (tenant_id, subject));
        """;

    /// <summary>The home database: the tenant tables (for the tenants it holds) and the installation's own.</summary>
    public const string Ddl = TenantDdl + $"""
        create table if not exists {S}.api_keys (
            id          uuid        primary key,
            hash        bytea       not null unique,
            name        text        not null,
            tenant_id   text        not null,
            scopes      text[]      not null,
            created_at  timestamptz not null,
            revoked_at  timestamptz);
        alter table {S}.api_keys add column if not exists rate_permits double precision, add column if not exists rate_burst int;
        create table if not exists {S}.idempotency (
            tenant_id    text        not null,
            key          text        not null,
            request_hash bytea       not null,
            status       int,
            content_type text,
            body         bytea,
            created_at   timestamptz not null,
            primary key (tenant_id, key));
        create table if not exists {S}.jobs (
            id          uuid        primary key,
            tenant_id   text        not null,
            kind        text        not null,
            node        text        not null,
            status      text        not null,
            processed   bigint      not null default 0,
            total       bigint,
            started_at  timestamptz not null,
            finished_at timestamptz,
            error       text,
            result      jsonb);
        create table if not exists {S}.cluster_members (
            node_id     uuid        primary key,
            name        text        not null,
            urls        text,
            pid         int         not null,
            version     text        not null,
            started_at  timestamptz not null);
        """;

    public static async Task ApplyAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(Ddl);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The home database's tables, and the tenant tables in every tenant group's database.</summary>
    public static async Task ApplyAsync(TenantDatabases databases, CancellationToken ct)
    {
        await ApplyAsync(databases.Home.DataSource, ct);
        foreach (var group in databases.All.Where(d => !d.IsHome))
        {
            await using var cmd = group.DataSource.CreateCommand(TenantDdl);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Readiness of every database: the home one's schema, and each tenant group's events table.</summary>
    public static async Task<bool> IsReadyAsync(TenantDatabases databases, CancellationToken ct)
    {
        if (!await IsReadyAsync(databases.Home.DataSource, ct)) return false;
        foreach (var group in databases.All.Where(d => !d.IsHome))
        {
            await using var cmd = group.DataSource.CreateCommand($"select to_regclass('{S}.mt_events') is not null");
            if (!(bool)(await cmd.ExecuteScalarAsync(ct))!) return false;
        }
        return true;
    }

    /// <summary>True when the store answers and its schema is in place (readiness).</summary>
    public static async Task<bool> IsReadyAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"select to_regclass('{S}.mt_events') is not null and to_regclass('{S}.api_keys') is not null");
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
