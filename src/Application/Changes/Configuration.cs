using Aetherra.Domain.Changes;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;

namespace Aetherra.Application.Changes;

public static class ChangeActions
{
    public const string Propose = "change.propose";
    public const string RecordStage = "change.record-stage";
    public const string Ship = "change.ship";
    public const string Rollback = "change.rollback";
}

public static class ChangeLimits
{
    public const int MaxTitleLength = 500;
    public const int MaxRepositoryLength = 1_000;
    public const int MaxRevisionLength = 200;
    public const int MaxPatchLength = 2 * 1024 * 1024;
    public const int MaxPlanLength = 64 * 1024;
    public const int MaxEvidenceLength = 256 * 1024;
    public const int MaxReasonLength = 2_000;
    public const int MaxPage = 200;
    public const int DefaultPage = 50;
}

public static class ChangeConfiguration
{
    public static void Configure(StoreOptions opts)
    {
        opts.Events.MapEventType<ChangeProposed>("change.proposed.v1");
        opts.Events.MapEventType<StageRecorded>("change.stage-recorded.v1");
        opts.Events.MapEventType<StageRevoked>("change.stage-revoked.v1");
        opts.Events.MapEventType<ChangeShipped>("change.shipped.v1");
        opts.Events.MapEventType<ChangeRolledBack>("change.rolled-back.v1");
        // Inline: stages, ship and a key's revocation decide on the change's state.
        opts.Projections.Add(new ChangeProjection(), ProjectionLifecycle.Inline);
        opts.Schema.For<Change>().Index(x => x.Agent).Index(x => x.Status).Index(x => x.Sequence);
    }
}

public sealed partial class ChangeProjection : SingleStreamProjection<Change, Guid>
{
    // The proposal's global sequence orders GET /changes and is its page cursor.
    public static Change Create(IEvent<ChangeProposed> e) => Change.Create(e.Data) with { Sequence = e.Sequence };
    public static Change Apply(StageRecorded e, Change c) => c.Apply(e);
    public static Change Apply(StageRevoked e, Change c) => c.Apply(e);
    public static Change Apply(ChangeShipped e, Change c) => c.Apply(e);
    public static Change Apply(ChangeRolledBack e, Change c) => c.Apply(e);
}
