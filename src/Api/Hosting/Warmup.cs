using Aetherra.Application.Audit;
using Aetherra.Application.Common;
using Aetherra.Infrastructure.Crypto;
using Marten;
using MemoryState = Aetherra.Domain.Memory.Memory;

namespace Aetherra.Api.Hosting;

/// <summary>
/// Runs the read paths once before the server listens (on a tenant no key can have), so the first client
/// request does not pay for query planning, serialiser set-up and crypto initialisation.
/// </summary>
public static class Warmup
{
    private const string Tenant = "__warmup";

    public static async Task RunAsync(IDocumentStore store, CancellationToken ct)
    {
        using var key = new DataKey(Guid.Empty, DataKey.NewMaterial());
        var hash = MemoryContent.Hash(key, "warm-up", "subject", "agent");
        MemoryContent.Open(new Dictionary<Guid, DataKey> { [key.Id] = key }, Tenant, Guid.Empty,
            MemoryContent.Seal(key, Tenant, Guid.Empty, "warm-up"));

        await using var session = store.QuerySession(Tenant);
        string?[] hashes = [hash];
        await session.Query<MemoryState>().Where(m => hashes.Contains(m.DedupKey))
            .Select(m => new { m.Id, m.ContentHash, m.Version }).ToListAsync(ct);
        await session.LoadAsync<MemoryState>(Guid.Empty, ct);
        await session.Query<AuditEntry>().Where(x => x.Sequence > 0).OrderBy(x => x.Sequence).Take(1).ToListAsync(ct);
        await session.Events.FetchStreamAsync(Guid.Empty, token: ct);
    }
}
