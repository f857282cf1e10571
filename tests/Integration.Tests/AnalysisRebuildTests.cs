using Aetherra.Application.Audit.Log;
using Aetherra.Application.Recall;
using Aetherra.Infrastructure.AuditLog;
using Npgsql;

namespace Aetherra.Integration.Tests;

/// <summary>
/// POST /admin/projections/{name}/rebuild with asOfSequence, asOfTime or targetSchema builds the read model as
/// of that point into a schema of its own, from a copy of the log, and leaves the live read model alone.
/// </summary>
public sealed class AnalysisRebuildTests(AetherraFixture fx)
{
    [Fact]
    public async Task recall_entry_rebuilt_as_of_a_sequence_holds_what_was_known_then_and_the_live_one_is_untouched()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var (tomatoes, recorded) = await client.RecordAsync(Api.Memory("Ines grows tomatoes on her balcony", subject: "ines"));
        await client.ReviseAsync(tomatoes, "Ines grows peppers on her balcony").SequenceOf();
        var (later, last) = await client.RecordAsync(Api.Memory("Ines bought a greenhouse", subject: "ines"));
        // The rebuild may not look past the daemon's high-water mark; a recall at the last write waits for it.
        await client.RecallAsync(new { query = "greenhouse", minSequence = last });
        var liveBefore = await RowsAsync(RecallSchema.Entries, tenant.Tenant);

        var schema = NewSchemaName();
        var result = await RebuildAsync(RecallProjection.Name, new { asOfSequence = recorded, targetSchema = schema });

        Assert.Equal(recorded, result.GetProperty("asOfSequence").GetInt64());
        var rows = await RowsAsync($"{schema}.recall_entries", tenant.Tenant);
        var row = Assert.Single(rows);
        Assert.Equal((tomatoes, 1, "Ines grows tomatoes on her balcony", true), row);
        Assert.DoesNotContain(rows, r => r.Id == later);
        Assert.Equal(liveBefore, await RowsAsync(RecallSchema.Entries, tenant.Tenant));
        Assert.Equal(3, liveBefore.Count);
    }

    [Fact]
    public async Task recall_entry_rebuilt_as_of_an_instant_holds_the_version_current_then()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var (id, _) = await client.RecordAsync(Api.Memory("Oren plays the cello", subject: "oren"));
        var last = await client.ReviseAsync(id, "Oren plays the double bass").SequenceOf();
        await client.RecallAsync(new { query = "bass", minSequence = last });
        var revisedAt = (await client.HistoryInstantsAsync(id))[1];

        var schema = NewSchemaName();
        await RebuildAsync(RecallProjection.Name, new { asOfTime = revisedAt.AddTicks(-10), targetSchema = schema });

        Assert.Equal((id, 1, "Oren plays the cello", true), Assert.Single(await RowsAsync($"{schema}.recall_entries", tenant.Tenant)));
    }

    /// <summary>
    /// The audit log rebuilt as of a sequence has exactly the tree of the events up to it: its root is the RFC 9162
    /// root computed here from the stored events. A second rebuild into the same analysis schema replaces it.
    /// </summary>
    [Fact]
    public async Task the_audit_log_rebuilt_as_of_a_sequence_has_the_root_of_the_events_up_to_it_and_can_be_rebuilt_again()
    {
        var client = fx.Client((await fx.NewTenantAsync()).Key);
        var (_, first) = await client.RecordAsync(Api.Memory("Pia swims in the lake"));
        var (_, second) = await client.RecordAsync(Api.Memory("Pia swims in the sea"));
        await client.RecallAsync(new { query = "swims", minSequence = second });
        var schema = NewSchemaName();

        foreach (var asOf in new[] { first, second })
        {
            await RebuildAsync(AuditLogProjection.Name, new { asOfSequence = asOf, targetSchema = schema });

            await using var db = fx.OpenDatabase();
            var leaves = new List<byte[]>();
            await foreach (var (_, hash) in StoredEvents.ReadLeafHashesAsync(db, 0, asOf, default)) leaves.Add(hash);
            var cover = Merkle.Cover(0, leaves.Count);
            var nodes = await AuditLogStore.ReadNodesAsync(db, cover, default, schema);
            Assert.Equal(Root(leaves, 0, leaves.Count), Merkle.RangeHash(0, leaves.Count, n => nodes[n]));
            await using var count = new NpgsqlCommand($"select count(*), max(sequence) from {schema}.audit_leaves", db);
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.Equal((long)leaves.Count, reader.GetInt64(0));
            Assert.Equal(asOf, reader.GetInt64(1));
        }
    }

    [Fact]
    public async Task forgetting_a_subject_erases_its_plaintext_from_analysis_copies_too()
    {
        var tenant = await fx.NewTenantAsync();
        var client = fx.Client(tenant.Key);
        var marker = "analysis-secret-" + Guid.NewGuid().ToString("N");
        var subject = "rae-" + Guid.NewGuid().ToString("N")[..8];
        var (_, recorded) = await client.RecordAsync(Api.Memory($"Rae's code word is {marker}", subject: subject));
        await client.RecallAsync(new { query = "code word", minSequence = recorded });
        var schema = NewSchemaName();
        await RebuildAsync(RecallProjection.Name, new { targetSchema = schema });
        Assert.Equal(1, (await fx.FindInEveryTableAsync(marker))[$"{schema}.recall_entries"]);

        var forgotten = await client.DeleteAsync($"/subjects/{subject}").SequenceOf();
        // The analysis copy is erased with the key; the live read model once its projection has the forgetting.
        await client.RecallAsync(new { query = "code word", minSequence = forgotten });

        var after = await fx.FindInEveryTableAsync(marker);
        Assert.All(after, t => Assert.True(t.Value == 0, $"{t.Key} holds the plaintext after forgetting"));
        await using var db = fx.OpenDatabase();
        await using var rows = new NpgsqlCommand($"select count(*) from {schema}.recall_entries where tenant_id = $1 and subject = $2", db);
        rows.Parameters.Add(new() { Value = tenant.Tenant });
        rows.Parameters.Add(new() { Value = subject });
        Assert.Equal(1L, await rows.ExecuteScalarAsync());
    }

    [Fact]
    public async Task an_as_of_rebuild_refuses_bad_targets_and_a_point_past_the_high_water_mark()
    {
        var admin = fx.Client(fx.AdminKey);
        await using (var db = fx.OpenDatabase())
        await using (var cmd = new NpgsqlCommand("create schema if not exists someone_elses", db))
            await cmd.ExecuteNonQueryAsync();
        var url = $"/admin/projections/{RecallProjection.Name}/rebuild";

        await (await admin.PostAsJsonAsync(url, new { targetSchema = "Bad-Name" })).AssertProblem(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync(url, new { targetSchema = "aetherra" })).AssertProblem(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync(url, new { targetSchema = "pg_catalog" })).AssertProblem(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync(url, new { asOfSequence = 1, asOfTime = DateTimeOffset.UtcNow })).AssertProblem(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync(url, new { asOfSequence = 0 })).AssertProblem(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync(url, new { targetSchema = "someone_elses" })).AssertProblem(HttpStatusCode.UnprocessableEntity);
        await (await admin.PostAsJsonAsync(url, new { asOfSequence = long.MaxValue / 2 })).AssertProblem(HttpStatusCode.UnprocessableEntity);
        await (await admin.PostAsJsonAsync("/admin/projections/Memory/rebuild", new { asOfSequence = 1 })).AssertProblem(HttpStatusCode.UnprocessableEntity);
    }

    private static string NewSchemaName() => $"analysis_{Guid.NewGuid():N}"[..30];

    private Task<JsonElement> RebuildAsync(string projection, object body) => fx.Client(fx.AdminKey).RebuildAsync(projection, body);

    private async Task<List<(Guid Id, int Version, string? Content, bool Current)>> RowsAsync(string table, string tenant)
    {
        await using var db = fx.OpenDatabase();
        await using var cmd = new NpgsqlCommand(
            $"select memory_id, version, content, valid_to is null from {table} where tenant_id = $1 order by memory_id, version", db);
        cmd.Parameters.Add(new() { Value = tenant });
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<(Guid, int, string?, bool)>();
        while (await reader.ReadAsync())
            rows.Add((reader.GetGuid(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3)));
        return rows;
    }

    /// <summary>RFC 9162 MTH over the leaf hashes, computed directly.</summary>
    private static byte[] Root(List<byte[]> leaves, int start, int end)
    {
        if (end - start == 1) return leaves[start];
        var k = (int)Merkle.SplitPoint(end - start);
        return Merkle.NodeHash(Root(leaves, start, start + k), Root(leaves, start + k, end));
    }
}
