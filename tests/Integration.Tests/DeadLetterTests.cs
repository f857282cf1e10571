using Aetherra.Application.Operations;
using Aetherra.Application.Common;
using Aetherra.Application.Homeostasis;
using Aetherra.Application.Memory;
using Aetherra.Domain.Homeostasis;
using Aetherra.Infrastructure.Crypto;
using Marten;

namespace Aetherra.Integration.Tests;

/// <summary>
/// Issue 13: one event an async projection cannot apply no longer stops it for every tenant. The edge refuses
/// such input, so the poison is appended below the API (the use case itself, as a bug or an older version
/// could): the daemon dead-letters it, recall keeps answering, and the operator sees and resolves it.
/// </summary>
public sealed class DeadLetterTests(AetherraFixture fx)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private async Task<HttpClient> OperatorAsync()
    {
        var keys = fx.Host.Services.GetRequiredService<Aetherra.Infrastructure.Keys.ApiKeyStore>();
        return fx.Client((await keys.CreateAsync("test-operator", "default", ["operator"], CancellationToken.None)).Secret);
    }

    /// <summary>A memory whose sealed content opens to text with a NUL: storable sealed, not in recall's text columns.</summary>
    private async Task<long> AppendPoisonAsync(string tenant)
    {
        var services = fx.Host.Services;
        var recorded = await RecordMemoryHandler.Handle(
            new RecordMemory("poison \0 pill", "victim", "assistant", null, "fact", [], null, null, null, null, null),
            new CommandContext("test", tenant, Guid.CreateVersion7(), MemoryActions.Record),
            services.GetRequiredService<IDocumentStore>(), services.GetRequiredService<SubjectKeyStore>(), TimeProvider.System,
            CancellationToken.None);
        return recorded.Sequence;
    }

    private static async Task<JsonElement?> DeadLetterOfAsync(HttpClient op, string tenant)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (true)
        {
            var response = await op.GetAsync("/admin/projections/dead-letters");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var found = (await response.Json()).EnumerateArray().Where(d => d.GetProperty("tenant").GetString() == tenant).ToList();
            if (found.Count > 0 || DateTimeOffset.UtcNow > deadline) return found.Count > 0 ? found[0] : null;
            // The daemon writes a dead letter in the background, just after it moves past the event.
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task a_poison_event_is_dead_lettered_recall_keeps_answering_and_the_operator_sees_and_skips_it()
    {
        var poisoned = await fx.NewTenantAsync();
        var other = fx.Client((await fx.NewTenantAsync()).Key);
        var op = await OperatorAsync();

        // The sequence of the command's last event (its audit record): the memory's event is just below.
        var poison = await AppendPoisonAsync(poisoned.Tenant);
        var (_, after) = await other.RecordAsync(Api.Memory("Uma keeps bees", subject: "uma"));

        // Past the poison: the projection went on, for the other tenant and for the poisoned one.
        Assert.True(after > poison);
        Assert.Contains(await other.RecallAsync(new { query = "bees", minSequence = after }),
            r => r.GetProperty("content").GetString() == "Uma keeps bees");
        var mine = fx.Client(poisoned.Key);
        var (_, later) = await mine.RecordAsync(Api.Memory("Vera keeps goats", subject: "vera"));
        Assert.Single(await mine.RecallAsync(new { query = "goats", minSequence = later }));

        var dead = await DeadLetterOfAsync(op, poisoned.Tenant);
        Assert.NotNull(dead);
        var id = dead.Value.GetProperty("id").GetGuid();
        var sequence = dead.Value.GetProperty("sequence").GetInt64();
        Assert.True(sequence < poison);
        Assert.Equal("RecallEntry", dead.Value.GetProperty("projection").GetString());
        Assert.Equal(poisoned.Tenant, dead.Value.GetProperty("tenant").GetString());
        Assert.Contains("cannot store", dead.Value.GetProperty("error").GetString());

        // Announced as an event of its own, naming projection, sequence and error.
        await using (var db = fx.OpenDatabase())
        {
            await using var cmd = new Npgsql.NpgsqlCommand(
                "select data from aetherra.mt_events where type = 'projection.event-skipped.v1' and (data->>'sequence')::bigint = $1", db);
            cmd.Parameters.Add(new() { Value = sequence });
            var data = JsonDocument.Parse((string)(await cmd.ExecuteScalarAsync())!).RootElement;
            Assert.Equal("RecallEntry", data.GetProperty("projection").GetString());
            Assert.Contains("cannot store", data.GetProperty("error").GetString());
        }

        // A vital homeostasis judges: any pending dead letter is outside its setpoint.
        var sampler = fx.Host.Services.GetRequiredService<VitalsSampler>();
        var tuning = fx.Host.Services.GetRequiredService<HomeostasisSettings>().Tuning;
        var sampled = Assert.Single((await sampler.SampleOnceAsync(CancellationToken.None)).OfType<VitalsSampled>());
        Assert.True(sampled.Values[Vitals.DeadLetters] >= 1);
        // A parallel homeostasis test may move this vital's setpoint for a moment: sample on until it deviates.
        bool Deviating(JsonElement report) => report.GetProperty("vitals").EnumerateArray()
            .Any(v => v.GetProperty("name").GetString() == Vitals.DeadLetters && v.GetProperty("state").GetString() == "deviating");
        var deviating = false;
        for (var i = 1; i < 4 * tuning.RaiseAfter && !deviating; i++)
        {
            await sampler.SampleOnceAsync(CancellationToken.None);
            deviating = Deviating(await (await fx.Client(fx.AdminKey).GetAsync("/homeostasis")).Json());
        }
        Assert.True(deviating, $"{Vitals.DeadLetters} did not deviate");

        // Retrying an event that still cannot be applied says why and keeps the dead letter.
        var retry = await op.PostAsync($"/admin/projections/dead-letters/{id}/retry", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, retry.StatusCode);
        Assert.Contains("cannot store", await retry.Content.ReadAsStringAsync());
        Assert.NotNull(await DeadLetterOfAsync(op, poisoned.Tenant));

        // Not the tenant administrator's business.
        var tenantAdmin = await fx.NewTenantAsync("admin");
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Client(tenantAdmin.Key).GetAsync("/admin/projections/dead-letters")).StatusCode);

        // What the daemon wrote, to write it again below as a rebuild that replays the event would.
        JasperFx.Events.Daemon.DeadLetterEvent row;
        await using (var query = fx.Host.Services.GetRequiredService<IDocumentStore>().QuerySession())
            row = (await query.LoadAsync<JasperFx.Events.Daemon.DeadLetterEvent>(id))!;

        var skip = await op.PostAsync($"/admin/projections/dead-letters/{id}/skip", null);
        Assert.Equal(HttpStatusCode.OK, skip.StatusCode);
        Assert.Equal("skipped", (await skip.Json()).GetProperty("outcome").GetString());
        var list = await (await op.GetAsync("/admin/projections/dead-letters")).Json();
        Assert.DoesNotContain(list.EnumerateArray(), d => d.GetProperty("id").GetGuid() == id);
        Assert.Equal(HttpStatusCode.NotFound, (await op.PostAsync($"/admin/projections/dead-letters/{id}/skip", null)).StatusCode);

        // A rebuild replays the event and the projection dead-letters it again: the operator already decided, so the
        // new dead letter is announced and closed as skipped at once instead of raising the vital again.
        var again = Guid.CreateVersion7();
        row.Id = again;
        await using (var write = fx.Host.Services.GetRequiredService<IDocumentStore>().LightweightSession())
        {
            write.Store(row);
            await write.SaveChangesAsync();
        }
        list = await (await op.GetAsync("/admin/projections/dead-letters")).Json();
        Assert.DoesNotContain(list.EnumerateArray(), d => d.GetProperty("id").GetGuid() == again);
        await using (var query = fx.Host.Services.GetRequiredService<IDocumentStore>().QuerySession())
        {
            Assert.Null(await query.LoadAsync<JasperFx.Events.Daemon.DeadLetterEvent>(again));
            var stream = await query.Events.FetchStreamAsync(DeadLetters.StreamOf(again));
            Assert.Collection(stream,
                e => Assert.Equal(sequence, Assert.IsType<Aetherra.Domain.Operations.ProjectionEventSkipped>(e.Data).Sequence),
                e => Assert.Equal(sequence, Assert.IsType<Aetherra.Domain.Operations.DeadLetterSkipped>(e.Data).Sequence));
        }
    }
}
