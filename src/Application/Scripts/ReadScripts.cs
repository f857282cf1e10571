using Aetherra.Application.Common;
using Aetherra.Domain.Scripts;
using Marten;

namespace Aetherra.Application.Scripts;

public sealed record ScriptView(Guid Id, string Name, int Version, string PublisherKeyId, string RunAs, IReadOnlyList<string> Schedules,
    IReadOnlyList<string> Events, DateTimeOffset PublishedAt, string Source, string Status, DateTimeOffset? RetiredAt);

public sealed record RunStepView(int N, string Command, int Line, int Column, string Outcome, int Status, string? Detail, Guid RequestId, DateTimeOffset At);

public sealed record RunView(Guid RunId, Guid ScriptId, string Name, int Version, string Trigger, string Status, IReadOnlyList<RunStepView> Steps,
    System.Text.Json.JsonElement? Output, string? Error, bool BudgetExhausted, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt);

public static class ReadScripts
{
    public static async Task<ScriptView> Get(string tenant, Guid id, IDocumentStore store, CancellationToken ct)
    {
        await using var query = store.QuerySession(tenant);
        var s = await query.LoadAsync<Script>(id, ct) ?? throw new NotFound("script");
        return new ScriptView(s.Id, s.Name, s.Version, s.PublisherKeyId, s.RunAs, s.Schedules, s.EventTriggers, s.PublishedAt, s.Source,
            s.Retired ? "retired" : "live", s.RetiredAt);
    }

    public static async Task<RunView> Run(string tenant, Guid runId, IDocumentStore store, CancellationToken ct)
    {
        await using var query = store.QuerySession(tenant);
        return View(await query.LoadAsync<ScriptRun>(runId, ct) ?? throw new NotFound("run"));
    }

    private static RunView View(ScriptRun r) =>
        new RunView(r.Id, r.ScriptId, r.Name, r.Version, r.Trigger, r.Status.ToString().ToLowerInvariant(),
            r.Steps.Select(s => new RunStepView(s.N, s.Command, s.Line, s.Column, s.Outcome, s.Status, s.Detail, s.RequestId, s.At)).ToList(),
            r.Output is null ? null : System.Text.Json.JsonDocument.Parse(r.Output).RootElement.Clone(), r.Error, r.BudgetExhausted, r.StartedAt, r.FinishedAt);

    public static async Task<IReadOnlyList<RunView>> Runs(string tenant, Guid scriptId, IDocumentStore store, CancellationToken ct)
    {
        await using var query = store.QuerySession(tenant);
        _ = await query.LoadAsync<Script>(scriptId, ct) ?? throw new NotFound("script");
        var runs = await query.Query<ScriptRun>().Where(r => r.ScriptId == scriptId).OrderByDescending(r => r.StartedAt).Take(50).ToListAsync(ct);
        return runs.Select(View).ToList();
    }
}
