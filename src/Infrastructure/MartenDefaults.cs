using JasperFx;
using JasperFx.Events;
using Marten;
using JasperFx.MultiTenancy;
using Npgsql;
using Weasel.Core;

namespace Aetherra.Infrastructure;

/// <summary>
/// The feature-blind base of the event store: connection, schema, serialisation, tenancy and metadata.
/// Features add their event names and projections on top (their Configuration.cs).
/// </summary>
public static class MartenDefaults
{
    /// <param name="schema">The live schema, or an analysis rebuild's: documents and events both live there.</param>
    public static void Apply(StoreOptions opts, NpgsqlDataSource dataSource, string schema = AetherraSettings.Schema)
    {
        opts.Connection(dataSource);
        opts.DatabaseSchemaName = schema;
        opts.Events.DatabaseSchemaName = schema;
        opts.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase);

        // Conjoined tenancy: every stream, event and document carries its tenant, and every session is
        // opened for one tenant, so no query can see another tenant's rows.
        opts.Events.TenancyStyle = TenancyStyle.Conjoined;
        opts.Policies.AllDocumentsAreMultiTenanted();
        opts.Events.StreamIdentity = StreamIdentity.AsGuid;

        // Rich appends assign global sequences before commit, so a write can answer with its sequence and
        // inline projections can record it.
        opts.Events.AppendMode = EventAppendMode.Rich;
        opts.Events.MetadataConfig.UserNameEnabled = true;
        opts.Events.MetadataConfig.CorrelationIdEnabled = true;

        // An event a projection cannot apply is dead-lettered and skipped, so one bad event (of one tenant) does
        // not stop a read model for everyone; the skip is never silent: Application/Operations/DeadLetters.cs
        // announces each dead letter with an event and a warning, homeostasis watches their count, and the
        // operator retries or skips each one (docs/operations.md, "Dead letters"). A rebuild skips the same way.
        opts.Projections.Errors.SkipApplyErrors = true;
        opts.Projections.Errors.SkipSerializationErrors = true;
        opts.Projections.RebuildErrors.SkipApplyErrors = true;
        opts.Projections.RebuildErrors.SkipSerializationErrors = true;

        // The daemon looks for new committed events every 100 ms while they arrive and every 250 ms when idle
        // (Marten's defaults: 250 ms and 1 s). The live feed, the async read models and minSequence waits
        // all follow this mark, so it sets their latency (at Marten's defaults the feed's median lag was about
        // 0.6 s, docs/benchmarks.md "Operations"); the query is one cheap look at the log's tail.
        // AETHERRA_DAEMON_POLL_MS sets the fast interval for a measurement (each poll that finds new events runs
        // every async projection's batch: its load, its progress update and its commit; docs/benchmarks.md).
        var fast = MeasurementSwitches.DaemonPollMs;
        opts.Projections.FastPollingTime = TimeSpan.FromMilliseconds(fast);
        opts.Projections.SlowPollingTime = TimeSpan.FromMilliseconds(Math.Max(fast, 250));

        // Events appended (counter marten.event.append, by type and tenant) and the daemon's own metrics, for /metrics.
        opts.OpenTelemetry.TrackEventCounters();
        opts.OpenTelemetry.TrackConnections = JasperFx.OpenTelemetry.TrackLevel.Normal;

        opts.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
    }
}
