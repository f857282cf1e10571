using Aetherra.Infrastructure.Embeddings;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Aetherra.Application.Recall;

public static class RecallConfiguration
{
    /// <summary>The RecallEntry tables, created with Marten's own schema (before any daemon runs).</summary>
    public static void Configure(StoreOptions opts)
    {
        foreach (var table in RecallSchema.Tables(opts.DatabaseSchemaName)) opts.Storage.ExtendedSchemaObjects.Add(table);
        opts.Events.MapEventType<Domain.Recall.ArchivePolicyApplied>("recall.archive-policy-applied.v1");
        opts.Events.MapEventType<Domain.Recall.MemoryArchived>("memory.archived.v1");
    }

    /// <summary>
    /// RecallEntry in a store built outside the container (an analysis rebuild's): the same projection, with the
    /// host's services, tearing down the tables of that store's schema.
    /// </summary>
    public static void AddRecallProjection(StoreOptions opts, IServiceProvider services)
    {
        var names = RecallSchema.Names.In(opts.DatabaseSchemaName);
        // That store only ever rebuilds: the statistics are counted once at the end (AnalysisRebuild).
        var pages = new RecallPages();
        var projection = ActivatorUtilities.CreateInstance<RecallProjection>(services, pages);
        projection.BeginRebuild();
        opts.Projections.Add(projection, ProjectionLifecycle.Async, RecallProjection.Name, p =>
        {
            // That store only ever rebuilds: its pages are a rebuild's.
            if (!Infrastructure.MeasurementSwitches.RecallRebuildCurrent && !Infrastructure.MeasurementSwitches.RecallRowWrites)
                p.BatchSize = RecallPages.RebuildPage;
            p.DeleteDataInTableOnTeardown(names.Entries);
            p.DeleteDataInTableOnTeardown(names.State);
            p.DeleteDataInTableOnTeardown(names.Terms);
            p.DeleteDataInTableOnTeardown(names.Subjects);
        });
    }

    /// <summary>
    /// RecallEntry is async: embedding is too heavy for the write path. A rebuild starts from empty tables
    /// (the state row goes too, so in-process indexes reload).
    /// </summary>
    public static MartenServiceCollectionExtensions.MartenConfigurationExpression AddRecall(
        this MartenServiceCollectionExtensions.MartenConfigurationExpression marten)
    {
        marten.Services.AddSingleton(_ => new TextEmbedder());
        marten.Services.AddSingleton<RecallIndex>();
        marten.Services.AddSingleton(sp => RecallRankingSettings.From(sp.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()));
        marten.Services.AddSingleton<RecallShadow>();
        marten.Services.AddSingleton<RecallUsage>();
        marten.Services.AddHostedService(sp => sp.GetRequiredService<RecallUsage>());
        marten.Services.AddSingleton<RecallQuery>();
        marten.Services.AddSingleton<ListMemories>();
        marten.Services.AddSingleton<ConsolidateMemories>();
        marten.Services.AddSingleton<ArchiveMemories>();
        marten.Services.AddSingleton<Operations.IBulkRebuild>(sp => sp.GetRequiredService<RecallProjection>());
        var pages = new RecallPages();
        marten.Services.AddSingleton(pages);
        return marten.AddProjectionWithServices<RecallProjection>(ProjectionLifecycle.Async, ServiceLifetime.Singleton, p =>
        {
            p.Name = RecallProjection.Name;
            pages.Options = p.Options;
            // Only the memory events it handles are loaded (filtered in SQL by the daemon), not every audit record, task
            // or decision of the log; AETHERRA_RECALL_WRITES=rows loads them all, as before.
            if (!Infrastructure.MeasurementSwitches.RecallRowWrites)
                foreach (var type in RecallProjection.HandledTypes) p.IncludeType(type);
            p.Options.DeleteDataInTableOnTeardown(RecallSchema.Entries);
            p.Options.DeleteDataInTableOnTeardown(RecallSchema.State);
            p.Options.DeleteDataInTableOnTeardown(RecallSchema.Terms);
            p.Options.DeleteDataInTableOnTeardown(RecallSchema.Subjects);
        });
    }
}
