using Aetherra.Infrastructure.AuditLog;

namespace Aetherra.Integration.Tests.Operations;

/// <summary>
/// `aetherra events export`: the log as JSON Lines whose leaves, recomputed from the lines alone, give the root the
/// signed trailer names, signed by the audit log's own key; a changed line no longer does.
/// </summary>
public sealed class EventsExportTests(AetherraFixture fx)
{
    [Fact]
    public async Task an_exported_log_recomputes_to_the_signed_root_of_its_trailer()
    {
        var ct = TestContext.Current.CancellationToken;
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, last) = await client.RecordAsync(Api.Memory("Sol repairs bicycles on Saturdays", subject: "sol"));
        await client.RecallAsync(new { query = "bicycles", minSequence = last });
        await fx.WaitForProjectionAsync(Aetherra.Application.Audit.Log.AuditLogProjection.Name, last);

        var file = Path.Combine(Directory.CreateTempSubdirectory("aetherra-events-").FullName, "events.jsonl");
        var export = await OpsScripts.RunAsync("dotnet", [AetherraFixture.ApiDll(), "events", "export", "--to", file],
            new Dictionary<string, string?> { ["AETHERRA_DB"] = fx.ConnectionString }, ct);
        Assert.True(export.ExitCode == 0, export.ToString());

        var lines = await File.ReadAllLinesAsync(file, ct);
        var trailer = JsonDocument.Parse(lines[^1]).RootElement.GetProperty("trailer");
        var events = lines[..^1].Select(l => JsonDocument.Parse(l).RootElement).Select(e => new StoredEvent(
            e.GetProperty("sequence").GetInt64(), e.GetProperty("streamId").GetGuid(), e.GetProperty("version").GetInt64(),
            e.GetProperty("type").GetString()!, e.GetProperty("timestampMicros").GetInt64(), e.GetProperty("tenant").GetString()!,
            e.GetProperty("data").GetString()!)).ToList();
        Assert.Equal(trailer.GetProperty("count").GetInt64(), events.Count);
        Assert.True(events[^1].Sequence >= last);
        Assert.Equal(trailer.GetProperty("lastSequence").GetInt64(), events[^1].Sequence);

        var frontier = new MerkleFrontier();
        foreach (var e in events) frontier.Append(AuditLeafHasher.Hash(e));
        Assert.Equal(trailer.GetProperty("treeSize").GetInt64(), frontier.Size);
        Assert.Equal(trailer.GetProperty("rootHash").GetString(), Convert.ToBase64String(frontier.Root()));

        // The trailer's checkpoint is signed by the log's key, the one GET /audit/public-key publishes.
        var published = await (await client.GetAsync("/audit/public-key", ct)).Json();
        var key = Convert.FromBase64String(published.GetProperty("publicKey").GetString()!);
        var checkpoint = CheckpointNote.Open(trailer.GetProperty("checkpoint").GetString()!, published.GetProperty("origin").GetString()!, key);
        Assert.NotNull(checkpoint);
        Assert.Equal(frontier.Root(), checkpoint.RootHash);
        Assert.Equal(frontier.Size, checkpoint.TreeSize);

        // One changed event no longer leads to that root.
        var tampered = new MerkleFrontier();
        foreach (var e in events) tampered.Append(AuditLeafHasher.Hash(e.Sequence == last ? e with { Data = e.Data + " " } : e));
        Assert.NotEqual(checkpoint.RootHash, tampered.Root());
    }
}
