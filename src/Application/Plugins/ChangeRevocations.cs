using Aetherra.Domain.Changes;
using Marten;

namespace Aetherra.Application.Plugins;

/// <summary>
/// A runner key's revocation reaches the changes it vouched for: in the revoking transaction, every change not yet
/// shipped loses the stages that key signed (StageRevoked), so no change ships on a verdict nobody vouches for any
/// more. The ship gates check each key's trust again at ship time as well.
/// </summary>
public static class ChangeRevocations
{
    public static async Task<int> RevokeRunnerAsync(IDocumentSession session, string keyId, string reason, DateTimeOffset now, CancellationToken ct)
    {
        var proposed = await session.Query<Change>().Where(c => c.Status == ChangeStatus.Proposed).ToListAsync(ct);
        var touched = 0;
        foreach (var change in proposed.Where(c => c.RunnerKeyIds.Contains(keyId)))
        {
            var stream = await session.Events.FetchForWriting<Change>(change.Id, change.Version, ct);
            var revoked = ChangeRules.RevokeRunner(stream.Aggregate!, keyId, $"runner key {keyId} revoked: {reason}", now);
            if (revoked.Count == 0) continue;
            stream.AppendMany(revoked);
            touched++;
        }
        return touched;
    }
}
