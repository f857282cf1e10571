using Aetherra.Domain.Scripts;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Aetherra.Application.Scripts;

public static class ScriptConfiguration
{
    /// <summary>The durable local queue every run goes through: runs survive a restart, and at most a few run at once.</summary>
    public const string Queue = "scripts";

    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<ScriptPublished>("script.published.v1");
        opts.Events.MapEventType<ScriptRetired>("script.retired.v1");
        opts.Events.MapEventType<ScriptRunStarted>("script.run-started.v1");
        opts.Events.MapEventType<ScriptStepCompleted>("script.step-completed.v1");
        opts.Events.MapEventType<ScriptRunCompleted>("script.run-completed.v1");
        opts.Events.MapEventType<ScriptRunFailed>("script.run-failed.v1");
        // Inline: a run starts from the script's latest version, and GET /scripts/runs/{id} reads a run as it goes.
        opts.Projections.Add(new ScriptProjection(), ProjectionLifecycle.Inline);
        opts.Projections.Add(new ScriptRunProjection(), ProjectionLifecycle.Inline);
    }

    public static MartenServiceCollectionExtensions.MartenConfigurationExpression AddScripts(
        this MartenServiceCollectionExtensions.MartenConfigurationExpression marten)
    {
        marten.Services.AddSingleton<ScriptScheduler>();
        marten.Services.AddSingleton<ScriptRuns>();
        return marten.AddSubscriptionWithServices<ScriptTriggers>(ServiceLifetime.Singleton, o =>
        {
            o.Name = ScriptTriggers.SubscriptionName;
            // Scripts published now react to events from now on, not to the whole history.
            o.Options.SubscribeFromPresent();
        });
    }

    public static void ConfigureWolverine(WolverineOptions opts)
    {
        opts.Discovery.IncludeType(typeof(ScriptMessageHandler));
        opts.LocalQueue(Queue).UseDurableInbox().MaximumParallelMessages(4);
        opts.PublishMessage<ExecuteScriptRun>().ToLocalQueue(Queue);
        opts.PublishMessage<ScriptDue>().ToLocalQueue(Queue);
        opts.PublishMessage<ScriptTriggered>().ToLocalQueue(Queue);
    }
}

public sealed partial class ScriptProjection : SingleStreamProjection<Script, Guid>
{
    public static Script Create(ScriptPublished e) => Script.Create(e);
    public static Script Apply(ScriptPublished e, Script s) => s.Apply(e);
    public static Script Apply(ScriptRetired e, Script s) => s.Apply(e);
}

public sealed partial class ScriptRunProjection : SingleStreamProjection<ScriptRun, Guid>
{
    public static ScriptRun Create(ScriptRunStarted e) => ScriptRun.Create(e);
    public static ScriptRun Apply(ScriptStepCompleted e, ScriptRun r) => r.Apply(e);
    public static ScriptRun Apply(ScriptRunCompleted e, ScriptRun r) => r.Apply(e);
    public static ScriptRun Apply(ScriptRunFailed e, ScriptRun r) => r.Apply(e);
}
