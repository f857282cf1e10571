using System.Security.Cryptography;
using System.Text;
using Aetherra.Application.Common;
using Aetherra.Domain.Homeostasis;
using FluentValidation;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;

namespace Aetherra.Application.Homeostasis;

public sealed record ChangeSetpoint(double? Min, double? Max);

public sealed record ChangeSetpointResult(string Vital, double? Min, double? Max, long Sequence);

public sealed class ChangeSetpointValidator : AbstractValidator<ChangeSetpoint>
{
    public ChangeSetpointValidator()
    {
        RuleFor(x => x.Max).GreaterThanOrEqualTo(x => x.Min!.Value).When(x => x.Min is not null && x.Max is not null)
            .WithMessage("'Max' must not be below 'Min'.");
    }
}

public static class ChangeSetpointHandler
{
    public const string Action = "homeostasis.setpoint";

    /// <summary>Every setpoint change is in one stream: the history of how the system was told to judge itself.</summary>
    public static readonly Guid Stream = new(MD5.HashData(Encoding.UTF8.GetBytes("homeostasis/setpoints")));

    /// <summary>The vitals a node samples: the fixed ones and one lag per async projection.</summary>
    public static bool IsKnownVital(string vital, IDocumentStore store) =>
        Vitals.IsKnown(vital, ((DocumentStore)store).Options.Projections.All
            .Where(p => p.Lifecycle == ProjectionLifecycle.Async).Select(p => p.Name));

    /// <summary>
    /// The change goes into the system's homeostasis stream; its audit record into the admin's own tenant,
    /// in the same transaction. Changes are taken one at a time (a transaction lock): every change appends to
    /// the one setpoints stream and rewrites the one setpoints document, and two at once would either collide
    /// on the stream's version or each write the document without the other's vital.
    /// </summary>
    public static async Task<ChangeSetpointResult> Handle(
        string vital, ChangeSetpoint body, CommandContext command, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var changed = HomeostasisDecisions.ChangeSetpoint(vital, new Setpoint(body.Min, body.Max), now);
        await using var session = store.OpenFor(command);
        var connection = await session.BeginAsync(ct);
        await using (var serialise = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('aetherra.homeostasis.setpoints'))", connection))
            await serialise.ExecuteNonQueryAsync(ct);
        session.ForTenant(HomeostasisConfiguration.Tenant).Events.Append(Stream, changed);
        var sequence = await session.CommitAsync(command, vital, Outcome.Done, now, ct);
        return new ChangeSetpointResult(vital, body.Min, body.Max, sequence);
    }
}
