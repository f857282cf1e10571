using Aetherra.Application.Common;
using Aetherra.Domain.Memory;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Integration.Tests;

/// <summary>The one conflict policy (Application/Common/ConflictPolicy.cs), both branches, on real conflicts in PostgreSQL.</summary>
public sealed class ConflictPolicyTests(AetherraFixture fx)
{
    [Fact]
    public async Task a_client_s_stale_expected_version_is_answered_409_with_the_current_version_and_nothing_is_written()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Ada keeps bees"));
        Assert.Equal(HttpStatusCode.OK, (await client.ReviseAsync(id, "Ada keeps bees and goats", expectedVersion: 1)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync($"/memories/{id}/reinforce", new { weight = 1 })).StatusCode);

        var problem = await (await client.ReviseAsync(id, "Ada keeps goats", expectedVersion: 2)).AssertProblem(HttpStatusCode.Conflict);

        Assert.Equal(3, problem.GetProperty("currentVersion").GetInt64());
        Assert.Equal(3, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task where_the_server_owns_the_ordering_a_conflict_is_read_again_and_lands()
    {
        var (store, tenant, id) = await MemoryAsync("Bo rides a tandem");
        var attempts = 0;

        var version = await ConflictPolicy.RetryAsync(() => ReinforceRacingAsync(store, tenant, id, race: ++attempts == 1));

        Assert.Equal(2, attempts);
        Assert.Equal(3, version);
        Assert.Equal(3, await fx.CountStreamEventsAsync(id));
    }

    [Fact]
    public async Task past_its_bound_the_server_s_retry_answers_the_conflict_at_the_current_version()
    {
        var (store, tenant, id) = await MemoryAsync("Cy collects maps");
        var attempts = 0;

        var e = await Assert.ThrowsAsync<VersionConflict>(() => ConflictPolicy.RetryAsync(
            () => { attempts++; return ReinforceRacingAsync(store, tenant, id, race: true); },
            exhausted: () => ConflictPolicy.CurrentVersionAsync<MemoryState>(store, tenant, id, "memory", m => m.Version, CancellationToken.None)));

        Assert.Equal(ConflictPolicy.Attempts, attempts);
        // Only the racing writers landed: one per attempt, none of the retried command's.
        Assert.Equal(1 + ConflictPolicy.Attempts, e.CurrentVersion);
    }

    [Fact]
    public async Task a_conflict_the_client_branch_answers_is_never_retried()
    {
        var (store, tenant, id) = await MemoryAsync("Di sails on Sundays");
        var attempts = 0;

        await Assert.ThrowsAsync<VersionConflict>(() => ConflictPolicy.AnswerAsync(
            () => { attempts++; return ReinforceRacingAsync(store, tenant, id, race: true); },
            () => ConflictPolicy.CurrentVersionAsync<MemoryState>(store, tenant, id, "memory", m => m.Version, CancellationToken.None)));

        Assert.Equal(1, attempts);
    }

    private async Task<(IDocumentStore Store, string Tenant, Guid Id)> MemoryAsync(string content)
    {
        var key = await fx.NewTenantAsync();
        var (id, _) = await fx.Client(key.Key).RecordAsync(Api.Memory(content));
        return (fx.Host.Services.GetRequiredService<IDocumentStore>(), key.Tenant, id);
    }

    /// <summary>Reads the memory, lets another writer reinforce it first when <paramref name="race"/>, then reinforces it.</summary>
    private static async Task<int> ReinforceRacingAsync(IDocumentStore store, string tenant, Guid id, bool race)
    {
        await using var session = store.LightweightSession(tenant);
        var stream = await session.Events.FetchForWriting<MemoryState>(id);
        if (race)
        {
            await using var other = store.LightweightSession(tenant);
            var theirs = await other.Events.FetchForWriting<MemoryState>(id);
            theirs.AppendOne(MemoryDecisions.Reinforce(theirs.Aggregate!, 1, "the other writer", DateTimeOffset.UtcNow));
            await other.SaveChangesAsync();
        }
        stream.AppendOne(MemoryDecisions.Reinforce(stream.Aggregate!, 1, "this writer", DateTimeOffset.UtcNow));
        await session.SaveChangesAsync();
        return stream.Aggregate!.Version + 1;
    }
}
